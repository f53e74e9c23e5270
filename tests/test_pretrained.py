"""GPT-2 weights: Hugging Face format <-> the course's GPT, bad checkpoints, the offline fallback, the bundled model."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from minigpt_lib import GPT, GPTConfig
from minigpt_lib._files import sha256_of
from minigpt_lib.pretrained import (
    BUNDLED_SHA256,
    CheckpointError,
    HubUnavailableError,
    bundled_model_path,
    load_bundled,
    load_gpt2,
    save_gpt2,
)

transformers = pytest.importorskip("transformers")

SMALL = dict(vocab_size=101, n_positions=24, n_embd=32, n_layer=2, n_head=4, bos_token_id=0, eos_token_id=0)


@pytest.fixture(scope="module")
def hf_model():
    torch.manual_seed(0)
    model = transformers.GPT2LMHeadModel(transformers.GPT2Config(**SMALL)).eval()
    with torch.no_grad():  # random biases and LayerNorm parameters too, so that every tensor is tested
        for name, p in model.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                p.normal_(0, 0.1)
    return model


@pytest.fixture(scope="module")
def hf_dir(hf_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("hf")
    hf_model.save_pretrained(path)
    return path


@pytest.fixture
def idx():
    return torch.randint(0, SMALL["vocab_size"], (2, 20), generator=torch.Generator().manual_seed(1))


def hf_logits(model, idx):
    with torch.no_grad():
        return model(idx).logits


def copy_dir(src, dst):
    dst.mkdir()
    for f in src.iterdir():
        (dst / f.name).write_bytes(f.read_bytes())
    return dst


def test_local_safetensors_matches_transformers(hf_model, hf_dir, idx):
    assert (hf_dir / "model.safetensors").exists()
    ours = load_gpt2(hf_dir)
    assert isinstance(ours, GPT) and not ours.training
    assert ours.config.n_layer == 2 and ours.config.block_size == 24 and ours.config.vocab_size == 101
    assert ours.lm_head.weight is ours.transformer.wte.weight  # still tied after loading
    with torch.no_grad():
        torch.testing.assert_close(ours(idx), hf_logits(hf_model, idx), atol=1e-5, rtol=1e-5)


def test_local_bin_without_prefix_and_with_mask_buffers(hf_model, hf_dir, idx, tmp_path):
    path = tmp_path / "bin"
    path.mkdir()
    (path / "config.json").write_text((hf_dir / "config.json").read_text())
    state = {k.removeprefix("transformer."): v.clone() for k, v in hf_model.state_dict().items()}
    state["h.0.attn.bias"] = torch.ones(1, 1, 24, 24)  # old checkpoints carry these buffers
    state["h.0.attn.masked_bias"] = torch.tensor(-1e4)
    torch.save(state, path / "pytorch_model.bin")
    ours = load_gpt2(path)
    with torch.no_grad():
        torch.testing.assert_close(ours(idx), hf_logits(hf_model, idx), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("tie", [True, False])
def test_save_gpt2_round_trip(tmp_path, idx, tie):
    torch.manual_seed(2)
    ours = GPT(
        GPTConfig(vocab_size=101, block_size=24, n_layer=2, n_head=4, n_embd=32, tie_weights=tie)
    ).eval()
    with torch.no_grad():
        for name, p in ours.named_parameters():
            if name.endswith("bias") or ".ln_" in name:
                p.normal_(0, 0.1)
        expected = ours(idx)
    save_gpt2(ours, tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["tie_word_embeddings"] is tie
    hf = transformers.GPT2LMHeadModel.from_pretrained(tmp_path, dtype=torch.float32).eval()
    torch.testing.assert_close(hf_logits(hf, idx), expected, atol=1e-5, rtol=1e-5)
    back = load_gpt2(tmp_path)
    with torch.no_grad():
        torch.testing.assert_close(back(idx), expected, atol=0, rtol=0)


def test_corrupt_file(hf_dir, tmp_path):
    path = copy_dir(hf_dir, tmp_path / "corrupt")
    (path / "model.safetensors").write_bytes(b"this is not a safetensors file" * 10)
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_gpt2(path)


def test_truncated_file(hf_dir, tmp_path):
    path = copy_dir(hf_dir, tmp_path / "truncated")
    data = (path / "model.safetensors").read_bytes()
    (path / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"model\.safetensors.*corrupt or truncated"):
        load_gpt2(path)


def test_corrupt_bin(hf_dir, tmp_path):
    path = copy_dir(hf_dir, tmp_path / "badbin")
    (path / "model.safetensors").unlink()
    (path / "pytorch_model.bin").write_bytes(b"PK not a zip archive, not a pickle")
    with pytest.raises(CheckpointError, match=r"pytorch_model\.bin.*corrupt or truncated"):
        load_gpt2(path)


def test_missing_tensor(hf_dir, tmp_path):
    path = copy_dir(hf_dir, tmp_path / "missing")
    state = load_file(path / "model.safetensors")
    state = {k: v for k, v in state.items() if "h.1.mlp.c_fc.weight" not in k}
    save_file(state, path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(
        CheckpointError, match=r"missing tensor 'h\.1\.mlp\.c_fc\.weight' \(expected shape \(32, 128\)\)"
    ):
        load_gpt2(path)


def test_wrong_shape(hf_dir, tmp_path):
    path = copy_dir(hf_dir, tmp_path / "shape")
    state = load_file(path / "model.safetensors")
    key = next(k for k in state if k.endswith("h.0.attn.c_attn.weight"))
    state[key] = state[key].t().contiguous()  # a Linear-layout weight in a Conv1D file
    save_file(state, path / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(
        CheckpointError, match=r"'h\.0\.attn\.c_attn\.weight' has shape \(96, 32\), expected \(32, 96\)"
    ):
        load_gpt2(path)


def test_config_mismatch_and_unsupported(hf_dir, tmp_path):
    path = copy_dir(hf_dir, tmp_path / "cfg")
    config = json.loads((path / "config.json").read_text())
    (path / "config.json").write_text(json.dumps({**config, "n_layer": 3}))
    with pytest.raises(CheckpointError, match=r"missing tensor 'h\.2\.ln_1\.weight'"):
        load_gpt2(path)
    (path / "config.json").write_text(json.dumps({**config, "activation_function": "relu"}))
    with pytest.raises(CheckpointError, match="unsupported GPT-2 variant.*activation_function"):
        load_gpt2(path)
    (path / "config.json").write_text(json.dumps({**config, "model_type": "llama"}))
    with pytest.raises(CheckpointError, match="only GPT-2"):
        load_gpt2(path)
    (path / "config.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="not valid JSON"):
        load_gpt2(path)
    (path / "config.json").unlink()
    with pytest.raises(CheckpointError, match="no config.json"):
        load_gpt2(path)


def test_not_a_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        load_gpt2(tmp_path / "nowhere")
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileNotFoundError, match="is not a directory"):
        load_gpt2(tmp_path / "file")


@pytest.fixture
def offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("MINIGPT_CACHE", str(tmp_path / "minigpt"))
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hf_home" / "hub"))


def test_hub_offline_falls_back_to_bundled(offline, capsys):
    model = load_gpt2("gpt2", timeout=1.0)
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, lines
    assert "bundled-gpt2-tiny" in lines[0] and "'gpt2'" in lines[0] and "Hugging Face" in lines[0]
    assert model.config.vocab_size == 50257 and model.config.n_embd == 64 and not model.training


def test_hub_offline_strict_raises(offline):
    with pytest.raises(HubUnavailableError, match="Cannot get 'gpt2'.*offline mode is on"):
        load_gpt2("gpt2", strict=True, timeout=1.0)


def test_bundled_model_files():
    path = bundled_model_path()
    weights = path / "model.safetensors"
    assert sha256_of(weights) == BUNDLED_SHA256
    assert sum(f.stat().st_size for f in path.iterdir()) <= 8 * 1024 * 1024
    config = json.loads((path / "config.json").read_text())
    assert config["vocab_size"] == 50257 and config["tie_word_embeddings"] is True


def test_bundled_model_loads_and_matches_transformers():
    model = load_bundled()
    assert model.transformer.wte.weight.dtype == torch.float32
    assert model.lm_head.weight is model.transformer.wte.weight
    from minigpt_lib import gpt2_tokenizer

    idx = torch.tensor([gpt2_tokenizer().encode("ROMEO:\nWhat light through yonder window breaks?")])
    hf = transformers.GPT2LMHeadModel.from_pretrained(bundled_model_path(), dtype=torch.float32).eval()
    with torch.no_grad():
        logits, loss = model(idx[:, :-1], idx[:, 1:])
        torch.testing.assert_close(logits, hf_logits(hf, idx[:, :-1]), atol=1e-4, rtol=1e-4)
    assert loss.item() < 8.0  # far below ln(50257) = 10.8: it has learned English


@pytest.mark.parametrize("name", ["bundled-gpt2-tiny/model.safetensors", "bundled-gpt2-tiny/config.json"])
def test_bundled_model_checks_its_hash(name, monkeypatch):
    import minigpt_lib._files as files

    monkeypatch.setattr(files, "_VERIFIED", {})
    monkeypatch.setitem(files.SHA256, name, "0" * 64)
    with pytest.raises(CheckpointError, match=f"{name}.*corrupt or was changed"):
        load_bundled()


def test_bundled_model_needs_its_queries():
    """Lesson 29 in miniature: queries replaced by noise of the same mean and std raise the held-out loss."""
    from minigpt_lib import gpt2_tokenizer, load_corpus

    ids = gpt2_tokenizer().encode_ordinary(
        load_corpus("tinyshakespeare")[-4000:]
    )  # end of the validation split
    x = torch.tensor(ids[: 4 * 128]).view(4, 128)
    y = torch.tensor(ids[1 : 4 * 128 + 1]).view(4, 128)
    model = load_bundled()
    C = model.config.n_embd
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        base = model(x, y)[1].item()
        for block in model.transformer.h:
            for p in (block.attn.c_attn.weight, block.attn.c_attn.bias):
                q = p[:C]  # (C, C) and (C,): the query rows of the fused Q, K, V projection
                q.copy_(torch.randn(q.shape, generator=gen) * q.std() + q.mean())
        ablated = model(x, y)[1].item()
    assert base < 6.5
    assert ablated > base + 0.5, (base, ablated)
