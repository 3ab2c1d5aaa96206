"""The command line ``python -m gcnn.train``, and the runner of named experiments.

    python -m gcnn.train --model gcnn --group C4 --out runs/gcnn-c4
    python -m gcnn.train --model cnn --out runs/cnn
    python -m gcnn.train --model gcnn --group C4 --out runs/gcnn-c4 --resume
    python -m gcnn.train --model cnn --augment rotate --out runs/cnn-rotaug
    python -m gcnn.train --group C8 --method steerable --hidden-channels 14 --norm batch \
        --lr-schedule cosine --test-orbit 0,22.5 --out runs/c8-steer
    python -m gcnn.train ...the same options... --test-orbit 0,45 --resume   # test again

Every flag's default is the recipe's (:class:`~gcnn.experiments.TrainConfig`).
:func:`run_experiments` trains named experiments (:data:`~gcnn.experiments.EXPERIMENTS`) seed
by seed through :func:`main`, so each run records a command anyone can paste.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shlex
import sys
import time
import warnings
from pathlib import Path
from typing import List, Optional, Sequence

from ..builders import MODELS
from ..checkpoint import CheckpointError
from ..experiments import (
    AUGMENTATIONS,
    DEFAULT_SWEEP_SUBSET,
    LR_SCHEDULES,
    TrainConfig,
    expand,
    run_dir,
    train_argv,
)
from ..kernels import METHODS
from ..models import NORMS
from .checks import validate_run
from .loop import train

__all__ = ["parser", "main", "run_state", "run_experiments"]

_DEFAULTS = {f.name: f.default for f in dataclasses.fields(TrainConfig)}


def _int_list(text: str):
    parts = [int(p) for p in text.split(",")]
    return parts[0] if len(parts) == 1 else parts


def _angles_or_none(text: str) -> Optional[List[float]]:
    if text.strip().lower() == "none":
        return None
    try:
        return [float(a) for a in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected angles in degrees separated by commas (e.g. 0,45) or 'none', got {text!r}")


def _count_or_all(text: str) -> Optional[int]:
    if text.strip().lower() == "all":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of digits or 'all', got {text!r}")


def _add_recipe(p: argparse.ArgumentParser) -> None:
    """The flags of :class:`TrainConfig`, with its defaults."""
    d = _DEFAULTS
    p.add_argument("--model", choices=MODELS, default=d["model"])
    p.add_argument("--group", default=d["group"],
                   help="C<N> or D<N> (e.g. C4, C8, D4), or one per convolution: C8,C8,C4,C4,C1 "
                        f"(gcnn only; default {d['group']})")
    p.add_argument("--kernel-size", type=int, default=d["kernel_size"])
    p.add_argument("--num-hidden", type=int, default=d["num_hidden"],
                   help="convolutions after the first")
    p.add_argument("--hidden-channels", type=_int_list, default=d["hidden_channels"],
                   help="an int or one per convolution (default 16 for gcnn, 32 for cnn)")
    p.add_argument("--method", choices=METHODS, default=d["method"],
                   help="how kernels turn (gcnn only); 'steerable': kernels from a steerable "
                        "basis, whose turns keep their norm")
    p.add_argument("--norm", choices=NORMS, default=d["norm"],
                   help=f"normalisation after each convolution (default {d['norm']}: the "
                        f"post's); 'batch' shares its statistics over the group axis")
    p.add_argument("--epochs", type=int, default=d["epochs"])
    p.add_argument("--batch-size", type=int, default=d["batch_size"])
    p.add_argument("--augment", choices=AUGMENTATIONS, default=d["augment"],
                   help="'rotate': turn every training digit by a random angle each epoch")
    p.add_argument("--lr", type=float, default=d["lr"])
    p.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=d["lr_schedule"],
                   help=f"learning rate per batch: constant (the post's), cosine (down to 0 over "
                        f"the run) or onecycle (peaks at --lr); default {d['lr_schedule']}")
    p.add_argument("--weight-decay", type=float, default=d["weight_decay"])
    p.add_argument("--seed", type=int, default=d["seed"])
    p.add_argument("--train-subset", type=int, default=d["train_subset"],
                   help="train on the first N training digits only (quick runs)")
    p.add_argument("--eval-subset", type=int, default=d["eval_subset"],
                   help="validate and test on the first N digits only (quick runs)")
    p.add_argument("--sweep-subset", type=_count_or_all, default=d["sweep_subset"],
                   help=f"first N test digits for the accuracy-vs-angle sweep, or 'all' "
                        f"(default {DEFAULT_SWEEP_SUBSET}; never more than --eval-subset)")
    p.add_argument("--angle-step", type=float, default=d["angle_step"],
                   help="degrees between sweep angles")
    p.add_argument("--test-orbit", type=_angles_or_none, default=d["test_orbit"],
                   metavar="ANGLES",
                   help="also test the best model averaged over these input turns (degrees, "
                        "e.g. 0,45: gcnn.OrbitAverage, one forward pass each), recorded under "
                        "'orbit_average' in metrics.json; with --resume a finished run is "
                        "tested again")


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``python -m gcnn.train``."""
    p = argparse.ArgumentParser(
        prog="python -m gcnn.train",
        description="Train a CNN or G-CNN on upright MNIST; test it upright and rotated.",
    )
    _add_recipe(p)
    p.add_argument("--out", default=None, help="run directory (default runs/MODEL[-GROUP])")
    p.add_argument("--data", default=None, help="MNIST directory (default $GCNN_DATA or ./data)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps ...")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--stop-after", type=int, default=None,
                   help="stop after this many epochs in this invocation (resume later)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--export-pretrained", metavar="NAME", default=None,
                   help="when the run is finished, export best.pt as gcnn/pretrained/NAME.pt "
                        "(+ NAME.json); names: those of gcnn.pretrained.PRETRAINED. A shipped "
                        "model is only replaced by a run of its recorded recipe (seed included) "
                        "that is at least as good on validation")
    p.add_argument("--force", action="store_true",
                   help="with --export-pretrained: replace the shipped model even if this run "
                        "has another recipe or is worse on validation (says what it replaces)")
    return p


