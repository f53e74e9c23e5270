"""Looking inside a model: parameter counts per component, and forward hooks for activations and attention maps."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from .config import GPTConfig
from .layers import MLP, AttentionHead, CausalSelfAttention
from .models import GPT

COMPONENTS = (
    "token_embeddings",
    "position_embeddings",
    "attention_weights",
    "attention_biases",
    "mlp_weights",
    "mlp_biases",
    "layernorm",
    "lm_head",
    "other",
)


def entropy(probs: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Entropy in nats, H(p) = -sum_i p_i ln p_i, along ``dim`` (a term with p_i = 0 counts 0).

    ``probs`` holds probabilities: non-negative and summing to 1 along ``dim`` (checked; for logits use
    :func:`entropy_from_logits`). Uniform over V outcomes gives ln V; one-hot gives 0.
    """
    if not isinstance(probs, torch.Tensor) or not probs.is_floating_point():
        raise TypeError(f"entropy needs a floating-point tensor of probabilities, got {type(probs).__name__}")
    if probs.device.type != "meta":
        if (probs < 0).any():
            raise ValueError(
                "entropy: probabilities must be >= 0; for logits use entropy_from_logits(logits)"
            )
        sums = probs.sum(dim, dtype=torch.float64)
        if not torch.allclose(sums, torch.ones_like(sums), atol=1e-3):
            raise ValueError(
                f"entropy: probabilities must sum to 1 along dim={dim} (sums from {sums.min().item():.4g} to "
                f"{sums.max().item():.4g}); apply softmax first, or use entropy_from_logits(logits)"
            )
    return torch.special.entr(probs).sum(dim)


def entropy_from_logits(logits: torch.Tensor, dim: int = -1) -> torch.Tensor:
    """Entropy in nats of ``softmax(logits)`` along ``dim``, from ``log_softmax``: no overflow for huge logits,
    and masked logits (``-inf``) count 0."""
    if not isinstance(logits, torch.Tensor) or not logits.is_floating_point():
        raise TypeError(f"entropy_from_logits needs a floating-point tensor, got {type(logits).__name__}")
    log_p = torch.log_softmax(logits, dim=dim)
    p = log_p.exp()
    return torch.where(p > 0, -p * log_p, torch.zeros_like(p)).sum(dim)


def meta_model(config: GPTConfig | str) -> GPT:
    """A ``GPT`` whose tensors live on the ``meta`` device: shapes only, no memory, instant even for gpt2-xl."""
    if isinstance(config, str):
        config = GPTConfig.preset(config)
    with torch.device("meta"):
        return GPT(config)


def _component(module: nn.Module, name: str, param_name: str, inside: str | None) -> str:
    is_bias = param_name == "bias"
    if inside == "attention":
        return "attention_biases" if is_bias else "attention_weights"
    if inside == "mlp":
        return "mlp_biases" if is_bias else "mlp_weights"
    if isinstance(module, nn.LayerNorm):
        return "layernorm"
    if isinstance(module, nn.Embedding):
        last = name.rsplit(".", 1)[-1]
        return "position_embeddings" if last in ("wpe", "position_embedding") else "token_embeddings"
    if name.rsplit(".", 1)[-1] in ("lm_head", "unembedding"):
        return "lm_head"
    return "other"


def count_parameters(model_or_config: nn.Module | GPTConfig | str) -> dict[str, int]:
    """Parameters per component, and their ``total``.

    Components: token and position embeddings, attention weights and biases (Q, K, V and output projection),
    MLP weights and biases, LayerNorm parameters (γ and β), ``lm_head`` (0 when tied to the token embedding:
    a shared matrix counts once, as the token embedding) and ``other``. A ``GPTConfig`` (or a preset name such
    as ``"gpt2-xl"``) is instantiated on the ``meta`` device, so counting needs no memory.
    """
    model = model_or_config if isinstance(model_or_config, nn.Module) else meta_model(model_or_config)
    counts = dict.fromkeys(COMPONENTS, 0)
    seen: set[int] = set()
    inside: dict[str, str] = {}  # module name prefix -> "attention" / "mlp"
    for name, module in model.named_modules():
        parent = next((v for k, v in inside.items() if name.startswith(k + ".")), None)
        if parent is None and isinstance(module, (CausalSelfAttention, AttentionHead)):
            inside[name] = "attention"
        elif parent is None and isinstance(module, MLP):
            inside[name] = "mlp"
        for param_name, p in module.named_parameters(recurse=False):
            if id(p) in seen:  # a tied matrix is counted once, where it first appears
                continue
            seen.add(id(p))
            counts[_component(module, name, param_name, inside.get(name, parent))] += p.numel()
    counts["total"] = sum(counts[c] for c in COMPONENTS)
    return counts


