"""Run the book's training experiments, seed by seed, and print their results table.

    python scripts/experiments.py --list
    python scripts/experiments.py post --seeds 0 1 2 --epochs 10     # CNN and C4 G-CNN
    python scripts/experiments.py groups schedules --seeds 0 --epochs 5
    python scripts/experiments.py all --device cuda

Each experiment is a set of ``python -m gcnn.train`` options (the post's recipe plus what makes
the experiment); each run goes to ``RUNS/NAME-eEPOCHS-sSEED`` and is made by calling
:func:`gcnn.train.main` with exactly those options, so its ``metrics.json`` records a command
anyone can paste. A finished run is skipped, an interrupted one resumed (``--resume``), so the
script can be stopped and started again at any point. At the end the runs it covers are printed
as the README's tables (``scripts/results_table.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Dict, List, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

import results_table  # noqa: E402  (this folder's table printer)

from gcnn import train as gcnn_train  # noqa: E402

#: name -> the ``python -m gcnn.train`` options that make it (besides epochs, seed and --out).
EXPERIMENTS: Dict[str, List[str]] = {
    "cnn": ["--model", "cnn"],
    "gcnn-c4": ["--model", "gcnn", "--group", "C4"],
    "cnn-rotaug": ["--model", "cnn", "--augment", "rotate"],
    # Other groups at the C4 model's compute: hidden channels x |G| = 64.
    "gcnn-c8": ["--model", "gcnn", "--group", "C8", "--hidden-channels", "8"],
    "gcnn-c16": ["--model", "gcnn", "--group", "C16", "--hidden-channels", "4"],
    "gcnn-d4": ["--model", "gcnn", "--group", "D4", "--hidden-channels", "8"],
    # A group per layer (the post's open challenge), also at the C4 model's compute.
    "c8c8c4c4c1": ["--model", "gcnn", "--group", "C8,C8,C4,C4,C1",
                   "--hidden-channels", "8,8,16,16,64"],
    "c16c8c4c2c1": ["--model", "gcnn", "--group", "C16,C8,C4,C2,C1",
                    "--hidden-channels", "4,8,16,32,64"],
    # A larger model: C8 with twice the channels, four times the compute (355.7 M MACs / digit).
    "gcnn-c8-wide": ["--model", "gcnn", "--group", "C8", "--hidden-channels", "16"],
}

#: Named sets of experiments.
SETS: Dict[str, List[str]] = {
    "post": ["cnn", "gcnn-c4"],
    "baseline": ["cnn-rotaug"],
    "groups": ["gcnn-c8", "gcnn-c16", "gcnn-d4"],
    "schedules": ["c8c8c4c4c1", "c16c8c4c2c1"],
    "larger": ["gcnn-c8-wide"],
}
SETS["all"] = [name for names in SETS.values() for name in names]


def expand(names: Sequence[str]) -> List[str]:
    """Experiment and set names -> experiment names, in order, each once."""
    out: List[str] = []
    for name in names:
        if name in SETS:
            items = SETS[name]
        elif name in EXPERIMENTS:
            items = [name]
        else:
            raise SystemExit(f"unknown experiment {name!r}; known: {sorted(EXPERIMENTS)} and the "
                             f"sets {sorted(SETS)} (see --list)")
        out += [i for i in items if i not in out]
    return out


def run_dir(runs: Path, name: str, epochs: int, seed: int) -> Path:
    return runs / f"{name}-e{epochs}-s{seed}"


def _state(out: Path) -> str:
    """'finished', 'partial' (resume it) or 'new'."""
    metrics = out / "metrics.json"
    if metrics.is_file() and json.loads(metrics.read_text()).get("finished"):
        return "finished"
    return "partial" if (out / "last.pt").is_file() else "new"


def train_argv(name: str, epochs: int, seed: int, out: Path, extra: Sequence[str]) -> List[str]:
    return EXPERIMENTS[name] + ["--epochs", str(epochs), "--seed", str(seed),
                                "--out", str(out), *extra]


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
        for name, options in EXPERIMENTS.items():
            print(f"{name:<14} python -m gcnn.train {' '.join(options)}")
        for name, items in SETS.items():
            print(f"set {name:<10} {' '.join(items)}")
        return

    extra = ["--device", args.device] + (["--no-progress"] if args.no_progress else [])
    done: List[Path] = []
    for name in expand(args.names):
        for seed in args.seeds:
            out = run_dir(args.runs, name, args.epochs, seed)
            state = _state(out)
            cmd = train_argv(name, args.epochs, seed, out, extra)
            if state == "partial":
                cmd.append("--resume")
            print(f"[{time.strftime('%H:%M:%S')}] {out}: {state}; "
                  f"python -m gcnn.train {' '.join(cmd)}", flush=True)
            if not args.dry_run and state != "finished":
                gcnn_train.main(cmd)
            done.append(out)
    finished = [str(d) for d in done if _state(d) == "finished"]
    if finished and not args.dry_run:
        results_table.main(finished)


if __name__ == "__main__":
    main(sys.argv[1:])
