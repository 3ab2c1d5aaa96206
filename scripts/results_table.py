"""Print the results tables (markdown) from training runs' metrics.json files.

    python scripts/results_table.py runs/cnn-s0 runs/gcnn-c4-s0 ...
    python scripts/results_table.py            # the shipped gcnn/pretrained/*.json

Runs with the same model, group, augmentation and number of epochs are one row: mean ± standard
deviation over their seeds. Every number in the README's tables comes from this script
(:func:`gcnn.tables.results_tables`): the test accuracies (with parameters and
multiply-accumulates per 28x28 image, counted on the rebuilt model), then the accuracy-vs-angle
sweep: accuracy at a few angles, the worst angle of each run, the mean over the whole circle
(what a uniformly turned test set measures) and how far it falls below upright (what turning
costs the model).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from gcnn.tables import results_tables


def main(argv) -> None:
    paths = [Path(a) for a in argv] or sorted(Path("gcnn/pretrained").glob("*.json"))
    runs = []
    for p in paths:
        m = json.loads((p / "metrics.json" if p.is_dir() else p).read_text())
        if not m.get("finished", True):
            print(f"skipping unfinished run {p}", file=sys.stderr)
            continue
        runs.append(m)
    print(results_tables(runs))


if __name__ == "__main__":
    main(sys.argv[1:])
