"""Throughput of the native DNABERT-2 encoder against the eager (official-style) baseline.

    python benchmarks/encoder_throughput.py            # 117M-shaped random model, 512 and 2048 tokens
    python benchmarks/encoder_throughput.py --quick    # small model and windows: a smoke run
    python benchmarks/encoder_throughput.py --device cuda --model-dir /path/to/DNABERT-2-117M

Each configuration runs in its own subprocess, so its memory is its own. CPU: "RSS after load" is
the resident size once weights and inputs are in memory; "peak extra" is how far the peak RSS rose
above it during the warm-up and timed forwards (the peak mark is reset after loading through
/proc/self/clear_refs, so the transient fp32 copy made while loading a bf16 model does not count;
Linux only). CUDA: "peak extra" is ``torch.cuda.max_memory_allocated`` during the timed forwards,
weights included. Time is the best of ``--repeats`` forwards after one warm-up (the best is the least
disturbed by other processes on a shared machine); the three implementations of a window are loaded
side by side and timed round-robin, one forward each in turn, so background load hits them alike.
Windows are full (no padding); each batch holds ``2048 // window`` windows (one of 2048 tokens, or
four of 512), so every configuration processes the same number of tokens per forward.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from neuro_omics_assets.models.dnabert2 import DnaBert2Tokenizer, load_dnabert2, write_demo_model

FULL_SHAPE = {"hidden_size": 768, "num_layers": 12, "num_heads": 12, "intermediate_size": 3072}  # 117M
QUICK_SHAPE = {"hidden_size": 256, "num_layers": 4, "num_heads": 4, "intermediate_size": 1024}
IMPLEMENTATIONS = [("eager-baseline", "float32"), ("native-sdpa", "float32"), ("native-sdpa", "bfloat16")]
TOKENS_PER_BATCH = 2048


def _windows(model_dir: Path, window: int, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch`` full windows of random DNA, exactly ``window`` tokens each incl. [CLS]/[SEP]."""
    tokenizer = DnaBert2Tokenizer(model_dir / "tokenizer.json", expected_sha256=None)
    rng = random.Random(window)
    rows = []
    for _ in range(batch):
        (tokens,) = tokenizer.encode(["".join(rng.choice("ACGT") for _ in range(8 * window))])
        rows.append(np.concatenate([tokens.ids[: window - 1], [tokenizer.sep_id]]))
    input_ids = torch.from_numpy(np.stack(rows))
    return input_ids, torch.ones_like(input_ids)


