"""GPT-2 weights in Hugging Face format -> the course's ``GPT``, and back.

Hugging Face's ``GPT2LMHeadModel`` stores its projections as ``Conv1D`` layers, whose weight is (in, out); ours are
``nn.Linear`` layers, whose weight is (out, in). Loading transposes ``c_attn``, ``c_proj`` and ``c_fc`` weights;
every other tensor maps one to one. Every shape is checked, and a bad file names its problem.

When one of OpenAI's four models (``gpt2`` ... ``gpt2-xl``) cannot be had from the Hugging Face hub (no network,
``HF_HUB_OFFLINE=1``, a hub that does not answer or answers an error), ``load_gpt2`` returns the small
GPT-2-format model shipped with the library (``bundled-gpt2-tiny``) and says why in one line; ``strict=True``
raises instead. Any other name is never replaced by the bundled model: a folder that does not exist is an error.
One deadline (``timeout``) covers name resolution, connection and transfer. Exports are written atomically.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

import torch
from tqdm.auto import tqdm

from ._files import (
    DATA_DIR,
    SHA256,
    CorruptDataError,
    atomic_write,
    atomic_write_files,
    open_for_reading,
    verified_path,
)
from .config import GPTConfig
from .models import GPT

HUB_MODELS = ("gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl")
BUNDLED_NAME = "bundled-gpt2-tiny"
BUNDLED_FILES = ("config.json", "model.safetensors")  # both in _files.SHA256, the one table of shipped files
BUNDLED_SHA256 = SHA256[f"{BUNDLED_NAME}/model.safetensors"]
EXPORT_DTYPES = (torch.float32, torch.float16, torch.bfloat16)
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
    tie = hf.get("tie_word_embeddings", True)
    if not isinstance(tie, bool):
        raise CheckpointError(
            f"{source}: tie_word_embeddings must be true or false (a JSON boolean), got {tie!r}."
        )
    try:
        return GPTConfig(
            vocab_size=hf["vocab_size"],
            block_size=hf.get("n_positions", hf.get("n_ctx", 1024)),
            n_layer=hf["n_layer"],
            n_head=hf["n_head"],
            n_embd=hf["n_embd"],
            dropout=0.0,  # loaded for inference; set a dropout with config.replace(...) to fine-tune
            bias=True,
            tie_weights=tie,
            layer_norm_eps=hf.get("layer_norm_epsilon", 1e-5),
        )
    except (ValueError, TypeError) as err:
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
    open_for_reading(path, "weights file")  # missing or unreadable: say so, not "corrupt"
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
    open_for_reading(path, "config file")
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


class _Unavailable(Exception):
    """Why the hub could not give a model: ``en`` for errors, ``vi`` for the learner's one-line notice."""

    def __init__(self, en: str, vi: str, not_found: bool = False):
        super().__init__(en)
        self.en, self.vi, self.not_found = en, vi, not_found


def _offline() -> bool:
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    try:
        from huggingface_hub import constants
    except ImportError:
        return False
    return bool(constants.HF_HUB_OFFLINE)


def _endpoint() -> str:
    try:
        from huggingface_hub import constants

        return constants.ENDPOINT.rstrip("/")
    except ImportError:
        return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def cache_dir() -> Path:
    """Where ``load_gpt2`` keeps the models it downloads (``MINIGPT_CACHE``, default ``~/.cache/minigpt_lib``)."""
    return Path(os.environ.get("MINIGPT_CACHE", Path.home() / ".cache" / "minigpt_lib")).expanduser() / "hub"


def _cached(repo_id: str) -> Path | None:
    """A complete local copy of a hub model: ours, or one that ``transformers`` already downloaded."""
    ours = cache_dir() / repo_id.replace("/", "--")
    if (ours / "config.json").is_file() and any((ours / name).is_file() for name in WEIGHT_FILES):
        return ours
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import EntryNotFoundError

        hf_hub_download(repo_id, "config.json", local_files_only=True)
        for name in WEIGHT_FILES:
            try:
                return Path(hf_hub_download(repo_id, name, local_files_only=True)).parent
            except EntryNotFoundError:
                continue
    except Exception:  # not installed, not cached, or a damaged cache: download instead
        return None
    return None


class _Cancelled(Exception):
    pass


