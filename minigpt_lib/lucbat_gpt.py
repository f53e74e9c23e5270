"""A GPT that writes lục bát (lesson 33): the poem's data, the shipped models, sampling couplets and scoring them.

The two shipped models (``data/lucbat_gpt/char.safetensors`` and ``bpe.safetensors``) are made by
``benchmarks/train_lucbat_gpt.py``; each file holds float16 weights, the ``GPTConfig`` and the tokenizer, and is
checked against its sha256 when loaded. Scoring uses :mod:`minigpt_lib.lucbat`: a sample is the continuation of a
prompt that ends at a couplet boundary, and its first two couplets (with the lục line after each) are checked.
Copying is measured against the whole poem, in syllables.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn

from . import lucbat
from ._files import DATA_DIR, atomic_write, verified_path
from .bpe import BPETokenizer, train_bpe
from .config import GPTConfig
from .data import load_corpus
from .models import GPT
from .sampling import generate
from .tokenizer import CharTokenizer

DATA = DATA_DIR / "lucbat_gpt"
KINDS = ("char", "bpe")
BPE_VOCAB = 2000
VAL_FRACTION = 0.1
COUPLETS_PER_SAMPLE = 2  # lines 1-4 of a sample and line 5 (the next lục) are checked


@dataclass
class KieuData:
    tokenizer: CharTokenizer | BPETokenizer
    train_text: str
    val_text: str
    train_ids: torch.Tensor  # (N_train,)
    val_ids: torch.Tensor  # (N_val,)

    @property
    def val_chars(self) -> int:
        return len(self.val_text)


def split_poem(val_fraction: float = VAL_FRACTION) -> tuple[str, str]:
    """Truyện Kiều split in time at a couplet boundary: (first lines, last ``val_fraction`` of the lines)."""
    lines = load_corpus("truyen_kieu").splitlines(keepends=True)
    n_train = int(len(lines) * (1 - val_fraction)) // 2 * 2
    return "".join(lines[:n_train]), "".join(lines[n_train:])


def make_tokenizer(kind: str, train_text: str, bpe_vocab: int = BPE_VOCAB) -> CharTokenizer | BPETokenizer:
    """The tokenizer of a model kind: characters of the whole poem, or BPE trained on the training lines."""
    if kind == "char":
        return CharTokenizer(load_corpus("truyen_kieu"))
    if kind == "bpe":
        return train_bpe(train_text, bpe_vocab)
    raise ValueError(f"Unknown model kind {kind!r}; choose one of {KINDS}.")


def kieu_data(kind: str, bpe_vocab: int = BPE_VOCAB) -> KieuData:
    train_text, val_text = split_poem()
    tok = make_tokenizer(kind, train_text, bpe_vocab)
    as_ids = lambda text: torch.tensor(tok.encode(text), dtype=torch.long)
    return KieuData(tok, train_text, val_text, as_ids(train_text), as_ids(val_text))


def _tokenizer_json(tok: CharTokenizer | BPETokenizer) -> str:
    if isinstance(tok, CharTokenizer):
        return json.dumps({"chars": tok.chars}, ensure_ascii=False)
    return json.dumps({"merges": [[a, b, i] for (a, b), i in tok.merges.items()], "pattern": tok.pattern})


def _tokenizer_from_json(text: str) -> CharTokenizer | BPETokenizer:
    spec = json.loads(text)
    if "chars" in spec:
        return CharTokenizer(spec["chars"])
    return BPETokenizer({(a, b): i for a, b, i in spec["merges"]}, pattern=spec["pattern"])


def save_model(model: GPT, tokenizer, kind: str, info: dict) -> object:
    """Write ``data/lucbat_gpt/<kind>.safetensors``: float16 weights, config, tokenizer and training info."""
    DATA.mkdir(parents=True, exist_ok=True)
    path = DATA / f"{kind}.safetensors"
    state = {
        k: v.detach().to(torch.float16).contiguous()
        for k, v in model.state_dict().items()
        if k != "lm_head.weight"
    }  # tied to the token embedding
    metadata = {
        "config": json.dumps(model.config.to_dict()),
        "tokenizer": _tokenizer_json(tokenizer),
        "info": json.dumps(info, ensure_ascii=False),
    }
    atomic_write(path, lambda tmp: save_file(state, str(tmp), metadata=metadata))
    return path


def load_model(kind: str) -> tuple[GPT, CharTokenizer | BPETokenizer, dict]:
    """A shipped model (sha256-checked), in eval mode on the CPU: (model, tokenizer, training info)."""
    if kind not in KINDS:
        raise ValueError(f"Unknown model kind {kind!r}; choose one of {KINDS}.")
    path = verified_path(f"lucbat_gpt/{kind}.safetensors")
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
    model = GPT(GPTConfig(**json.loads(meta["config"])))
    state = {k: v.float() for k, v in load_file(str(path)).items()}
    state["lm_head.weight"] = state["transformer.wte.weight"]
    model.load_state_dict(state)
    return model.eval(), _tokenizer_from_json(meta["tokenizer"]), json.loads(meta["info"])


def stored_results() -> dict:
    """The results of ``benchmarks/train_lucbat_gpt.py --evaluate`` (sha256-checked)."""
    return json.loads(verified_path("lucbat_gpt/results.json").read_text(encoding="utf-8"))


class CharBigram(nn.Module):
    """The baseline: the next character depends only on the current one (counts of the training text, +1 smoothed)."""

    block_size = 1  # ``generate`` shows it only the last token

    def __init__(self, tokenizer: CharTokenizer, text: str):
        super().__init__()
        ids = torch.tensor(tokenizer.encode(text))
        counts = torch.ones(tokenizer.n_vocab, tokenizer.n_vocab)
        counts.index_put_((ids[:-1], ids[1:]), torch.ones(len(ids) - 1), accumulate=True)
        self.register_buffer("log_probs", (counts / counts.sum(1, keepdim=True)).log())  # (V, V)

    def forward(self, idx: torch.Tensor, targets: torch.Tensor | None = None):
        logits = self.log_probs[idx]  # (B, T, V)
        if targets is None:
            return logits
        return logits, nn.functional.cross_entropy(logits.flatten(0, 1), targets.flatten())


def couplet_prompts(text: str, n: int, n_lines: int = 4, seed: int = 0) -> list[str]:
    """``n`` prompts, each ``n_lines`` consecutive lines of ``text`` ending with a bát line and a newline."""
    lines = text.splitlines(keepends=True)
    starts = list(range(0, len(lines) - n_lines + 1, 2))  # a prompt starts on a lục line, so it ends on a bát
    if not starts:
        raise ValueError(f"The text has fewer than {n_lines} lines.")
    g = torch.Generator().manual_seed(seed)
    pick = torch.randint(len(starts), (n,), generator=g).tolist()
    return ["".join(lines[starts[i] : starts[i] + n_lines]) for i in pick]


def _lengths_for(tokenizer) -> tuple[int, int]:
    """(prompt tokens, new tokens): ~48 characters of prompt, and room for 5 new lines (~165 characters)."""
    return (
        (48, 180) if isinstance(tokenizer, CharTokenizer) else (16, 70)
    )  # a BPE token of the poem ≈ 3 chars


@torch.no_grad()
def sample_continuations(
    model: nn.Module, tokenizer, prompts: list[str], temperature: float, seed: int = 0
) -> list[str]:
    """The text each prompt is continued with: prompts cropped to their last tokens, generated as one batch."""
    prompt_len, max_new_tokens = _lengths_for(tokenizer)
    encoded = [tokenizer.encode(p) for p in prompts]
    prompt_len = min(prompt_len, *(len(ids) for ids in encoded))
    idx = torch.tensor([ids[-prompt_len:] for ids in encoded])  # (B, T0): the end of each prompt
    g = torch.Generator().manual_seed(seed)
    new = generate(model, idx, max_new_tokens, temperature=temperature, generator=g)[:, prompt_len:]  # (B, N)
    return [_decode(tokenizer, ids) for ids in new.tolist()]


def _decode(tokenizer, ids: list[int]) -> str:
    if isinstance(tokenizer, BPETokenizer):
        return tokenizer.decode_bytes(ids).decode("utf-8", errors="replace")
    return tokenizer.decode(ids)


def complete_lines(continuation: str) -> list[str]:
    """The complete lines of a continuation (the text after the last newline is cut off)."""
    return [line.strip() for line in continuation.split("\n")[:-1]]


def sample_checks(continuation: str) -> list[lucbat.CoupletCheck]:
    """The checks of a sample's first ``COUPLETS_PER_SAMPLE`` couplets; a missing line fails its couplet."""
    lines = complete_lines(continuation)
    checks = []
    for c in range(COUPLETS_PER_SAMPLE):
        luc, bat, nxt = (lines[2 * c + k] if 2 * c + k < len(lines) else None for k in range(3))
        if luc is None or bat is None or nxt is None or not (luc and bat and nxt):
            checks.append(lucbat.CoupletCheck(False, ["Thiếu dòng: mẫu sinh ra không đủ dòng."], {"length"}))
        else:
            checks.append(lucbat.check_couplet(luc, bat, nxt))
    return checks


