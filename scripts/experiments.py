"""Run the book's training experiments, seed by seed, and print their results table.

    python scripts/experiments.py --list
    python scripts/experiments.py post --seeds 0 1 2 --epochs 10     # CNN and C4 G-CNN
    python scripts/experiments.py groups schedules --seeds 0 --epochs 5
    python scripts/experiments.py recipe --seeds 0                   # issue #17's candidates
    python scripts/experiments.py all --device cuda

The experiments and their sets are defined once, in :mod:`gcnn.experiments`; each run goes to
``RUNS/NAME-eEPOCHS-sSEED`` and is made by :func:`gcnn.train.run_experiments`, which calls
``python -m gcnn.train``'s :func:`~gcnn.train.main` with exactly the experiment's options, so
its ``metrics.json`` records a command anyone can paste. A finished run is skipped, an
interrupted one resumed (``--resume``), so the script can be stopped and started again at any
point. At the end the runs it covers are printed as the README's tables
(:func:`gcnn.tables.results_tables`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Sequence

from gcnn.experiments import EXPERIMENTS, SETS, run_dir, train_argv  # noqa: F401  (tests)
from gcnn.experiments import expand as _expand
from gcnn.tables import results_tables
from gcnn.train import run_experiments, run_state


def expand(names: Sequence[str]) -> List[str]:
    """Experiment and set names -> experiment names; an unknown name ends the script."""
    try:
        return _expand(names)
    except ValueError as err:
        raise SystemExit(str(err))


def main(argv: Sequence[str]) -> None:
    p = argparse.ArgumentParser(prog="python scripts/experiments.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("names", nargs="*", default=["post"],
                   help="experiments or sets of them (default: post)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--runs", type=Path, default=Path("runs"), help="where run folders go")
    p.add_argument("--device", default="auto")
    p.add_argument("--list", action="store_true", help="list the experiments and sets, then stop")
    p.add_argument("--dry-run", action="store_true", help="print the commands, run nothing")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    if args.list:
        for name, experiment in EXPERIMENTS.items():
            print(f"{name:<19} python -m gcnn.train {' '.join(experiment.options())}")
            if experiment.description:
                print(f"{'':<19} {experiment.description}")
        for name, items in SETS.items():
            print(f"set {name:<10} {' '.join(items)}")
        return
    extra = ["--device", args.device] + (["--no-progress"] if args.no_progress else [])
    done = run_experiments(expand(args.names), args.seeds, args.epochs, args.runs, extra,
                           dry_run=args.dry_run)
    finished = [d for d in done if run_state(d) == "finished"]
    if finished and not args.dry_run:
        print(results_tables([json.loads((d / "metrics.json").read_text()) for d in finished]))


if __name__ == "__main__":
    main(sys.argv[1:])
