"""Seconds per training epoch of chapter 11's candidates on this CPU, measured side by side.

    python benchmarks/training.py                      # every shipped candidate, 2 threads
    python benchmarks/training.py --models gcnn-c16-steer --steps 5 --repeats 3
    python benchmarks/training.py --write              # record them for chapter 11

Issue #17's budget allows 2 hours of training per seed on two CPU cores. A run made on the CPU
records that time itself (its epochs' seconds); a run made on a GPU records GPU seconds, which
say nothing about it. This script measures the CPU time of every candidate's training, whatever
its shipped runs were made on: for each shipped model named it builds the network afresh from
the model's config, with Adam and the run's learning rate and weight decay, and times
:mod:`gcnn.train`'s own epoch loop (forward, cross-entropy, backward, Adam step) over ``--steps``
batches of the run's batch size (upright MNIST training digits; random pictures without the
data: the time does not depend on the pixels). The learning-rate schedule, a few scalar
operations per batch, is left out.

Every timed round trains every model for ``--steps`` batches, the order alternating from round
to round, after ``--warmup`` untimed rounds; a model's seconds per batch is the median over the
``--repeats`` rounds. Times the batches of an epoch (``ceil(train_size / batch_size)``, from
the shipped metrics) it is the estimate of one epoch, and times the run's epochs the training
time of one seed. For the candidates trained on the CPU, chapter 11 prints the estimate beside
the recorded median epoch, so the reader sees how far the two agree.

``--write [PATH]`` records the estimates, the machine, the thread count and this command in
``gcnn/pretrained/training.json``, which :mod:`gcnn.selection` reads for runs not made on a CPU.
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import gcnn  # noqa: E402
from gcnn.builders import build_model_from_config  # noqa: E402
from gcnn.pretrained import PRETRAINED, candidate_names, pretrained_metrics  # noqa: E402
from gcnn.selection import TRAINING_FILE  # noqa: E402
from gcnn.train.loop import _train_epoch  # noqa: E402
from inference import machine, print_machine, write_record  # noqa: E402
from layers import interleaved  # noqa: E402


def training_data(n: int) -> tuple:
    """``n`` upright MNIST training digits and labels, or random ones without the data."""
    try:
        x, y = gcnn.data.train_set(download=False)
        return x[:n].clone(), y[:n].clone()
    except (FileNotFoundError, RuntimeError, OSError):
        print("  (MNIST not found: timing random pictures)")
        g = torch.Generator().manual_seed(0)
        return torch.rand(n, 1, 28, 28, generator=g), torch.randint(0, 10, (n,), generator=g)


def trainer(name: str, steps: int, digits: tuple) -> Callable[[], None]:
    """A function that trains the shipped model ``name``'s network afresh for ``steps`` batches
    of the training ``digits`` (images, labels)."""
    m = pretrained_metrics(name)
    cfg = m["config"]
    torch.manual_seed(0)
    model = build_model_from_config(m["model_config"])
    opt = torch.optim.Adam(model.parameters(), lr=cfg["lr"], weight_decay=cfg["weight_decay"])
    x, y = (t[:steps * cfg["batch_size"]] for t in digits)
    shuffle = torch.Generator().manual_seed(0)
    cpu = torch.device("cpu")

    def run() -> None:
        _train_epoch(model, opt, x, y, cfg["batch_size"], shuffle, cpu, progress=False,
                     desc=name)
    return run


def estimate(name: str, seconds: List[float], steps: int) -> dict:
    """The record of one model: seconds per batch (median, min, max) and the epoch and seed
    they make."""
    m = pretrained_metrics(name)
    per_step = sorted(t / steps for t in seconds)
    batches = math.ceil(m["data"]["train_size"] / m["config"]["batch_size"])
    epoch = statistics.median(per_step) * batches
    return {"seconds_per_batch": {"median": statistics.median(per_step), "min": per_step[0],
                                  "max": per_step[-1]},
            "batches_per_epoch": batches, "seconds_per_epoch": epoch,
            "epochs": m["config"]["epochs"], "hours_per_seed": epoch * m["config"]["epochs"] / 3600,
            "shipped_runs_device": m["device"]}


def measure(names: List[str], steps: int, repeats: int, warmup: int) -> Dict[str, dict]:
    digits = training_data(steps * max(pretrained_metrics(n)["config"]["batch_size"]
                                       for n in names))
    fns = {name: trainer(name, steps, digits) for name in names}
    times = interleaved(fns, repeats, warmup, torch.device("cpu"), desc="training")
    return {name: estimate(name, times[name], steps) for name in names}


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=None,
                   help="shipped model names (default: every shipped candidate of chapter 11)")
    p.add_argument("--steps", type=int, default=10, help="batches per timed round (default 10)")
    p.add_argument("--repeats", type=int, default=5, help="timed rounds (default 5)")
    p.add_argument("--warmup", type=int, default=1, help="untimed rounds first (default 1)")
    p.add_argument("--threads", type=int, default=2,
                   help="torch.set_num_threads (default 2, the book's CPU runs)")
    p.add_argument("--write", nargs="?", const=str(TRAINING_FILE), default=None, metavar="PATH",
                   help=f"record the results (default path: {TRAINING_FILE.relative_to(ROOT)})")
    args = p.parse_args(argv)
    names = args.models or candidate_names()
    if min(args.steps, args.repeats, args.threads) < 1 or args.warmup < 0:
        p.error("--steps, --repeats and --threads must be >= 1, --warmup >= 0")
    unknown = [n for n in names if n not in PRETRAINED]
    if unknown:
        p.error(f"unknown model(s) {unknown}; shipped: {sorted(PRETRAINED)}")
    for name in names:
        pretrained_metrics(name)               # a clear error now if a file is missing
    torch.set_num_threads(args.threads)

    info = machine()
    print_machine("gcnn training benchmark: seconds per training epoch, CPU", info)
    print(f"  {args.warmup} warm-up + {args.repeats} timed rounds of {args.steps} batches, "
          f"interleaved")
    start = time.perf_counter()
    results = measure(names, args.steps, args.repeats, args.warmup)

    width = max(len(k) for k in results) + 2
    print(f"\n{'model':<{width}}s / batch (min, max)    batches   s / epoch   epochs   "
          f"h / seed   shipped runs made on")
    for name, r in results.items():
        b = r["seconds_per_batch"]
        print(f"{name:<{width}}{b['median']:.3f} ({b['min']:.3f}, {b['max']:.3f})"
              f"{r['batches_per_epoch']:>10}{r['seconds_per_epoch']:>12.0f}{r['epochs']:>9}"
              f"{r['hours_per_seed']:>11.2f}   {r['shipped_runs_device']}")
    print(f"(total {time.perf_counter() - start:.0f} s)")

    if args.write:
        write_record(args.write, "training.py", argv, info, steps=args.steps,
                     repeats=args.repeats, models=results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