def _key(line: str) -> tuple[str, ...]:
    return tuple(s.lower() for s in lucbat.syllables(line))


class PoemIndex:
    """What counts as copied: the poem's lines and its syllable n-grams (lower case, punctuation stripped)."""

    def __init__(self, text: str | None = None, max_n: int = 16):
        text = load_corpus("truyen_kieu") if text is None else text
        self.lines = {_key(line) for line in text.splitlines() if line.strip()}
        stream = [s for line in text.splitlines() for s in _key(line)]
        self.max_n = max_n
        self.ngrams = {
            n: {tuple(stream[i : i + n]) for i in range(len(stream) - n + 1)} for n in range(1, max_n + 1)
        }

    def is_verbatim(self, line: str) -> bool:
        return _key(line) in self.lines

    def longest_copied_run(self, text: str) -> int:
        """The longest run of syllables of ``text`` (across lines) found in the poem, up to ``max_n``."""
        stream = [s for line in text.split("\n") for s in _key(line)]
        best = 0
        for i in range(len(stream)):
            n = best + 1
            while n <= self.max_n and i + n <= len(stream) and tuple(stream[i : i + n]) in self.ngrams[n]:
                best, n = n, n + 1
        return best

    def ngram_overlap(self, text: str, n: int = 4) -> float:
        """The share of the syllable n-grams of ``text`` (within lines) that occur in the poem."""
        keys = [_key(line) for line in text.split("\n")]
        grams = [tuple(k[i : i + n]) for k in keys for i in range(len(k) - n + 1)]
        return sum(g in self.ngrams[n] for g in grams) / len(grams) if grams else 0.0


