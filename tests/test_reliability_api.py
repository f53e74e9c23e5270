"""Bad input to the public API gives a clear error, never a silent wrong answer (config, sampling, data, tokens)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import minigpt_lib as mg
from minigpt_lib import GPT, GPTConfig
from minigpt_lib.pretrained import CheckpointError, load_gpt2, save_gpt2
from minigpt_lib.sampling import generate, sample_next, top_k_filter, top_p_filter

SMALL = dict(vocab_size=50, block_size=8, n_layer=1, n_head=2, n_embd=16)


# ------------------------------------------------------------------------------------------ config


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("layer_norm_eps", float("nan"), "layer_norm_eps must be a positive finite number"),
        ("layer_norm_eps", float("inf"), "layer_norm_eps must be a positive finite number"),
        ("layer_norm_eps", "1e-5", "layer_norm_eps must be a positive finite number"),
        ("bias", "no", "bias must be True or False"),
        ("tie_weights", None, "tie_weights must be True or False"),
        ("dropout", "0.1", "dropout must be a number in"),
    ],
)
def test_config_refuses_values_that_would_give_a_wrong_model(field, value, message):
    with pytest.raises(ValueError, match=message):
        GPTConfig(**SMALL, **{field: value})


# ------------------------------------------------------------------------------------------ Hugging Face config


@pytest.fixture
def untied_export(tmp_path):
    model = GPT(GPTConfig(**SMALL, tie_weights=False)).eval()
    return model, save_gpt2(model, tmp_path / "untied")


@pytest.mark.parametrize("value", ["false", "true", 0, None])
def test_tie_word_embeddings_must_be_a_json_boolean(untied_export, value):
    _, path = untied_export
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "tie_word_embeddings": value}))
    with pytest.raises(CheckpointError, match="tie_word_embeddings must be true or false"):
        load_gpt2(path)


def test_a_string_layer_norm_epsilon_is_a_checkpoint_error(untied_export):
    _, path = untied_export
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "layer_norm_epsilon": "1e-5"}))
    with pytest.raises(CheckpointError, match="config.json: layer_norm_eps"):
        load_gpt2(path)


@pytest.mark.parametrize("dtype", [torch.int8, torch.int32, torch.bool, torch.float64])
def test_save_gpt2_refuses_dtypes_that_change_the_weights(dtype, tmp_path):
    with pytest.raises(ValueError, match="dtype must be one of"):
        save_gpt2(GPT(GPTConfig(**SMALL)), tmp_path / "x", dtype=dtype)
    assert not (tmp_path / "x" / "model.safetensors").exists()


# ------------------------------------------------------------------------------------------ sampling


def test_greedy_refuses_nan_logits():
    with pytest.raises(ValueError, match="NaN"):
        sample_next(torch.tensor([[1.0, float("nan"), 2.0]]), temperature=0)


@pytest.mark.parametrize("fn", [lambda x: top_k_filter(x, 2), lambda x: top_p_filter(x, 0.9), sample_next])
def test_filters_and_sampling_refuse_nan_logits(fn):
    with pytest.raises(ValueError, match="NaN"):
        fn(torch.tensor([[1.0, float("nan"), 2.0, 3.0]]))


@pytest.mark.parametrize(
    "logits, message",
    [
        ([[1.0, float("inf"), 2.0]], r"\+inf"),
        ([[float("-inf"), float("-inf")]], "all -inf"),
        (torch.zeros(1, 0), "no entries"),
    ],
)
def test_sampling_names_logits_it_cannot_use(logits, message):
    with pytest.raises(ValueError, match=message):
        sample_next(torch.as_tensor(logits))


def test_one_minus_inf_is_fine():
    assert sample_next(torch.tensor([[0.0, float("-inf"), 5.0]]), temperature=0).item() == 2


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(temperature=float("nan")), ValueError, "temperature must be a number"),
        (dict(temperature="1"), TypeError, "temperature must be a number"),
        (dict(top_k=2.5), TypeError, "top_k must be an integer"),
        (dict(max_new_tokens=2.5), TypeError, "max_new_tokens must be an integer"),
        (dict(max_new_tokens=10**9), ValueError, "would run for hours"),
        (dict(block_size=0), ValueError, "block_size must be >= 1"),
    ],
)
def test_generate_names_its_bad_arguments(kwargs, error, message):
    model = GPT(GPTConfig(**SMALL))
    args = dict(max_new_tokens=3) | kwargs
    with pytest.raises(error, match=message):
        generate(model, torch.zeros(1, 2, dtype=torch.long), **args)


# ------------------------------------------------------------------------------------------ data


@pytest.mark.parametrize(
    "tokens, message",
    [
        (torch.arange(20).view(4, 5), "1-D"),
        (torch.arange(20).float(), "integer"),
        (torch.tensor([1.7, 2.2, 3.9, 0.5, 1.0, 2.0]), "integer"),
    ],
)
def test_get_batch_and_windows_refuse_2d_and_float_tokens(tokens, message):
    with pytest.raises((ValueError, TypeError), match=message):
        mg.get_batch(tokens, 2, 2)
    with pytest.raises((ValueError, TypeError), match=message):
        mg.SlidingWindowDataset(tokens, 2)


def test_get_batch_accepts_lists_and_numpy():
    for tokens in (list(range(20)), np.arange(20)):
        x, y = mg.get_batch(tokens, 3, 4, generator=torch.Generator().manual_seed(0))
        assert x.shape == (3, 4) and x.dtype == torch.long and torch.equal(y, x + 1)


@pytest.mark.parametrize(
    "kwargs, message", [(dict(batch_size=-1), "batch_size"), (dict(seq_len=2.5), "seq_len"), (dict(batch_size=1.5), "batch_size")]
)
def test_get_batch_names_bad_sizes(kwargs, message):
    args = dict(batch_size=2, seq_len=4) | kwargs
    with pytest.raises((ValueError, TypeError), match=message):
        mg.get_batch(torch.arange(20), **args)


def test_compact_vocab_refuses_float_ids_and_keeps_long_for_empty_input():
    vocab = mg.CompactVocab([5, 3, 6, 9])
    with pytest.raises(TypeError, match="integer"):
        vocab.compact([5.9])
    assert vocab.compact([]).dtype == torch.long
    assert vocab.compact(torch.zeros(2, 0, dtype=torch.long)).shape == (2, 0)
    with pytest.raises(TypeError, match="integer"):
        mg.CompactVocab([1.5, 2.0])


# ------------------------------------------------------------------------------------------ tokenizers


def test_char_tokenizer_refuses_bytes_and_float_ids():
    with pytest.raises(TypeError, match="str"):
        mg.CharTokenizer(b"abc")
    tok = mg.CharTokenizer.from_text("abcd")
    with pytest.raises(TypeError, match="integer"):
        tok.decode([1.7])
    with pytest.raises(TypeError, match="str"):
        tok.encode(b"ab")
    with pytest.raises(ValueError, match="1-D"):
        tok.decode(torch.tensor([[0, 1]]))
    assert tok.decode(torch.tensor([0, 1])) == "ab"


# ------------------------------------------------------------------------------------------ models


@pytest.mark.parametrize("idx", [[[1, 2]], np.array([[1, 2]])])
def test_models_name_non_tensor_ids(idx):
    with pytest.raises(TypeError, match="a torch tensor"):
        GPT(GPTConfig(**SMALL))(idx)


def test_a_loss_over_no_targets_is_an_error():
    model = GPT(GPTConfig(**SMALL))
    with pytest.raises(ValueError, match="every target is -1"):
        model(torch.zeros(1, 3, dtype=torch.long), torch.full((1, 3), -1))


@pytest.mark.parametrize("bias, tie", [(True, True), (True, False), (False, True), (False, False)])
def test_parameter_count_matches_the_model(bias, tie):
    config = GPTConfig(vocab_size=50, block_size=8, n_layer=2, n_head=2, n_embd=16, bias=bias, tie_weights=tie)
    assert config.parameter_count() == GPT(config).num_parameters()


def test_a_model_larger_than_memory_is_refused_at_once():
    config = GPTConfig(vocab_size=50, block_size=8, n_layer=10**6, n_head=2, n_embd=64)
    with pytest.raises(MemoryError, match="more than this machine's"):
        GPT(config)


def test_gpt2_tokenizer_names_bad_input_and_decodes_tensors():
    tok = mg.gpt2_tokenizer()
    ids = tok.encode("Hello world")
    assert tok.decode(torch.tensor(ids)) == "Hello world" == tok.decode(np.array(ids))
    with pytest.raises(TypeError, match="encode needs a str"):
        tok.encode(b"Hello")
    with pytest.raises(ValueError, match="outside 0..50256"):
        tok.decode([-1])
    with pytest.raises(ValueError, match="1-D"):
        tok.decode(torch.tensor([ids]))
