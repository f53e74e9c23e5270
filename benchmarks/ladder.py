"""Train every rung of the course's ladder under one recipe, with several seeds, and store the curve.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ladder.py            # 3 seeds (about 10 minutes on one thread)
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ladder.py --seeds 0 1 2 3 4

The recipe is ``minigpt_lib.ladder.RECIPE`` (character-level Tiny Shakespeare, the same steps, batch, learning
rate and validation windows for every rung). Writes ``minigpt_lib/data/ladder.json``: date, machine, seeds,
steps, per-rung losses (every seed), mean, spread, seconds, and for every rung the smallest margin, over the
seeds, by which it beat the mean of the rung below. Then prints the new sha256 for ``minigpt_lib/_files.py``.
Never run by the tests; the lessons read the stored file.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from minigpt_lib import ladder  # noqa: E402
from minigpt_lib._files import DATA_DIR, sha256_of  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=DATA_DIR / ladder.RESULTS_FILE)
    parser.add_argument("--only", nargs="+", choices=ladder.RUNG_KEYS[1:],
                        help="retrain only these rungs and keep the others from the stored file (same seeds)")
    args = parser.parse_args()

    rungs: dict[str, dict] = {}
    if args.only:
        previous = json.loads(args.out.read_text(encoding="utf-8"))
        if previous["seeds"] != args.seeds:
            raise SystemExit(f"--only needs the stored seeds {previous['seeds']}, got {args.seeds}.")
        rungs = previous["rungs"]
    floor = ladder.bigram_loss()  # deterministic: the same for every seed
    rungs["bigram"] = {"label": ladder.RUNGS[0].label, **ladder.summary([floor] * len(args.seeds)), "seconds": 0.0,
                       "parameters": 0}
    print(f"bigram (count): {floor:.4f}", flush=True)
    for rung in ladder.RUNGS[1:]:
        if args.only and rung.key not in args.only:
            continue
        losses, seconds = [], []
        for seed in args.seeds:
            start = time.perf_counter()
            model, _, loss = ladder.train_rung(rung.key, seed=seed, progress=False)
            seconds.append(time.perf_counter() - start)
            losses.append(loss)
            print(f"{rung.key:10s} seed {seed}: {loss:.4f} ({seconds[-1]:.1f} s)", flush=True)
        rungs[rung.key] = {"label": rung.label, **ladder.summary(losses), "seconds": sum(seconds) / len(seconds),
                           "parameters": sum(p.numel() for p in model.parameters())}

    result = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.processor() or platform.machine()}, {platform.system()}, "
                   f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)",
        "seeds": args.seeds,
        "recipe": ladder.RECIPE,
        "rungs": {key: rungs[key] for key in ladder.RUNG_KEYS},
    }
    for key in ladder.RUNG_KEYS[1:]:
        rungs[key]["margin_below"] = ladder.checked_margin(result, key)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    print(f"\n{'rung':12s} {'mean':>7s} {'spread':>13s} {'margin':>8s} {'s/run':>6s}")
    for key in ladder.RUNG_KEYS:
        r = rungs[key]
        margin = f"{r['margin_below']:+.4f}" if "margin_below" in r else ""
        print(f"{key:12s} {r['mean']:7.4f} {r['min']:.4f}-{r['max']:.4f} {margin:>8s} {r['seconds']:6.1f}")
    print(f"\nWrote {args.out}; its sha256 for minigpt_lib/_files.py: {sha256_of(args.out)}")


if __name__ == "__main__":
    main()