RULES = (
    "length",
    "syllable",
    "tone",
    "rhyme",
    "next_rhyme",
)  # the checker's rules, in the order they are climbed


def line_scores(continuations: list[str]) -> dict:
    """Rules of single lines, softer than whole couplets: of the first 5 lines of each sample (lục, bát, lục, bát, lục),
    the share with the right number of syllables, the share that also keep the tone rule (every word a Vietnamese
    syllable, B-T-B or B-T-B-B at the even positions), and of the (lục, bát) pairs whose two lines both keep
    them, the share that rhyme lục[6] ~ bát[6]."""
    n_lines, length_ok, tone_ok, pairs, rhymed = 0, 0, 0, 0, 0
    for text in continuations:
        lines = (complete_lines(text) + [""] * 5)[:5]
        good = []
        for k, line in enumerate(lines):
            n_lines += 1
            want = 6 if k % 2 == 0 else 8
            words = lucbat.syllables(line)
            length_ok += len(words) == want
            parsed = line_form(line, want)
            tone_ok += parsed is not None
            good.append(parsed)
        for k in (0, 2):
            if good[k] is not None and good[k + 1] is not None:
                pairs += 1
                rhymed += lucbat.rhymes(good[k][5], good[k + 1][5])
    return {
        "line_length_ok": length_ok / n_lines,
        "line_tone_ok": tone_ok / n_lines,
        "rhyme_given_form": rhymed / pairs if pairs else 0.0,
        "form_pairs": pairs,
    }


