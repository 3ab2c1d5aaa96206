"""``python -m gcnn.pretrained``: list the shipped models, export a run, add a seed's metrics,
and write the live demo's ONNX files.

The command line lives beside the package, not in it: its ``onnx`` command imports
:mod:`gcnn.onnx_export`, which imports :mod:`gcnn.pretrained`.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import Optional, Sequence

from ..checkpoint import CheckpointError
from ..onnx_export import add_onnx_commands, run_onnx_command
from . import (PRETRAINED, SEEDS_SUBDIR, _seed_files, export_pretrained, export_seed_metrics,
               pretrained_path)

__all__ = ["parser", "list_models", "main"]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gcnn.pretrained",
                                description=("List the pretrained models, export a run as one, "
                                             "or ship another seed's metrics."))
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="known models and whether their files exist")
    names = sorted(PRETRAINED)
    name_help = "a shipped model's name: " + ", ".join(names)
    ex = sub.add_parser("export", help="export a finished run's best.pt as NAME")
    ex.add_argument("run_dir", metavar="RUN_DIR",
                    help="a finished run of python -m gcnn.train (its best.pt and metrics.json)")
    ex.add_argument("name", metavar="NAME", choices=names, help=name_help)
    ex.add_argument("--force", action="store_true",
                    help="replace the shipped NAME even if the run does not repeat its recorded "
                         "recipe (seed included) or is worse on validation")
    seed = sub.add_parser("add-seed", help="ship a finished run's metrics as another seed of NAME")
    seed.add_argument("run_dir", metavar="RUN_DIR",
                      help="a finished run of NAME's recipe with another seed (its metrics.json)")
    seed.add_argument("name", metavar="NAME", choices=names, help=name_help)
    add_onnx_commands(sub)  # the live demo's ONNX files
    return p


def list_models() -> None:
    for n, spec in PRETRAINED.items():
        there = "present" if pretrained_path(n).is_file() else f"missing (make: {spec.command})"
        seeds = len(_seed_files(n, None))
        print(f"{n}: {spec.description} -- {there}"
              + (f", {seeds} more seed(s) in {SEEDS_SUBDIR}/" if seeds else ""))


def main(argv: Optional[Sequence[str]] = None) -> None:
    """``python -m gcnn.pretrained list | export RUN_DIR NAME | add-seed RUN_DIR NAME``."""
    p = parser()
    args = p.parse_args(argv)
    if args.cmd == "list":
        list_models()
        return
    try:
        if args.cmd in ("onnx", "live-digits"):
            print(run_onnx_command(args))
        elif args.cmd == "add-seed":
            print(f"wrote {export_seed_metrics(args.run_dir, args.name)}")
        else:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                path = export_pretrained(args.run_dir, args.name, overwrite=args.force)
            for w in caught:
                print(f"warning: {w.message}", file=sys.stderr)
            print(f"exported {path}")
    except (ValueError, FileNotFoundError, CheckpointError, ImportError) as err:
        p.exit(1, f"{p.prog} {args.cmd}: error: {err}\n")
