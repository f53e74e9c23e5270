import pytest

from minigpt_lib import GPTConfig
from minigpt_lib.config import PRESETS


@pytest.mark.parametrize("name", list(PRESETS))
def test_presets_are_valid(name):
    cfg = GPTConfig.preset(name)
    assert cfg.n_embd % cfg.n_head == 0


def test_gpt2_preset():
    cfg = GPTConfig.preset("gpt2")
    assert (cfg.vocab_size, cfg.block_size, cfg.n_layer, cfg.n_head, cfg.n_embd) == (50257, 1024, 12, 12, 768)
    assert GPTConfig.preset("gpt2-xl").n_embd == 1600


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_embd=100, n_head=3), "divisible"),
        (dict(n_layer=0), "n_layer must be a positive integer"),
        (dict(vocab_size=-1), "vocab_size must be a positive integer"),
        (dict(block_size=2.5), "block_size must be a positive integer"),
        (dict(dropout=1.0), "dropout"),
    ],
)
def test_invalid_configs_say_what_to_fix(kwargs, match):
    with pytest.raises(ValueError, match=match):
        GPTConfig(**kwargs)


def test_unknown_preset():
    with pytest.raises(ValueError, match="Choose one of"):
        GPTConfig.preset("gpt5")


def test_replace_validates():
    with pytest.raises(ValueError):
        GPTConfig.preset("gpt2").replace(n_head=7)