def score_samples(continuations: list[str], index: PoemIndex) -> dict:
    """Pass rate of the checked couplets, what fails, and how much is copied from the poem."""
    checks = [c for text in continuations for c in sample_checks(text)]
    lines = [
        line for text in continuations for line in complete_lines(text)[: 2 * COUPLETS_PER_SAMPLE + 1] if line
    ]
    passed_novel = 0
    for text in continuations:
        lines_k = complete_lines(text)
        for c, check in enumerate(sample_checks(text)):
            if check.ok and not any(index.is_verbatim(x) for x in lines_k[2 * c : 2 * c + 2]):
                passed_novel += 1
    ladder = {}  # the share of couplets that keep every rule up to this one (the last one: the full check)
    for k, rule in enumerate(RULES):
        ladder[rule] = sum(not (c.broken & set(RULES[: k + 1])) for c in checks) / len(checks)
    checked_text = ["\n".join(complete_lines(t)[: 2 * COUPLETS_PER_SAMPLE + 1]) for t in continuations]
    return {
        "couplets": len(checks),
        "pass_rate": sum(c.ok for c in checks) / len(checks),
        "novel_pass_rate": passed_novel / len(checks),
        "ladder": ladder,
        **line_scores(continuations),
        "verbatim_line_share": sum(index.is_verbatim(x) for x in lines) / max(1, len(lines)),
        "ngram4_overlap": sum(index.ngram_overlap(t) for t in checked_text) / len(checked_text),
        "longest_copied_run": sum(index.longest_copied_run(t) for t in checked_text) / len(checked_text),
    }


TEMPERATURES = (0.5, 0.8, 1.0, 1.2)


def evaluate_all(n_prompts: int = 200, seed: int = 0, temperatures=TEMPERATURES) -> dict:
    """Everything lesson 33 shows: each shipped model across temperatures, and the two baselines at T = 1."""
    train_text, val_text = split_poem()
    prompts = couplet_prompts(val_text, n_prompts, seed=seed)
    index = PoemIndex()
    results: dict = {"n_prompts": n_prompts, "temperatures": list(temperatures), "models": {}, "samples": {}}
    for kind in KINDS:
        model, tok, info = load_model(kind)
        results["models"][kind] = {"info": {k: v for k, v in info.items() if k != "history"}}
        for t in temperatures:
            outs = sample_continuations(model, tok, prompts, t, seed=seed)
            results["models"][kind][str(t)] = score_samples(outs, index)
            results["samples"][f"{kind}@{t}"] = outs[:5]
    char_tok = load_model("char")[1]
    torch.manual_seed(seed)
    untrained = GPT(load_model("char")[0].config).eval()
    baselines = {"bigram": CharBigram(char_tok, train_text), "untrained": untrained}
    for name, model in baselines.items():
        outs = sample_continuations(model, char_tok, prompts, 1.0, seed=seed)
        results["models"][name] = {"1.0": score_samples(outs, index)}
        results["samples"][f"{name}@1.0"] = outs[:5]
    # The poem itself, as the ceiling: its validation couplets checked the same way.
    own = ["".join(val_text.splitlines(keepends=True)[i : i + 5]) + "\n" for i in range(0, 300, 2)]
    results["models"]["truyen_kieu_val"] = {"1.0": score_samples(own, index)}
    results["bits"] = {k: results["models"][k]["info"]["val_bits_per_char"] for k in KINDS}
    assert all(math.isfinite(v) for v in results["bits"].values())
    return results


# --- The checker as a verifier during generation (rejection sampling, best-of-n) ---------------------------------


def line_form(line: str, n_syllables: int) -> list[lucbat.Syllable] | None:
    """The parsed syllables of ``line`` if it keeps the rules of a single line: ``n_syllables`` words (6 for lục,
    8 for bát), each a Vietnamese syllable, tones B-T-B (lục) or B-T-B-B (bát) at the even positions; else None."""
    if n_syllables not in (6, 8):
        raise ValueError(f"A lục bát line has 6 or 8 syllables, not {n_syllables}.")
    words = lucbat.syllables(line)
    if len(words) != n_syllables:
        return None
    try:
        parsed = [lucbat.parse_syllable(w) for w in words]
    except ValueError:
        return None
    pattern = lucbat._BAT_PATTERN if n_syllables == 8 else lucbat._LUC_PATTERN
    return parsed if all(parsed[p - 1].tone_class == c for p, c in pattern.items()) else None


