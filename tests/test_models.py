import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from minigpt_lib import (
    GPT,
    Block,
    CausalSelfAttention,
    GPTConfig,
    Model1,
    Model2,
    Model3,
    Model4,
    causal_attention,
)

SMALL = GPTConfig(vocab_size=97, block_size=16, n_layer=2, n_head=4, n_embd=32)


def test_gpt2_small_parameter_count():
    with torch.device("meta"):
        model = GPT(GPTConfig.preset("gpt2"))
    assert model.num_parameters() == 124_439_808  # the tied head counted once


@pytest.mark.parametrize("T", [1, 2, 7, 16])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_manual_attention_equals_sdpa(T, dtype):
    q, k, v = (torch.randn(2, 3, T, 8, dtype=dtype) for _ in range(3))
    out, weights = causal_attention(q, k, v)
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    torch.testing.assert_close(out, ref)
    torch.testing.assert_close(weights.sum(-1), torch.ones(2, 3, T, dtype=dtype))
    assert (weights.triu(diagonal=1) == 0).all()


def test_attention_module_paths_agree():
    attn = CausalSelfAttention(SMALL).eval()
    x = torch.randn(3, 10, 32)
    y_sdpa = attn(x)
    attn.use_sdpa = False
    torch.testing.assert_close(attn(x), y_sdpa)
    attn.save_attention_weights = True
    attn(x)
    assert attn.attention_weights.shape == (3, 4, 10, 10)


def test_layernorm_matches_manual():
    block = Block(SMALL)
    x = torch.randn(2, 5, 32)
    manual = (x - x.mean(-1, keepdim=True)) / torch.sqrt(x.var(-1, unbiased=False, keepdim=True) + 1e-5)
    torch.testing.assert_close(block.ln_1(x), manual, atol=1e-5, rtol=1e-5)
    assert isinstance(block.ln_1, nn.LayerNorm)


def hf_model_and_ours(config: GPTConfig):
    transformers = pytest.importorskip("transformers")
    hf_config = transformers.GPT2Config(
        vocab_size=config.vocab_size, n_positions=config.block_size, n_embd=config.n_embd,
        n_layer=config.n_layer, n_head=config.n_head, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
        bos_token_id=0, eos_token_id=0,
    )
    hf = transformers.GPT2LMHeadModel(hf_config).eval()
    ours = GPT(config).eval()
    state = {}
    for name, tensor in hf.state_dict().items():
        if name.endswith((".attn.bias", ".attn.masked_bias")):
            continue
        if name.endswith(("c_attn.weight", "c_proj.weight", "c_fc.weight")):
            tensor = tensor.t()  # HF's Conv1D stores (in, out); nn.Linear stores (out, in)
        state[name] = tensor
    ours.load_state_dict(state)
    return hf, ours


@pytest.mark.parametrize(
    "config",
    [SMALL, GPTConfig(vocab_size=50, block_size=8, n_layer=1, n_head=1, n_embd=8),
     GPTConfig(vocab_size=211, block_size=32, n_layer=3, n_head=6, n_embd=48)],
)
def test_gpt_equals_transformers_gpt2(config):
    torch.manual_seed(1)
    hf, ours = hf_model_and_ours(config)
    idx = torch.randint(0, config.vocab_size, (2, config.block_size))
    with torch.no_grad():
        torch.testing.assert_close(ours(idx), hf(idx).logits, atol=1e-5, rtol=0)
        _, loss = ours(idx, idx)
        torch.testing.assert_close(loss, F.cross_entropy(hf(idx).logits.flatten(0, 1), idx.flatten()))


@pytest.mark.parametrize("T", range(1, SMALL.block_size + 1))
def test_every_length_works(T):
    model = GPT(SMALL).eval()
    idx = torch.randint(0, SMALL.vocab_size, (2, T))
    logits, loss = model(idx, idx)
    assert logits.shape == (2, T, SMALL.vocab_size)
    assert loss.ndim == 0