class _AnsweredEvent(threading.Event):
    """An event that also sets ``wake`` (the caller waits on ``wake``, set on an answer or when the worker ends)."""

    def __init__(self, wake: threading.Event):
        super().__init__()
        self._wake = wake

    def set(self) -> None:
        super().set()
        self._wake.set()


def _download_file(url: str, target: Path, connect_timeout: float, cancel: threading.Event) -> None:
    """GET ``url`` into ``target`` (atomically), giving up as soon as ``cancel`` is set."""
    request = urllib.request.Request(url, headers={"User-Agent": "minigpt_lib"})
    with urllib.request.urlopen(request, timeout=connect_timeout) as response:
        size = int(response.headers.get("Content-Length") or 0)

        def write(tmp: Path) -> None:
            done = 0
            with open(tmp, "wb") as f, tqdm(
                total=size or None, unit="B", unit_scale=True, desc=target.name, disable=size < 1 << 24, leave=False
            ) as bar:
                while chunk := response.read(1 << 20):
                    if cancel.is_set():
                        raise _Cancelled
                    f.write(chunk)
                    done += len(chunk)
                    bar.update(len(chunk))
            if size and done != size:
                raise ConnectionError(f"{url}: the transfer stopped after {done:,} of {size:,} bytes")

        atomic_write(target, write)


def _download(repo_id: str, connect_timeout: float, cancel: threading.Event, answered: threading.Event) -> Path:
    """config.json and the weights of a hub model, into ``cache_dir()``."""
    base = f"{_endpoint()}/{repo_id}/resolve/main"
    folder = cache_dir() / repo_id.replace("/", "--")
    folder.mkdir(parents=True, exist_ok=True)
    _download_file(f"{base}/config.json", folder / "config.json", connect_timeout, cancel)
    answered.set()
    for name in WEIGHT_FILES:
        try:
            _download_file(f"{base}/{name}", folder / name, connect_timeout, cancel)
            return folder
        except urllib.error.HTTPError as err:
            if err.code != 404:
                raise
    raise CheckpointError(f"The hub repository {repo_id!r} has neither {' nor '.join(WEIGHT_FILES)}.")


def _explain(err: BaseException, endpoint: str, host: str, repo_id: str) -> _Unavailable:
    """A truthful reason for a failed download, from the exception the worker thread caught."""
    if isinstance(err, urllib.error.HTTPError):
        if err.code in (401, 404):
            return _Unavailable(
                f"the hub at {endpoint} has no repository {repo_id!r} (HTTP {err.code}; or it is private)",
                f"Hub tại {endpoint} không có kho {repo_id!r} (HTTP {err.code})",
                not_found=True,
            )
        return _Unavailable(
            f"the hub at {endpoint} answered HTTP {err.code} ({err.reason})",
            f"Hub tại {endpoint} trả lời lỗi HTTP {err.code}",
        )
    if isinstance(err, urllib.error.URLError) and isinstance(err.reason, BaseException):
        err = err.reason
    if isinstance(err, socket.gaierror):
        return _Unavailable(
            f"cannot resolve the hub's host name {host!r} ({err}): no network, or no DNS",
            f"không phân giải được tên máy {host!r}: không có mạng hoặc không có DNS",
        )
    if isinstance(err, (TimeoutError, socket.timeout)):
        return _Unavailable(
            f"the hub at {endpoint} stopped answering (no data for a while: {err})",
            f"Hub tại {endpoint} ngừng trả lời giữa chừng",
        )
    if isinstance(err, OSError):
        return _Unavailable(
            f"cannot connect to {endpoint} ({type(err).__name__}: {err})",
            f"không kết nối được tới {endpoint} ({err})",
        )
    return _Unavailable(
        f"error while talking to {endpoint} ({type(err).__name__}: {err})", f"lỗi khi tải ({type(err).__name__})"
    )