def line_is_acceptable(candidate: str, previous: list[str]) -> bool:
    """Whether ``candidate`` can follow the lines ``previous`` (lục first, alternating) without breaking a rule that
    is already decidable: its own length, syllables and tones; a bát's 6th syllable rhymes with the lục's 6th; a lục
    (after the first) has its 6th syllable rhyme with the previous bát's 8th. A poem made only of acceptable lines
    passes :func:`lucbat.check_couplet` on every couplet."""
    k = len(previous)
    parsed = line_form(candidate, 8 if k % 2 else 6)
    if parsed is None:
        return False
    if k == 0:
        return True
    before = line_form(previous[-1], 6 if k % 2 else 8)
    if before is None:  # an earlier line broke the form: the rhyme with it cannot be checked
        return False
    return lucbat.rhymes(before[5], parsed[5]) if k % 2 else lucbat.rhymes(before[7], parsed[5])


@dataclass
class VerifiedPoem:
    """The result of :func:`generate_with_verifier`: the lines, and for each line how many candidates were looked at
    and whether one of them was accepted (if none was, the last candidate was kept and the poem breaks a rule)."""

    lines: list[str]
    tries: list[int]
    accepted: list[bool]

    @property
    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines)


def generate_with_verifier(
    propose, prompt: str, n_lines: int = 2 * COUPLETS_PER_SAMPLE + 1, max_tries: int = 32, batch: int = 8
) -> VerifiedPoem:
    """Write ``n_lines`` lines after ``prompt`` (which ends with a bát line and a newline), line by line: ask
    ``propose(context, n)`` for ``n`` candidate next lines, keep the first one that :func:`line_is_acceptable`
    accepts given the lines written so far, append it to the context and go on. At most ``max_tries`` candidates per
    line, asked for ``batch`` at a time; ``tries`` counts the candidates up to and including the accepted one (what
    drawing one at a time would cost). The model proposes, the rules decide."""
    if n_lines < 1 or max_tries < 1 or batch < 1:
        raise ValueError(f"n_lines, max_tries and batch must be >= 1, got {n_lines}, {max_tries}, {batch}.")
    if prompt and not prompt.endswith("\n"):
        raise ValueError("The prompt must end at a line boundary (a newline after the last bát line).")
    lines: list[str] = []
    tries: list[int] = []
    accepted: list[bool] = []
    for _ in range(n_lines):
        context = prompt + "".join(line + "\n" for line in lines)
        looked, chosen = 0, None
        while looked < max_tries and chosen is None:
            candidates = propose(context, min(batch, max_tries - looked))
            if not candidates:
                raise ValueError("propose(context, n) returned no candidates; it must return n lines.")
            for cand in candidates:
                looked += 1
                last = cand
                if line_is_acceptable(cand, lines):
                    chosen = cand
                    break
        lines.append(chosen if chosen is not None else last.strip())
        tries.append(looked)
        accepted.append(chosen is not None)
    return VerifiedPoem(lines, tries, accepted)


def line_proposer(
    model: nn.Module,
    tokenizer,
    temperature: float,
    generator: torch.Generator | None = None,
    max_line_tokens: int | None = None,
):
    """A ``propose(context, n)`` for :func:`generate_with_verifier`: ``n`` samples of the model at ``temperature``
    after the end of ``context`` (generated as one batch), each cut at its first newline ("" if it has none)."""
    if max_line_tokens is None:
        # a bát line: ~35 characters, ~12 BPE tokens
        max_line_tokens = 60 if isinstance(tokenizer, CharTokenizer) else 24
    keep = model.config.block_size - max_line_tokens if hasattr(model, "config") else 1

    @torch.no_grad()
    def propose(context: str, n: int) -> list[str]:
        ids = tokenizer.encode(context)[-keep:]
        idx = torch.tensor([ids] * n)  # (n, T0)
        new = generate(model, idx, max_line_tokens, temperature=temperature, generator=generator)[
            :, len(ids) :
        ]
        texts = [_decode(tokenizer, row) for row in new.tolist()]  # (n,) strings
        return [t.split("\n")[0].strip() if "\n" in t else "" for t in texts]

    return propose
