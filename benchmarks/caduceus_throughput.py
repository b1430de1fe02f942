"""Throughput and peak memory of the native Caduceus encoder against the eager official-style baseline.

    python benchmarks/caduceus_throughput.py            # 131k checkpoints' shape, 10,240 and 131,072 bases
    python benchmarks/caduceus_throughput.py --quick    # 64-d, 2 layers, 2,048 bases: a smoke run

Shape of ``kuleshov-group/caduceus-{ps,ph}_seqlen-131k_d_model-256_n_layer-16`` (d_model 256, 16 layers,
d_state 16) with seeded random weights (``write_demo_model``), CPU, float32, one sequence of random ACGT
per forward (no ``[SEP]``, so tokens = bases). Implementations:

* ``baseline``: ``caduceus_baseline.py``, the official forward transcribed in eager PyTorch with
  mamba_ssm's sequential ``selective_scan_ref`` (materialises two (1, 512, L, 16) float32 tensors per
  scan call: 8.6 GB at 131,072 bases, so it is only run at lengths up to ``--baseline-max``; beyond that
  its memory is given by that formula and its time extrapolated linearly from the longest measured run).
* ``native``: ``load_caduceus(scan="numba")``, the package's encoder.

Each (variant, length, implementation) runs in its own subprocess, so its memory is its own: "peak RSS"
is the process's VmHWM (weights, torch and numba runtime included), "peak extra" how far it rose above
the RSS after loading (the mark is reset through /proc/self/clear_refs; Linux only). Time is one forward
after a short warm-up (numba compiles on first use; its cache makes later runs start at once). The
native and baseline last hidden states of each length are compared (max abs difference).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from neuro_omics_assets.models.caduceus import load_caduceus, write_demo_model

FULL = {"d_model": 256, "n_layer": 16, "d_state": 16, "lengths": [10_240, 131_072]}
QUICK = {"d_model": 64, "n_layer": 2, "d_state": 16, "lengths": [2_048]}
WARMUP_BASES = 256
# (B, E, L, N) float32 tensors the baseline's selective_scan_ref holds per call: exp(delta A), delta B u.
BASELINE_SCAN_TENSORS = 2


def _rss_mib(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak since the last reset) of this process, from /proc (Linux)."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", status).group(1)) / 1024


def _ids(length: int, seed: int) -> torch.Tensor:
    """int64 (1, length): random A/C/G/T ids (7..10), no [SEP]."""
    return torch.from_numpy(np.random.default_rng(seed).integers(7, 11, size=(1, length)))


def worker(spec: dict) -> dict:
    """One configuration: load, warm up, reset the peak mark, time one forward, save the hidden state."""
    from caduceus_baseline import baseline_hidden_states  # benchmarks/ is on sys.path when run as a script

    encoder = load_caduceus(spec["model_dir"], device="cpu", dtype="float32", scan="numba")
    if spec["impl"] == "native":
        forward = encoder.hidden_states
    else:

        def forward(ids: torch.Tensor) -> torch.Tensor:
            with torch.inference_mode():
                return baseline_hidden_states(encoder.model, ids)

    ids = _ids(spec["length"], seed=spec["length"])
    forward(_ids(WARMUP_BASES, seed=0))
    rss_loaded = _rss_mib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    start = time.perf_counter()
    hidden = forward(ids)
    seconds = time.perf_counter() - start
    peak = _rss_mib("VmHWM")
    np.save(spec["out"], hidden[0].numpy())
    return {
        "seconds": seconds,
        "rss_loaded_mib": rss_loaded,
        "peak_rss_mib": peak,
        "threads": torch.get_num_threads(),
    }


def _run(spec: dict) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, "--worker", json.dumps(spec)], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"worker {spec} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def _baseline_estimate(measured: dict, length: int, shape: dict) -> dict:
    e = 2 * shape["d_model"]
    scan_bytes = BASELINE_SCAN_TENSORS * e * length * shape["d_state"] * 4
    return {
        "seconds": measured["seconds"] * length / measured["length"],
        "rss_loaded_mib": measured["rss_loaded_mib"],
        "peak_rss_mib": measured["rss_loaded_mib"] + scan_bytes / 2**20,
        "estimated": True,
    }


def _rows(variant: str, length: int, results: dict, diff: str) -> list[str]:
    """Markdown rows of one (variant, length): baseline then native."""
    baseline = results["baseline"]
    return [
        f"| {variant.upper()} | {length:,} | {impl}{' (estimated)' if res.get('estimated') else ''} | "
        f"{res['seconds']:.1f} | {length / res['seconds']:,.0f} | {res['peak_rss_mib']:,.0f} | "
        f"{res['peak_rss_mib'] - res['rss_loaded_mib']:,.0f} | "
        f"{baseline['seconds'] / res['seconds']:.1f}x | {diff if impl == 'native' else '-'} |"
        for impl, res in (("baseline", baseline), ("native", results["native"]))
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small model, one short length")
    parser.add_argument("--variants", nargs="+", default=["ps", "ph"], choices=["ps", "ph"])
    parser.add_argument(
        "--lengths", nargs="+", type=int, help="bases per forward (default: 10,240 and 131,072)"
    )
    parser.add_argument(
        "--baseline-max", type=int, default=10_240, help="longest length the baseline runs at"
    )
    parser.add_argument("--layers", type=int, help="override n_layer (time scales linearly with it)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return 0
    shape = dict(QUICK if args.quick else FULL)
    shape["n_layer"] = args.layers or shape["n_layer"]
    print(
        f"shape: d_model {shape['d_model']}, {shape['n_layer']} layers, d_state {shape['d_state']}; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads\n"
        "| variant | bases | implementation | seconds | bases/s | peak RSS MiB | peak extra MiB | vs baseline | max abs diff |\n"
        "|---|---|---|---|---|---|---|---|---|",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        for variant in args.variants:
            model_dir = write_demo_model(
                Path(tmp) / variant, rcps=variant == "ps", d_model=shape["d_model"], n_layer=shape["n_layer"],
                d_state=shape["d_state"],
            )  # fmt: skip
            measured_baseline = None
            for length in sorted(args.lengths or shape["lengths"]):
                results, paths = {}, {}
                for impl in ("baseline", "native"):
                    paths[impl] = Path(tmp) / f"{variant}-{length}-{impl}.npy"
                    if impl == "baseline" and length > args.baseline_max:
                        results[impl] = _baseline_estimate(measured_baseline, length, shape)
                        continue
                    spec = {
                        "model_dir": str(model_dir),
                        "impl": impl,
                        "length": length,
                        "out": str(paths[impl]),
                    }
                    results[impl] = _run(spec) | {"length": length}
                    print(f"{variant} {length} {impl}: {results[impl]}", file=sys.stderr, flush=True)
                    if impl == "baseline":
                        measured_baseline = results[impl]
                diff = "-"
                if not results["baseline"].get("estimated"):
                    diff = f"{np.abs(np.load(paths['native']) - np.load(paths['baseline'])).max():.1e}"
                print("\n".join(_rows(variant, length, results, diff)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