def _fetch_from_hub(repo_id: str, timeout: float, connect_timeout: float) -> Path:
    """The local folder of a hub model, fetched within ``timeout`` seconds in all (raises ``_Unavailable``).

    A local copy is used first (no network). Otherwise a worker thread resolves the host name, connects and
    downloads config.json (this first answer must come within ``connect_timeout`` s), then the weights; the
    caller waits at most ``timeout`` s in all, and a late worker is told to stop (within ``connect_timeout`` s).
    Files are written atomically, so a cut-off download never leaves a half file behind.
    """
    cached = _cached(repo_id)
    if cached is not None:
        return cached
    if _offline():
        raise _Unavailable(
            f"offline mode is on (HF_HUB_OFFLINE=1) and {repo_id!r} is not in the local cache",
            "chế độ offline đang bật (HF_HUB_OFFLINE=1) và mô hình chưa có trong bộ nhớ đệm",
        )
    endpoint = _endpoint()
    host = urlparse(endpoint).hostname or ""
    start = time.monotonic()
    first_answer, cancel = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    answered = _AnsweredEvent(first_answer)  # set once config.json arrived; wakes the caller too

    def work() -> None:
        try:
            outcome["path"] = _download(repo_id, connect_timeout, cancel, answered)
        except BaseException as err:  # reported to the caller, never lost in the thread
            outcome["error"] = err
        finally:
            outcome["answered"] = answered.is_set()
            first_answer.set()

    worker = threading.Thread(target=work, name=f"load_gpt2({repo_id})", daemon=True)
    worker.start()
    first_budget = min(connect_timeout, timeout)
    no_answer = _Unavailable(
        f"the hub at {endpoint} gave no answer within {first_budget:g} s (name resolution, connection "
        "and config.json); the network may be down or behind a stalled proxy",
        f"Hub tại {endpoint} không trả lời trong {first_budget:g} giây",
    )
    try:
        if not first_answer.wait(first_budget):
            raise no_answer
        worker.join(max(0.0, timeout - (time.monotonic() - start)))
        if worker.is_alive():
            raise _Unavailable(
                f"the download from {endpoint} did not finish within timeout={timeout:g} s; "
                "pass a larger timeout (e.g. load_gpt2(..., timeout=1800)) on a slow connection",
                f"tải từ {endpoint} chưa xong sau {timeout:g} giây (mạng chậm? thử timeout lớn hơn)",
            )
    finally:
        cancel.set()  # a worker still running stops at its next chunk or socket timeout
    if "error" in outcome:
        err = outcome["error"]
        if isinstance(err, CheckpointError):
            raise err
        reason = getattr(err, "reason", err)  # urllib wraps socket errors in URLError
        if isinstance(reason, (TimeoutError, socket.timeout)) and not outcome.get("answered"):
            raise no_answer from err  # its own socket timeout came first: still no answer at all
        raise _explain(err, endpoint, host, repo_id) from err
    return outcome["path"]  # type: ignore[return-value]


