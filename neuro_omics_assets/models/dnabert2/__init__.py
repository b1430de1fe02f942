"""Native DNABERT-2 (zhihan1996/DNABERT-2-117M) in plain PyTorch: no transformers, no remote code.

Usage::

    enc = load_dnabert2(model_dir, device="cpu", dtype=torch.float32)
    batch = enc.tokenize(["ACGT..."])
    hidden = enc.hidden_states(batch["input_ids"], batch["attention_mask"])  # (B, S, H)
"""

from neuro_omics_assets.models import TokenizedSequence
from neuro_omics_assets.models.dnabert2.config import Dnabert2Config
from neuro_omics_assets.models.dnabert2.demo import write_demo_model
from neuro_omics_assets.models.dnabert2.encoder import Dnabert2Encoder, describe_dnabert2, load_dnabert2
from neuro_omics_assets.models.dnabert2.tokenizer import OFFICIAL_TOKENIZER_SHA256, DnaBert2Tokenizer

__all__ = [
    "OFFICIAL_TOKENIZER_SHA256",
    "DnaBert2Tokenizer",
    "Dnabert2Config",
    "Dnabert2Encoder",
    "describe_dnabert2",
    "TokenizedSequence",
    "load_dnabert2",
    "write_demo_model",
]
