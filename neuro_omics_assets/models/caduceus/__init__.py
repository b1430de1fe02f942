"""Native Caduceus (kuleshov-group/caduceus-ps/ph_*) in plain PyTorch: no mamba_ssm, no transformers, no remote code.

Usage::

    enc = load_caduceus(model_dir, device="cpu", dtype="float32", scan="numba")
    batch = enc.tokenize(["ACGT..."])
    hidden = enc.hidden_states(batch["input_ids"], batch["attention_mask"])  # (B, S, 2 d_model) for PS
    vectors = enc.rc_invariant_tokens(hidden)                                # (B, S, d_model), PS only
"""

from neuro_omics_assets.models import TokenizedSequence
from neuro_omics_assets.models.caduceus.config import CaduceusConfig
from neuro_omics_assets.models.caduceus.demo import write_demo_model
from neuro_omics_assets.models.caduceus.encoder import CaduceusEncoder, describe_caduceus, load_caduceus
from neuro_omics_assets.models.caduceus.model import fold_rc_halves
from neuro_omics_assets.models.caduceus.scan import SCAN_KERNELS
from neuro_omics_assets.models.caduceus.tokenizer import CaduceusTokenizer

__all__ = [
    "SCAN_KERNELS",
    "CaduceusConfig",
    "CaduceusEncoder",
    "CaduceusTokenizer",
    "TokenizedSequence",
    "describe_caduceus",
    "fold_rc_halves",
    "load_caduceus",
    "write_demo_model",
]
