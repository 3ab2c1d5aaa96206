"""Print the 6/9 table (markdown) of trained models, on upright and on turned test digits.

    python scripts/six_nine.py gcnn-c8c8c4c4c1 runs/c8c8c4c4c1-e5-s1 runs/c8c8c4c4c1-e5-s2
    python scripts/six_nine.py --num-digits 10000 runs/gcnn-c4-e10-s?

Each argument is a training run's folder (its ``best.pt`` and ``metrics.json``) or the name of a
shipped model (:func:`gcnn.pretrained`). Every model classifies the first ``--num-digits`` digits
of the upright test set and of the fixed rotated test set (chapter 8 uses the first 5,000), and
the table gives its accuracy there and how many true 6s it calls 9 and true 9s it calls 6
(:func:`gcnn.metrics.six_nine_confusion`). Runs of the same model and number of epochs are one
row, as in ``results_table.py``: mean ± standard deviation over their seeds, each seed's value in
brackets (seeds in the order given).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

import gcnn
from gcnn.checkpoint import load_model
from gcnn.data import fixed_rotated_test_set, test_set
from gcnn.metrics import confusion_counts, predict, six_nine_confusion
from gcnn.pretrained import available_pretrained
from gcnn.tables import mean_sd, row_key

SPLITS = ("upright", "rotated")


def load(source: str):
    """``(model, metrics)`` of a run folder or of a shipped model's name."""
    path = Path(source)
    if path.is_dir():
        return load_model(path / "best.pt"), json.loads((path / "metrics.json").read_text())
    if source in available_pretrained():
        return gcnn.pretrained(source), gcnn.pretrained_metrics(source)
    raise SystemExit(f"{source!r} is neither a run folder nor a shipped model "
                     f"(shipped: {', '.join(available_pretrained())})")


def _cell(values) -> str:
    each = ", ".join(f"{100 * v:.1f}" for v in values)
    return mean_sd(values) if len(values) == 1 else f"{mean_sd(values)} ({each})"


def main(argv) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sources", nargs="+", help="run folders or shipped model names")
    parser.add_argument("--num-digits", type=int, default=5000,
                        help="first digits of each test set to classify (default 5000)")
    parser.add_argument("--data", default=None, help="MNIST root (default: $GCNN_DATA)")
    args = parser.parse_args(argv)
    if not 1 <= args.num_digits <= 10000:
        parser.error(f"--num-digits must be in 1..10000, got {args.num_digits}")
    n = args.num_digits
    sets = {"upright": test_set(args.data), "rotated": fixed_rotated_test_set(args.data)}
    sets = {split: (x[:n], y[:n]) for split, (x, y) in sets.items()}
    rows = defaultdict(list)
    for source in args.sources:
        start = time.perf_counter()
        model, metrics = load(source)
        stats = {}
        for split, (x, y) in sets.items():
            stats[split] = six_nine_confusion(confusion_counts(y, predict(model, x, 500)))
        rows[row_key(metrics), metrics["config"]["epochs"]].append(stats)
        print(f"{source}: seed {metrics['config']['seed']}, "
              f"{time.perf_counter() - start:.0f} s", file=sys.stderr)
    first = next(iter(rows.values()))[0]
    print(f"First {n:,} test digits of each set ({first['upright']['sixes']} 6s and "
          f"{first['upright']['nines']} 9s; the same digits, turned, in the rotated set).\n")
    header = "".join(f"| {s} acc. (%) | {s}: 6s as 9 (%) | {s}: 9s as 6 (%) " for s in SPLITS)
    print(f"| model | epochs | seeds {header}|")
    print("|---|---|---" + "|---" * 3 * len(SPLITS) + "|")
    for (key, epochs), runs in rows.items():
        cells = "".join(
            f"| {mean_sd([r[s]['accuracy'] for r in runs])} "
            f"| {_cell([r[s]['six_as_nine'] for r in runs])} "
            f"| {_cell([r[s]['nine_as_six'] for r in runs])} " for s in SPLITS)
        print(f"| {key} | {epochs} | {len(runs)} {cells}|")


if __name__ == "__main__":
    main(sys.argv[1:])