def _rss_mib(field: str) -> float:
    """``VmRSS`` (now) or ``VmHWM`` (peak since the last reset) of this process, from /proc (Linux)."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", status).group(1)) / 1024


def _reset_peak_rss() -> None:
    """Lower the peak-RSS mark to the current RSS (Linux ``clear_refs`` 5), so loading does not count."""
    Path("/proc/self/clear_refs").write_text("5")


def _forward_function(job: dict, input_ids: torch.Tensor, mask: torch.Tensor) -> Callable[[], torch.Tensor]:
    model_dir = Path(job["model_dir"])
    if job["implementation"] == "eager-baseline":
        from eager_baseline import EagerDnabert2  # benchmarks/ is the script's directory

        baseline = EagerDnabert2(model_dir)
        return lambda: baseline(input_ids, mask)
    encoder = load_dnabert2(model_dir, device=job["device"], dtype=job["dtype"], attention="sdpa")
    return lambda: encoder.hidden_states(input_ids, mask)


def serve(job: dict) -> None:
    """Worker process: load and warm up, then time one forward per "forward" line on stdin.

    Prints the RSS after loading, then one duration per forward, then on "finish" a JSON line with
    the peak memory; saves the mean-pooled vectors of the last forward to ``job["pooled_path"]``.
    """
    device = torch.device(job["device"])
    input_ids, mask = (t.to(device) for t in _windows(Path(job["model_dir"]), job["window"], job["batch"]))
    forward = _forward_function(job, input_ids, mask)
    rss_after_load = _rss_mib("VmRSS")
    _reset_peak_rss()
    hidden = forward()  # warm-up: allocator, oneDNN kernels, the baseline's ALiBi cache
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    print(rss_after_load, flush=True)
    for command in sys.stdin:
        if command.strip() != "forward":
            break
        start = time.perf_counter()
        hidden = forward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        print(time.perf_counter() - start, flush=True)
    cuda = device.type == "cuda"
    peak = torch.cuda.max_memory_allocated() / 2**20 if cuda else _rss_mib("VmHWM") - rss_after_load
    weights = mask[..., None].to(hidden.device, torch.float32)
    pooled = (hidden.float() * weights).sum(1) / weights.sum(1)  # (B, H) mean over real tokens
    np.save(job["pooled_path"], pooled.cpu().numpy())
    print(json.dumps({"peak_mib": peak, "rss_after_load_mib": rss_after_load}), flush=True)


class _Worker:
    """One configuration in its own process, driven line by line so configurations can interleave."""

    def __init__(self, job: dict) -> None:
        self.job = job
        command = [sys.executable, __file__, "--worker", json.dumps(job)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.times: list[float] = []
        self._read()  # loaded and warmed up

    def _read(self) -> str:
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(
                f"benchmark worker {self.job['implementation']} {self.job['dtype']} exited early"
            )
        return line.strip()

    def forward(self) -> None:
        self.process.stdin.write("forward\n")
        self.process.stdin.flush()
        self.times.append(float(self._read()))

    def finish(self) -> dict:
        self.process.stdin.write("finish\n")
        self.process.stdin.flush()
        result = self.job | json.loads(self._read())
        self.process.wait()
        result["seconds"] = min(self.times)
        result["tokens_per_s"] = self.job["batch"] * self.job["window"] / result["seconds"]
        result["pooled"] = np.load(self.job["pooled_path"])
        return result


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Minimum over rows of the cosine between mean-pooled vectors (B, H)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    return float(((a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)).min())


def _run_window(window: int, device: str, repeats: int, model_dir: Path, scratch: Path) -> list[dict]:
    """The three implementations at one window size, timed round-robin; speed-up and cosine filled in."""
    workers = []
    for implementation, dtype in IMPLEMENTATIONS:
        job = {
            "implementation": implementation,
            "dtype": dtype,
            "device": "cpu" if implementation == "eager-baseline" else device,
            "window": window,
            "batch": max(1, TOKENS_PER_BATCH // window),
            "model_dir": str(model_dir),
            "pooled_path": str(scratch / f"{implementation}-{dtype}-{window}.npy"),
        }
        print(
            f"# loading {implementation} {dtype} on {job['device']}, window {window}",
            file=sys.stderr,
            flush=True,
        )
        workers.append(_Worker(job))
    for _ in range(repeats):  # round-robin: load from other processes on the machine hits all alike
        for worker in workers:
            worker.forward()
    baseline, native_fp32, native_bf16 = results = [worker.finish() for worker in workers]
    for result in results:
        result["speedup"] = baseline["seconds"] / result["seconds"]
    baseline["cosine"] = "-"
    native_fp32["cosine"] = f"{_cosine(native_fp32['pooled'], baseline['pooled']):.6f} (vs eager)"
    native_bf16["cosine"] = f"{_cosine(native_bf16['pooled'], native_fp32['pooled']):.6f} (vs native fp32)"
    return results


def _table(results: list[dict]) -> str:
    header = [
        "implementation",
        "device",
        "dtype",
        "window",
        "batch",
        "tokens/s",
        "RSS after load MiB",
        "peak extra MiB",
        "vs eager fp32",
        "pooled cosine",
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for r in results:
        cells = [
            r["implementation"],
            r["device"],
            r["dtype"],
            r["window"],
            r["batch"],
            f"{r['tokens_per_s']:.0f}",
            f"{r['rss_after_load_mib']:.0f}",
            f"{r['peak_mib']:.0f}",
            f"{r['speedup']:.2f}x",
            r["cosine"],
        ]
        lines.append("| " + " | ".join(str(c) for c in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small model, windows 128 and 512, 1 repeat")
    parser.add_argument(
        "--device", default="cpu", help="cpu or cuda[:N] for the native encoder (baseline: CPU)"
    )
    parser.add_argument("--model-dir", type=Path, help="official-format model; default: random 117M-shaped")
    parser.add_argument("--repeats", type=int, help="timed forwards per configuration (default 5, quick 1)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        serve(json.loads(args.worker))
        return
    repeats = args.repeats or (1 if args.quick else 5)
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        shape = QUICK_SHAPE if args.quick else FULL_SHAPE
        model_dir = args.model_dir or write_demo_model(scratch / "model", **shape)
        print(
            f"# torch {torch.__version__}, {torch.get_num_threads()} threads, model {model_dir}",
            file=sys.stderr,
        )
        results = []
        for window in (128, 512) if args.quick else (512, 2048):
            results += _run_window(window, args.device, repeats, model_dir, scratch)
    print(_table(results))


if __name__ == "__main__":
    main()
