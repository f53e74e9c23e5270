"""minigpt_lib: the shared library of the Vietnamese course "Build GPT from scratch" (04 buildgpt).

Start at the bottom and climb: config, tokenizer, data, device -> layers -> models -> sampling, training,
pretrained, analysis. ``viz`` draws; ``checks`` grades the code challenges. ``lucbat`` checks the form of
Vietnamese lục bát verse (lesson 32); ``lucbat_gpt`` samples and scores the verse of small GPTs (lesson 33).
"""

from .bpe import BPETokenizer, train_bpe
from .config import GPTConfig
from .data import CompactVocab, SlidingWindowDataset, get_batch, load_corpus, make_batch_fn, train_val_split
from .device import pick_device, seed_everything, setup_lesson, time_it
from .fmt import fmt_float, fmt_int, fmt_pct, fmt_sci
from .layers import MLP, AttentionHead, Block, CausalSelfAttention, KVCache, causal_attention, causal_mask
from .models import GPT, Model1, Model2, Model3, Model4
from .sampling import generate, sample_next, top_k_filter, top_p_filter
from .tokenizer import CharTokenizer, gpt2_tokenizer

__version__ = "0.1.0"

_SUBMODULES = {
    "analysis", "checks", "ddp", "ladder", "lessons", "lucbat", "lucbat_gpt", "pretrained", "student", "training", "viz",
}


def __getattr__(name: str):
    """Import the heavier submodules on first use: ``mg.viz``, ``mg.training``, ``mg.checks``, ..."""
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'minigpt_lib' has no attribute {name!r}")

# The repository the lessons install from in Colab. Notebooks and _config.yml must agree (a test checks it).
REPO_URL = "https://github.com/buildgpt-vi/buildgpt"

__all__ = [
    "GPTConfig", "CompactVocab", "SlidingWindowDataset", "get_batch", "load_corpus", "make_batch_fn",
    "train_val_split",
    "pick_device", "seed_everything", "setup_lesson", "time_it", "AttentionHead", "Block",
    "CausalSelfAttention", "KVCache", "MLP", "causal_attention", "causal_mask", "GPT", "Model1", "Model2",
    "Model3", "Model4", "generate", "sample_next", "top_k_filter", "top_p_filter", "CharTokenizer",
    "gpt2_tokenizer", "BPETokenizer", "train_bpe", "REPO_URL", "fmt_int", "fmt_float", "fmt_pct", "fmt_sci",
]