def _looks_like_hub_id(name: str) -> bool:
    """Hub ids are ``name`` or ``owner/name`` made of letters, digits, ``-``, ``_`` and ``.``."""
    return re.fullmatch(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?", name) is not None


def load_gpt2(
    name_or_path: str | os.PathLike = "gpt2",
    *,
    strict: bool = False,
    timeout: float = 300.0,
    connect_timeout: float = 10.0,
    device: torch.device | str = "cpu",
) -> GPT:
    """GPT-2 weights as the course's ``GPT``, in eval mode.

    ``name_or_path`` is a local folder in Hugging Face format or a hub id. For OpenAI's four models (``gpt2``,
    ``gpt2-medium``, ``gpt2-large``, ``gpt2-xl``) that cannot be had (no network, ``HF_HUB_OFFLINE=1``, a hub
    that does not answer or answers an error), the bundled small model is returned and one line says why;
    ``strict=True`` raises ``HubUnavailableError`` instead. A folder that does not exist is an error, never a
    fallback. ``timeout`` is one deadline for the whole fetch (name resolution, connection and transfer);
    the hub's first answer must also come within ``connect_timeout`` seconds. A model already in the local
    cache is loaded without the network.
    """
    for arg, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ValueError(f"{arg} must be a positive number of seconds, got {value!r}.")
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return load_gpt2_dir(path, device)
    name = str(name_or_path)
    if name in HUB_MODELS:
        try:
            return load_gpt2_dir(_fetch_from_hub(name, float(timeout), float(connect_timeout)), device)
        except ImportError as err:
            reason = _Unavailable(
                f"huggingface_hub is not installed ({err}); install it with `pip install transformers`",
                "chưa cài huggingface_hub (pip install transformers)",
            )
        except _Unavailable as err:
            reason = err
        if strict:
            raise HubUnavailableError(
                f"Cannot get {name!r} from the Hugging Face hub: {reason.en}. Check the network (on Colab it "
                f"works), or call load_gpt2(..., strict=False) to use the bundled small model '{BUNDLED_NAME}'."
            )
        print(
            f"Không tải được {name!r} từ Hugging Face Hub ({reason.vi}), nên dùng mô hình nhỏ đi kèm thư viện "
            f"'{BUNDLED_NAME}' (cùng kiến trúc GPT-2, 4 lớp, rộng 64), không phải GPT-2 của OpenAI."
        )
        return load_bundled(device)
    missing = (
        f"{name!r} is not a folder ({path.resolve()} does not exist)"
        if not path.exists()
        else f"{name!r} is not a directory"
    )
    hint = (
        "Give a folder with config.json and model.safetensors (or pytorch_model.bin), or a hub id such as "
        f"{', '.join(HUB_MODELS)}."
    )
    if path.exists() or not _looks_like_hub_id(name):
        raise FileNotFoundError(f"{missing}. {hint}")
    try:  # another hub id, e.g. owner/name: no fallback, the caller asked for this model
        return load_gpt2_dir(_fetch_from_hub(name, float(timeout), float(connect_timeout)), device)
    except ImportError as err:
        raise FileNotFoundError(f"{missing}, and huggingface_hub is not installed to look on the hub ({err}).") from None
    except _Unavailable as err:
        if err.not_found:
            raise FileNotFoundError(f"{missing}, nor a model on the Hugging Face hub ({err.en}). {hint}") from None
        raise HubUnavailableError(
            f"{missing}; as a hub id it could not be fetched: {err.en}. If you meant a local folder, check the "
            f"path (the working directory is {Path.cwd()})."
        ) from None


# ------------------------------------------------------------------------------------------ export


def save_gpt2(model: GPT, directory: str | Path, dtype: torch.dtype | None = None) -> Path:
    """Write ``model`` in Hugging Face format (config.json + model.safetensors, Conv1D layout).

    ``transformers.GPT2LMHeadModel.from_pretrained(directory)`` and ``load_gpt2(directory)`` both load it.
    ``dtype=torch.float16`` (or ``torch.bfloat16``) halves the file; loading converts back to float32.
    Both files are written beside their targets and renamed into place together: if anything fails, the
    previous export in ``directory`` is left as it was.
    """
    from safetensors.torch import save_file

    if not isinstance(model, GPT):
        raise TypeError(f"save_gpt2 expects the course's GPT model, got {type(model).__name__}.")
    if not model.config.bias:
        raise ValueError(
            "Hugging Face GPT-2 always has biases; a GPT built with bias=False cannot be exported."
        )
    dtype = torch.float32 if dtype is None else dtype
    if dtype not in EXPORT_DTYPES:
        raise ValueError(
            f"dtype must be one of {', '.join(str(d) for d in EXPORT_DTYPES)} (weights are real numbers; "
            f"an integer type would truncate them), got {dtype!r}."
        )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.to(dtype) for k, v in gpt_to_hf_state(model).items()}
    config_text = json.dumps(config_to_hf(model.config, dtype), indent=2) + "\n"
    atomic_write_files(
        {
            directory / "model.safetensors": lambda tmp: save_file(state, str(tmp), metadata={"format": "pt"}),
            directory / "config.json": lambda tmp: tmp.write_text(config_text, encoding="utf-8"),
        }
    )
    return directory


# ------------------------------------------------------------------------------------------ bundled model


def bundled_model_path() -> Path:
    """Folder of the small GPT-2-format model shipped with the library (Hugging Face format)."""
    return DATA_DIR / BUNDLED_NAME


def load_bundled(device: torch.device | str = "cpu") -> GPT:
    """The bundled small GPT-2-format model (trained on the course corpora), sha256-verified, in eval mode.

    Both of its files (config.json and model.safetensors) are checked against the library's sha256 table.
    Trained by ``benchmarks/train_bundled_model.py``; see the model card in the book.
    """
    try:
        for name in BUNDLED_FILES:
            verified_path(f"{BUNDLED_NAME}/{name}")
    except CorruptDataError as err:
        raise CheckpointError(str(err)) from None
    return load_gpt2_dir(bundled_model_path(), device)