def test_too_long_or_bad_input_is_a_clear_error():
    model = GPT(SMALL)
    with pytest.raises(ValueError, match="block_size"):
        model(torch.zeros(1, SMALL.block_size + 1, dtype=torch.long))
    with pytest.raises(TypeError, match="integer"):
        model(torch.zeros(1, 4))
    with pytest.raises(ValueError, match=r"\(B, T\)"):
        model(torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="must be in 0"):
        model(torch.full((1, 4), SMALL.vocab_size))


def test_untrained_loss_is_about_ln_vocab():
    config = GPTConfig(vocab_size=50257, block_size=16, n_layer=1, n_head=2, n_embd=32)
    idx, targets = torch.randint(0, 50257, (2, 4, 16))
    _, loss = GPT(config)(idx, targets)  # (with targets = idx the tied head would favour the input token)
    assert abs(loss.item() - math.log(50257)) < 0.1


def test_teaching_models_shapes_and_lengths():
    idx = torch.randint(0, 97, (2, 16))
    for model in (Model1(97, 16), Model2(97, 16, 16), Model2(SMALL), Model3(SMALL), Model4(SMALL)):
        logits, loss = model(idx, idx)
        assert logits.shape == (2, 16, 97) and torch.isfinite(loss)
        assert model(idx[:, :3]).shape == (2, 3, 97)
    assert all(b.attn.n_head == 1 for b in Model4(SMALL).transformer.h)
    with pytest.raises(ValueError, match="block_size"):
        Model2(97, 16, 8)(idx)


def test_one_constructor_convention():
    config = GPTConfig(vocab_size=97, block_size=16, n_layer=1, n_head=1, n_embd=32)
    for cls, short in ((Model1, (97, 32)), (Model2, (97, 32, 16))):
        a, b = cls(config), cls(*short)
        assert {k: v.shape for k, v in a.state_dict().items()} == {k: v.shape for k, v in b.state_dict().items()}
    with pytest.raises(TypeError, match="GPTConfig"):
        Model2(config, 32)
    with pytest.raises(TypeError):
        Model1(97)


def test_model3_is_model2_plus_one_attention_sublayer():
    """Model 3 changes nothing of Model 2 but the attention sublayer: with W_O = 0 they compute the same."""
    config = GPTConfig(vocab_size=97, block_size=16, n_layer=1, n_head=1, n_embd=32)
    torch.manual_seed(0)
    m2 = Model2(config)
    torch.manual_seed(0)
    m3 = Model3(config)
    state2 = m2.state_dict()
    assert set(state2) < set(m3.state_dict())
    for k, v in state2.items():  # same initialisation for the shared parts
        torch.testing.assert_close(m3.state_dict()[k], v)
    with torch.no_grad():
        m3.proj.weight.zero_()
        m3.proj.bias.zero_()
    idx = torch.randint(0, 97, (2, 16))
    torch.testing.assert_close(m3(idx), m2(idx))
    # and attention makes position t depend on earlier tokens, which Model 2 never does
    torch.manual_seed(1)
    m3 = Model3(config)
    changed = idx.clone()
    changed[:, 0] = (changed[:, 0] + 1) % 97
    with torch.no_grad():
        assert not torch.allclose(m3(idx)[:, 5], m3(changed)[:, 5])
        torch.testing.assert_close(m2(idx)[:, 5], m2(changed)[:, 5])


def test_model2_does_not_echo_its_input_at_init():
    """The bare tied head (no MLP) predicts its own input; Model 2's MLP removes that bias."""
    torch.manual_seed(0)
    model = Model2(97, 64, 16)
    idx = torch.randint(0, 97, (8, 16))
    with torch.no_grad():
        echo = (model(idx).argmax(-1) == idx).float().mean().item()
        h = F.gelu(model.layer_norm(model.token_embedding(idx) + model.position_embedding(torch.arange(16))))
        bare_echo = ((h @ model.token_embedding.weight.T).argmax(-1) == idx).float().mean().item()
    assert bare_echo > 0.5 and echo < 0.2


def test_tying_shares_one_matrix():
    model = GPT(SMALL)
    assert model.lm_head.weight is model.transformer.wte.weight
    untied = GPT(SMALL.replace(tie_weights=False))
    assert untied.num_parameters() - model.num_parameters() == SMALL.vocab_size * SMALL.n_embd