def _default_out(args: argparse.Namespace) -> str:
    suffix = "" if args.model == "cnn" else "-" + args.group.replace(",", "-").lower()
    suffix += "" if args.augment == "none" else "-" + args.augment
    return os.path.join("runs", args.model + suffix)


#: Errors a user can act on: printed as one line (exit status 2), without a traceback.
_USER_ERRORS = (ValueError, CheckpointError, OSError, FloatingPointError)


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the command line; returns the metrics.

    Every check runs before any data is loaded (:func:`~gcnn.train.checks.validate_run`); an
    error a user can fix ends the command with one line and exit status 2. Ctrl-C ends it with
    the command that resumes the run, and exit status 130.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    p = parser()
    args = p.parse_args(argv)
    resume_argv = [a for a in argv if a != "--resume"] + (["--out", _default_out(args)]
                                                          if args.out is None else [])
    args.out = args.out or _default_out(args)
    try:
        cfg = TrainConfig(**{f: getattr(args, f) for f in _DEFAULTS})
        validate_run(cfg, args.out, device=args.device, export=args.export_pretrained,
                     force=args.force)
        return _run(args, cfg, "python -m gcnn.train " + shlex.join(argv))
    except KeyboardInterrupt:
        _interrupted(Path(args.out), resume_argv, args.resume)
    except _USER_ERRORS as err:
        text = " ".join(str(err).split())
        p.exit(2, f"{p.prog}: error: {text}\n")


def _run(args: argparse.Namespace, cfg: TrainConfig, command: str) -> dict:
    """Train (and export); print where the run stands."""
    metrics = train(cfg, args.out, root=args.data, device=args.device, resume=args.resume,
                    stop_after=args.stop_after, progress=not args.no_progress, command=command)
    if metrics["finished"]:
        print(f"{args.out}: best epoch {metrics['best_epoch']}, val {metrics['best_val_acc']:.4f}, "
              f"test {metrics['test_acc']:.4f}, rotated test {metrics['rotated_test_acc']:.4f}")
        if args.export_pretrained:
            from ..pretrained import export_pretrained

            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                path = export_pretrained(args.out, args.export_pretrained, overwrite=args.force)
            for w in caught:
                print(f"warning: {w.message}", file=sys.stderr)
            print(f"exported {path}")
    else:
        done = metrics["history"][-1]["epoch"] if metrics["history"] else 0
        print(f"{args.out}: stopped after epoch {done} of {cfg.epochs}; continue with the same "
              f"command and --resume")
    return metrics


def _interrupted(out: Path, argv: List[str], resumed: bool) -> None:
    """Ctrl-C: say what was kept and the command that continues; exit with status 130."""
    last = out / "last.pt"
    if last.is_file():
        print(f"\ninterrupted: {last} keeps the last finished epoch; continue the run with:\n"
              f"python -m gcnn.train {shlex.join(argv + ['--resume'])}", file=sys.stderr)
    else:
        again = argv + (["--resume"] if resumed else [])
        print(f"\ninterrupted before the first epoch was saved; nothing was kept. Start again "
              f"with:\npython -m gcnn.train {shlex.join(again)}", file=sys.stderr)
    raise SystemExit(130)


def run_state(out: Path) -> str:
    """``'finished'``, ``'partial'`` (resume it) or ``'new'``: the state of a run folder."""
    metrics = Path(out) / "metrics.json"
    if metrics.is_file() and json.loads(metrics.read_text()).get("finished"):
        return "finished"
    return "partial" if (Path(out) / "last.pt").is_file() else "new"


def run_experiments(names: Sequence[str], seeds: Sequence[int], epochs: int, runs: Path,
                    extra: Sequence[str] = (), dry_run: bool = False) -> List[Path]:
    """Train every seed of the named experiments (or sets) into ``runs/NAME-eE-sS``.

    A finished run is skipped, an interrupted one resumed, so this can be stopped and started
    again at any point; each command is printed first. Returns the run folders covered.
    """
    done: List[Path] = []
    for name in expand(names):
        for seed in seeds:
            out = run_dir(runs, name, epochs, seed)
            state = run_state(out)
            cmd = train_argv(name, epochs, seed, out, extra)
            if state == "partial":
                cmd.append("--resume")
            print(f"[{time.strftime('%H:%M:%S')}] {out}: {state}; "
                  f"python -m gcnn.train {' '.join(cmd)}", flush=True)
            if not dry_run and state != "finished":
                main(cmd)
            done.append(out)
    return done
