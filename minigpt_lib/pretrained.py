"""GPT-2 weights in Hugging Face format -> the course's ``GPT``, and back.

Hugging Face's ``GPT2LMHeadModel`` stores its projections as ``Conv1D`` layers, whose weight is (in, out); ours are
``nn.Linear`` layers, whose weight is (out, in). Loading transposes ``c_attn``, ``c_proj`` and ``c_fc`` weights;
every other tensor maps one to one. Every shape is checked, and a bad file names its problem.

Where the Hugging Face hub cannot be reached (no network, ``HF_HUB_OFFLINE=1``), ``load_gpt2("gpt2")`` returns the
small GPT-2-format model shipped with the library (``bundled-gpt2-tiny``) and says so in one line;
``strict=True`` raises instead.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import torch

from ._files import DATA_DIR, sha256_of
from .config import GPTConfig
from .models import GPT

HUB_MODELS = ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")
BUNDLED_NAME = "bundled-gpt2-tiny"
# sha256 of bundled-gpt2-tiny/model.safetensors, written by benchmarks/train_bundled_model.py.
BUNDLED_SHA256 = "d206d78c1c6685ce4106270b310ae81998eb43c8977645ac1c06a78dc394308f"
CONV1D_SUFFIXES = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")
IGNORED_SUFFIXES = (
    ".attn.bias",
    ".attn.masked_bias",
)  # causal-mask buffers of older checkpoints, not weights
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")


class CheckpointError(ValueError):
    """A GPT-2 checkpoint that cannot be used: unreadable, truncated, missing tensors, wrong shapes."""


class HubUnavailableError(ConnectionError):
    """The Hugging Face hub could not be reached and ``strict=True`` forbids the bundled fallback."""


# ----------------------------------------------------------------------------------------------- config


def config_from_hf(hf: dict, source: str = "config.json") -> GPTConfig:
    """A ``GPTConfig`` from a Hugging Face GPT-2 ``config.json`` dict; anything our ``GPT`` cannot run is refused."""
    model_type = hf.get("model_type", "gpt2")
    if model_type != "gpt2":
        raise CheckpointError(
            f"{source}: model_type is {model_type!r}; only GPT-2 ('gpt2') checkpoints are supported."
        )
    missing = [k for k in ("n_embd", "n_layer", "n_head", "vocab_size") if k not in hf]
    if missing:
        raise CheckpointError(f"{source} lacks {', '.join(missing)}: it is not a GPT-2 config.")
    problems = []
    n_inner = hf.get("n_inner")
    if n_inner is not None and n_inner != 4 * hf["n_embd"]:
        problems.append(f"n_inner = {n_inner} (our MLP is 4 * n_embd = {4 * hf['n_embd']})")
    activation = hf.get("activation_function", "gelu_new")
    if activation not in ("gelu_new", "gelu_pytorch_tanh"):
        problems.append(f"activation_function = {activation!r} (our MLP uses GELU, tanh form = 'gelu_new')")
    if not hf.get("scale_attn_weights", True):
        problems.append("scale_attn_weights = false (our attention always divides by sqrt(head_size))")
    if hf.get("scale_attn_by_inverse_layer_idx", False):
        problems.append("scale_attn_by_inverse_layer_idx = true")
    if hf.get("add_cross_attention", False):
        problems.append("add_cross_attention = true")
    if problems:
        raise CheckpointError(f"{source}: unsupported GPT-2 variant: {'; '.join(problems)}.")
    try:
        return GPTConfig(
            vocab_size=hf["vocab_size"],
            block_size=hf.get("n_positions", hf.get("n_ctx", 1024)),
            n_layer=hf["n_layer"],
            n_head=hf["n_head"],
            n_embd=hf["n_embd"],
            dropout=0.0,  # loaded for inference; set a dropout with config.replace(...) to fine-tune
            bias=True,
            tie_weights=hf.get("tie_word_embeddings", True),
            layer_norm_eps=hf.get("layer_norm_epsilon", 1e-5),
        )
    except ValueError as err:
        raise CheckpointError(f"{source}: {err}") from None


def config_to_hf(config: GPTConfig, dtype: torch.dtype = torch.float32) -> dict:
    """The Hugging Face ``config.json`` of a ``GPTConfig`` (``transformers.GPT2Config`` fields)."""
    hf = {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": config.vocab_size,
        "n_positions": config.block_size,
        "n_embd": config.n_embd,
        "n_layer": config.n_layer,
        "n_head": config.n_head,
        "n_inner": None,
        "activation_function": "gelu_new",
        "resid_pdrop": config.dropout,
        "embd_pdrop": config.dropout,
        "attn_pdrop": config.dropout,
        "layer_norm_epsilon": config.layer_norm_eps,
        "initializer_range": 0.02,
        "tie_word_embeddings": config.tie_weights,
        "torch_dtype": str(dtype).removeprefix("torch."),
    }
    if config.vocab_size > 50256:
        hf.update(bos_token_id=50256, eos_token_id=50256)
    return hf


# ------------------------------------------------------------------------------------------ reading files


def _read_weights(path: Path) -> dict[str, torch.Tensor]:
    """All tensors of a ``.safetensors`` or ``.bin`` file; a corrupt or truncated file gives a clear error."""
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path), device="cpu")
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # safetensors and torch raise many types for a damaged file
        raise CheckpointError(
            f"Cannot read the weights file {path} ({os.path.getsize(path):,} bytes): it is corrupt or truncated "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}). Download it again."
        ) from err
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors (got {type(state).__name__}).")
    return state


def _weights_file(directory: Path) -> Path:
    for name in WEIGHT_FILES:
        if (directory / name).is_file():
            return directory / name
    raise CheckpointError(f"{directory} has no weights file: expected one of {', '.join(WEIGHT_FILES)}.")


def _read_config(directory: Path) -> GPTConfig:
    path = directory / "config.json"
    if not path.is_file():
        raise CheckpointError(f"{directory} has no config.json; a Hugging Face GPT-2 directory needs one.")
    try:
        hf = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CheckpointError(f"{path} is not valid JSON ({err}).") from None
    if not isinstance(hf, dict):
        raise CheckpointError(f"{path} must hold a JSON object.")
    return config_from_hf(hf, str(path))


# ------------------------------------------------------------------------------------------ conversion


def hf_to_gpt_state(hf_state: dict[str, torch.Tensor], config: GPTConfig, source: str = "checkpoint") -> dict:
    """Hugging Face GPT-2 tensors -> our ``GPT`` state dict (float32), checking names and shapes.

    Accepts keys with or without the ``transformer.`` prefix, drops the attention-mask buffers, and transposes
    the Conv1D weights (HF (in, out) -> ``nn.Linear`` (out, in)).
    """
    hf = {}
    for key, tensor in hf_state.items():
        if key.endswith(IGNORED_SUFFIXES):
            continue
        hf[key.removeprefix("transformer.")] = tensor
    expected = _expected_shapes(config)
    state, errors = {}, []
    for key, shape in expected.items():
        hf_key = key.removeprefix("transformer.")
        hf_shape = tuple(reversed(shape)) if key.endswith(CONV1D_SUFFIXES) else shape
        if key == "lm_head.weight" and config.tie_weights:
            tensor = hf.pop(hf_key, None)
            if tensor is not None and tuple(tensor.shape) != hf_shape:
                errors.append(f"tensor '{hf_key}' has shape {tuple(tensor.shape)}, expected {hf_shape}")
            continue
        tensor = hf.pop(hf_key, None)
        if tensor is None:
            errors.append(f"missing tensor '{hf_key}' (expected shape {hf_shape})")
            continue
        if tuple(tensor.shape) != hf_shape:
            errors.append(f"tensor '{hf_key}' has shape {tuple(tensor.shape)}, expected {hf_shape}")
            continue
        if not tensor.is_floating_point():
            errors.append(f"tensor '{hf_key}' has dtype {tensor.dtype}, expected a floating-point type")
            continue
        tensor = tensor.to(torch.float32)
        state[key] = tensor.t().contiguous() if key.endswith(CONV1D_SUFFIXES) else tensor
    if hf:
        extra = sorted(hf)
        errors.append(
            f"unexpected tensors {extra[:5]}{' ...' if len(extra) > 5 else ''} (does config.json match?)"
        )
    if errors:
        shown = "; ".join(errors[:6]) + (f"; and {len(errors) - 6} more" if len(errors) > 6 else "")
        raise CheckpointError(
            f"{source} does not match its config (n_layer={config.n_layer}, n_embd={config.n_embd}, "
            f"vocab_size={config.vocab_size}, n_positions={config.block_size}): {shown}."
        )
    if config.tie_weights:
        state["lm_head.weight"] = state["transformer.wte.weight"]
    return state


def _expected_shapes(config: GPTConfig) -> dict[str, tuple[int, ...]]:
    """Our parameter names and shapes, computed on the meta device (no memory, no initialisation)."""
    with torch.device("meta"):
        model = GPT(config)
    return {k: tuple(v.shape) for k, v in model.state_dict(keep_vars=True).items()}


def gpt_to_hf_state(model: GPT) -> dict[str, torch.Tensor]:
    """Our ``GPT`` state dict -> Hugging Face ``GPT2LMHeadModel`` names and Conv1D layout."""
    out = {}
    for key, tensor in model.state_dict().items():
        if key == "lm_head.weight" and model.config.tie_weights:
            continue  # tied: HF re-ties the head to transformer.wte.weight on loading
        tensor = tensor.detach().cpu()
        out[key] = (tensor.t() if key.endswith(CONV1D_SUFFIXES) else tensor).contiguous()
    return out


def load_gpt2_dir(directory: str | Path, device: torch.device | str = "cpu") -> GPT:
    """A ``GPT`` from a local Hugging Face GPT-2 directory (config.json + model.safetensors or pytorch_model.bin)."""
    directory = Path(directory)
    config = _read_config(directory)
    weights = _weights_file(directory)
    state = hf_to_gpt_state(_read_weights(weights), config, str(weights))
    with torch.device("meta"):
        model = GPT(config)
    model.load_state_dict(state, assign=True)
    if config.tie_weights:
        model.lm_head.weight = model.transformer.wte.weight  # assign=True loads the two keys separately
    return model.to(device).eval()


# ------------------------------------------------------------------------------------------ the hub


def _hub_reachable(timeout: float) -> bool:
    """Whether a TCP connection to the hub opens within ``timeout`` seconds (and offline mode is off)."""
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    url = urlparse(constants.ENDPOINT)
    try:
        with socket.create_connection((url.hostname, url.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def _download(repo_id: str, timeout: float) -> Path:
    """config.json and the weights of a hub model (from the local cache when the hub cannot be reached)."""
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError

    local_only = not _hub_reachable(timeout)
    kwargs = dict(etag_timeout=timeout, local_files_only=local_only)
    hf_hub_download(repo_id, "config.json", **kwargs)
    for name in WEIGHT_FILES:
        try:
            return Path(hf_hub_download(repo_id, name, **kwargs)).parent
        except LocalEntryNotFoundError:
            raise
        except EntryNotFoundError:
            continue
    raise CheckpointError(f"The hub repository {repo_id!r} has neither {' nor '.join(WEIGHT_FILES)}.")


def _unreachable_errors() -> tuple[type[BaseException], ...]:
    from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled

    errors: list[type[BaseException]] = [
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        TimeoutError,
        ConnectionError,
    ]
    try:
        import httpx

        errors.append(httpx.TransportError)
    except ImportError:
        pass
    try:
        import requests

        errors += [requests.ConnectionError, requests.Timeout]
    except ImportError:
        pass
    return tuple(errors)


def _looks_like_path(name: str) -> bool:
    """Hub ids are ``name`` or ``owner/name``; anything else is meant as a local path."""
    return name.startswith((".", "/", "~")) or name.count("/") > 1 or "\\" in name


def load_gpt2(
    name_or_path: str | os.PathLike = "gpt2",
    *,
    strict: bool = False,
    timeout: float = 10.0,
    device: torch.device | str = "cpu",
) -> GPT:
    """GPT-2 weights as the course's ``GPT``, in eval mode.

    ``name_or_path`` is a local directory in Hugging Face format or a hub id (``gpt2``, ``gpt2-medium``,
    ``gpt2-large``, ``gpt2-xl``, or ``owner/name``). When the hub cannot be reached within ``timeout`` seconds
    (or ``HF_HUB_OFFLINE=1``) and the files are not in the local cache, the bundled small model is returned and
    one line says so; with ``strict=True`` a ``HubUnavailableError`` is raised instead.
    """
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return load_gpt2_dir(path, device)
    name = str(name_or_path)
    if path.exists() or _looks_like_path(name):
        raise FileNotFoundError(
            f"{name!r} is not a directory. Give a folder with config.json and model.safetensors "
            f"(or pytorch_model.bin), or a hub id such as {', '.join(HUB_MODELS)}."
        )
    try:
        directory = _download(name, timeout)
    except ImportError as err:
        reason = f"huggingface_hub is not installed ({err}); install it with `pip install transformers`"
    except _unreachable_errors() as err:
        reason = f"{type(err).__name__}: {' '.join(str(err).split())[:160]}"
    else:
        return load_gpt2_dir(directory, device)
    if strict:
        raise HubUnavailableError(
            f"Cannot download {name!r} from the Hugging Face hub and it is not in the local cache ({reason}). "
            "Check the network (on Colab it works), or call load_gpt2(..., strict=False) to use the bundled "
            f"small model '{BUNDLED_NAME}'."
        )
    print(
        f"Không tải được {name!r} từ Hugging Face Hub (không có mạng hoặc chế độ offline), nên dùng mô hình nhỏ "
        f"đi kèm thư viện '{BUNDLED_NAME}' (cùng kiến trúc GPT-2, 4 lớp, rộng 64), không phải GPT-2 của OpenAI."
    )
    return load_bundled(device)


# ------------------------------------------------------------------------------------------ export


def save_gpt2(model: GPT, directory: str | Path, dtype: torch.dtype | None = None) -> Path:
    """Write ``model`` in Hugging Face format (config.json + model.safetensors, Conv1D layout).

    ``transformers.GPT2LMHeadModel.from_pretrained(directory)`` and ``load_gpt2(directory)`` both load it.
    ``dtype=torch.float16`` halves the file (loading converts back to float32).
    """
    from safetensors.torch import save_file

    if not isinstance(model, GPT):
        raise TypeError(f"save_gpt2 expects the course's GPT model, got {type(model).__name__}.")
    if not model.config.bias:
        raise ValueError(
            "Hugging Face GPT-2 always has biases; a GPT built with bias=False cannot be exported."
        )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = gpt_to_hf_state(model)
    dtype = dtype or torch.float32
    state = {k: v.to(dtype) for k, v in state.items()}
    save_file(state, str(directory / "model.safetensors"), metadata={"format": "pt"})
    config = config_to_hf(model.config, dtype)
    (directory / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return directory


# ------------------------------------------------------------------------------------------ bundled model


def bundled_model_path() -> Path:
    """Folder of the small GPT-2-format model shipped with the library (Hugging Face format)."""
    return DATA_DIR / BUNDLED_NAME


def load_bundled(device: torch.device | str = "cpu") -> GPT:
    """The bundled small GPT-2-format model (trained on the course corpora), sha256-verified, in eval mode.

    Trained by ``benchmarks/train_bundled_model.py``; see the model card in the book.
    """
    path = bundled_model_path()
    weights = path / "model.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(
            f"{weights} is missing: the library was installed without its data. "
            "Reinstall it with `pip install -e .` from the repository (or from git in Colab)."
        )
    actual = sha256_of(weights)
    if actual != BUNDLED_SHA256:
        raise CheckpointError(
            f"{weights} is corrupt or was changed (sha256 {actual}, expected {BUNDLED_SHA256}). "
            "Restore it with `git checkout -- minigpt_lib/data` or reinstall the library."
        )
    return load_gpt2_dir(path, device)
