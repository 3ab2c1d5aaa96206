"""Print the 6/9 table (markdown) of trained models, on upright and on turned test digits.

    python scripts/six_nine.py gcnn-c8c8c4c4c1 runs/c8c8c4c4c1-e5-s1 runs/c8c8c4c4c1-e5-s2
    python scripts/six_nine.py --num-digits 10000 runs/gcnn-c4-e10-s?

Each argument is a training run's folder (its ``best.pt`` and ``metrics.json``) or the name of a
shipped model (:func:`gcnn.pretrained`). Every model classifies the first ``--num-digits`` digits
of the upright test set and of the fixed rotated test set (chapter 8 uses the first 5,000), and
the table gives its accuracy there and how many true 6s it calls 9 and true 9s it calls 6
(:func:`gcnn.metrics.six_nine_confusion`), as :func:`gcnn.tables.six_nine_table` lays it out.
"""

from __future__ import annotations

import argparse
import sys
import time

from gcnn.data import fixed_rotated_test_set, test_set
from gcnn.metrics import confusion_counts, predict, six_nine_confusion
from gcnn.pretrained import load_run
from gcnn.tables import six_nine_table


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
    runs = []
    for source in args.sources:
        start = time.perf_counter()
        try:
            model, metrics = load_run(source)
        except ValueError as err:
            raise SystemExit(str(err))
        stats = {split: six_nine_confusion(confusion_counts(y, predict(model, x, 500)))
                 for split, (x, y) in sets.items()}
        runs.append((metrics, stats))
        print(f"{source}: seed {metrics['config']['seed']}, "
              f"{time.perf_counter() - start:.0f} s", file=sys.stderr)
    first = runs[0][1]["upright"]
    print(f"First {n:,} test digits of each set ({first['sixes']} 6s and {first['nines']} 9s; "
          f"the same digits, turned, in the rotated set).\n")
    print(six_nine_table(runs))


if __name__ == "__main__":
    main(sys.argv[1:])
