"""Speed of the course's BPE tokenizer (minigpt_lib.bpe), each figure measured side by side in one run.

    .venv/bin/python benchmarks/bpe_speed.py        # about a minute on one thread

- training on Truyện Kiều to a vocabulary of 1,000 (and 4,000): CPU seconds, median of repeats; and the same training
  with a full recount of the pairs after every merge, the obvious way, to show what the incremental update buys;
- encoding throughput with GPT-2's ranks, ours (pure Python, a cache per pre-token) against tiktoken (Rust), on
  *The Time Machine* and *Truyện Kiều*, with a cold cache.

Writes benchmarks/results/bpe.json, which the book's "Đo tốc độ" page shows. Never run by the tests.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import regex  # noqa: E402

from minigpt_lib import gpt2_tokenizer, load_corpus  # noqa: E402
from minigpt_lib.bpe import (  # noqa: E402
    GPT2_SPLIT_PATTERN,
    BPETokenizer,
    count_pairs,
    merge_pair,
    most_frequent_pair,
    train_bpe,
)

RESULTS = ROOT / "benchmarks" / "results" / "bpe.json"


def seconds(fn, repeats: int = 3) -> float:
    """Median CPU time of ``fn()`` over ``repeats`` runs.

    CPU time of this process (``time.process_time``), not wall time: everything measured here runs on one thread,
    so on an idle machine the two agree, and on a shared one the wall time would also count other programs' work.
    """
    times = []
    for _ in range(repeats):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def train_with_full_recount(text: str, vocab_size: int) -> dict:
    """BPE the obvious way: after every merge, count all pairs again (over the distinct pre-tokens)."""
    chunk_counts = Counter(regex.findall(GPT2_SPLIT_PATTERN, text))
    words = [list(chunk.encode("utf-8")) for chunk in chunk_counts]
    freqs = list(chunk_counts.values())
    merges = {}
    for new_id in range(256, vocab_size):
        counts = Counter()
        for ids, freq in zip(words, freqs, strict=True):
            count_pairs(ids, counts, freq)
        pair = most_frequent_pair(counts)
        merges[pair] = new_id
        words = [merge_pair(ids, pair, new_id) for ids in words]
    return merges


def training() -> dict:
    text = load_corpus("truyen_kieu")
    record = {"corpus": "truyen_kieu", "chars": len(text), "syllables": len(text.split())}
    for vocab_size in (1_000, 4_000):
        record[f"seconds_to_{vocab_size}"] = seconds(lambda v=vocab_size: train_bpe(text, v))
    recount = seconds(lambda: train_with_full_recount(text, 1_000), repeats=1)
    assert train_with_full_recount(text, 1_000) == train_bpe(text, 1_000).merges, "both trainings must agree"
    record["full_recount_seconds_to_1000"] = recount
    record["incremental_speedup_1000"] = recount / record["seconds_to_1000"]
    return record


def encoding(repeats: int = 3) -> list[dict]:
    """Ours (cold and warm cache) and tiktoken, interleaved so that both see the same machine state."""
    ref = gpt2_tokenizer()
    rows = []
    for name in ("timemachine", "truyen_kieu"):
        text = load_corpus(name)
        n_bytes = len(text.encode("utf-8"))
        load, cold, warm, theirs = [], [], [], []
        for _ in range(repeats):
            start = time.process_time()
            ours = BPETokenizer.from_tiktoken_ranks()
            load.append(time.process_time() - start)
            cold.append(seconds(lambda t=text, o=ours: o.encode(t), repeats=1))  # empty cache: every pre-token new
            warm.append(seconds(lambda t=text, o=ours: o.encode(t), repeats=1))
            theirs.append(seconds(lambda t=text: ref.encode_ordinary(t), repeats=1))
        assert ours.encode(text) == ref.encode_ordinary(text), "must encode exactly like tiktoken"
        cold_s, warm_s, theirs_s = statistics.median(cold), statistics.median(warm), statistics.median(theirs)
        rows.append({
            "corpus": name, "bytes": n_bytes, "load_ranks_seconds": statistics.median(load),
            "ours_mb_per_s_cold_cache": n_bytes / cold_s / 1e6,
            "ours_mb_per_s_warm_cache": n_bytes / warm_s / 1e6,
            "tiktoken_mb_per_s": n_bytes / theirs_s / 1e6,
            "tiktoken_speedup_cold": cold_s / theirs_s,
        })
    return rows


def main() -> None:
    record = {
        "date": datetime.date.today().isoformat(), "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, one Python thread",
        "load_average_1min_at_start": os.getloadavg()[0],  # other work on the machine inflates the seconds
        "training": training(),
        "encoding_gpt2_ranks": encoding(),
    }
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(record, indent=2))


if __name__ == "__main__":
    main()