def parameter_shares(counts: dict[str, int]) -> dict[str, float]:
    """Each component's share of the total, in percent."""
    total = counts["total"]
    return {k: 100.0 * v / total for k, v in counts.items() if k != "total"}


def _detach(x):
    if isinstance(x, torch.Tensor):
        return x.detach()
    if isinstance(x, (tuple, list)):
        return type(x)(_detach(v) for v in x)
    return x


@contextmanager
def capture_activations(
    model: nn.Module, targets: type | tuple[type, ...] | str | Sequence[str]
) -> Iterator[dict[str, torch.Tensor]]:
    """Record the outputs of chosen modules during the forward passes run inside the ``with`` block.

    ``targets`` is a module type (or a tuple of types), e.g. ``nn.LayerNorm`` or ``Block``, or module names
    from ``model.named_modules()``, e.g. ``["transformer.h.0.mlp.gelu", "transformer.ln_f"]``. Yields a dict
    name -> output (detached; the latest call wins, so run one forward pass per look). The hooks are removed
    when the block ends.

    >>> with capture_activations(model, Block) as acts:
    ...     model(idx)
    >>> acts["transformer.h.0"].shape  # (B, T, C)
    """
    modules = dict(model.named_modules())
    if isinstance(targets, str):
        targets = [targets]
    if isinstance(targets, type) or (
        isinstance(targets, tuple) and all(isinstance(t, type) for t in targets)
    ):
        chosen = {name: m for name, m in modules.items() if isinstance(m, targets)}
        if not chosen:
            raise ValueError(f"The model has no module of type {targets}.")
    else:
        unknown = [t for t in targets if t not in modules]
        if unknown:
            some = [n for n in modules if n][:8]
            raise ValueError(f"No module named {unknown} in the model; names look like {some} ...")
        chosen = {name: modules[name] for name in targets}
    captured: dict[str, torch.Tensor] = {}

    def hook_for(name: str):
        def hook(module, args, output):
            captured[name] = _detach(output)

        return hook

    handles = [m.register_forward_hook(hook_for(name)) for name, m in chosen.items()]
    try:
        yield captured
    finally:
        for h in handles:
            h.remove()


@contextmanager
def capture_attention(model: nn.Module) -> Iterator[list[torch.Tensor | None]]:
    """Collect the attention weights of every attention layer during the forward pass inside the ``with`` block.

    Turns on ``save_attention_weights`` (the manual attention path) for every ``CausalSelfAttention`` and
    ``AttentionHead`` and yields a list with one entry per layer, in model order, filled by the forward pass:
    (B, H, T_query, T_key) weights (a single ``AttentionHead`` gives H = 1). Each row sums to 1 and is 0 above
    the diagonal. The flags are restored when the block ends.

    >>> with capture_attention(model) as maps:
    ...     model(idx)
    >>> maps[0].shape  # (B, H, T, T) of block 0
    """
    layers = [m for m in model.modules() if isinstance(m, (CausalSelfAttention, AttentionHead))]
    if not layers:
        raise ValueError(f"{type(model).__name__} has no CausalSelfAttention or AttentionHead module.")
    maps: list[torch.Tensor | None] = [None] * len(layers)
    previous = [m.save_attention_weights for m in layers]

    def hook_for(i: int):
        def hook(module, args, output):
            w = module.attention_weights
            maps[i] = w.unsqueeze(1) if w is not None and w.dim() == 3 else w  # (B, H, Tq, Tk)

        return hook

    handles = []
    for i, m in enumerate(layers):
        m.save_attention_weights = True
        handles.append(m.register_forward_hook(hook_for(i)))
    try:
        yield maps
    finally:
        for h in handles:
            h.remove()
        for m, flag in zip(layers, previous, strict=True):
            m.save_attention_weights = flag
            if not flag:
                m.attention_weights = None
