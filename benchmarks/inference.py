"""Milliseconds per digit of the shipped models on this CPU, measured side by side in one run.

    python benchmarks/inference.py                     # chapter 11's models, one thread
    python benchmarks/inference.py --models cnn gcnn-c4 --repeats 30
    python benchmarks/inference.py --write             # record them for chapter 11's cost table

For every model named (shipped names, :func:`gcnn.pretrained`), and for the same model averaged
over the input turns it was tested with (its ``test_orbit``, :class:`gcnn.OrbitAverage`), it
times inference under ``torch.no_grad`` in ``eval()`` mode two ways:

* **batch 1**: one digit per call, as a live page or a single request sees it;
* **batch N** (``--batch``, 500): the time of one call divided by N, as when a test set is scored.

Every timed round calls every candidate once, the order alternating from round to round, after
``--warmup`` untimed rounds; the numbers are medians over ``--repeats`` rounds (min and max shown),
so the models are compared under the same load. The digits are MNIST test digits when
``GCNN_DATA`` has them, else random pictures (the time does not depend on the pixels).

``--write [PATH]`` records the medians, the machine, the thread count and this command in
``gcnn/pretrained/inference.json``, which :func:`gcnn.selection.cost_table` reads: the book shows
recorded numbers, never a time taken while the page was built.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import gcnn  # noqa: E402
from gcnn.checkpoint import write_json_atomic  # noqa: E402
from gcnn.pretrained import (PRETRAINED, candidate_names, pretrained_metrics,  # noqa: E402
                             pretrained_path)
from gcnn.selection import timing_key  # noqa: E402
from layers import infer, interleaved  # noqa: E402

#: Chapter 11's models: the post's CNN and C4 G-CNN, then every shipped candidate for the best
#: model (the experiments of the set ``recipe``), so a candidate that ships is timed by default.
DEFAULT_MODELS = ["cnn", "gcnn-c4", *candidate_names()]
RECORD = ROOT / "gcnn" / "pretrained" / "inference.json"


def candidates(names: List[str]) -> Dict[str, tuple]:
    """name -> (model, forward passes): each model, and averaged over its ``test_orbit``."""
    out: Dict[str, tuple] = {}
    for name in names:
        model = gcnn.pretrained(name).eval()
        out[timing_key(name, None)] = (model, 1)
        orbit = pretrained_metrics(name)["config"].get("test_orbit")
        if orbit:
            wrapped = gcnn.OrbitAverage(model, orbit).eval()
            out[timing_key(name, wrapped.angles)] = (wrapped, wrapped.cost)
    return out


def digits(n: int) -> torch.Tensor:
    """``n`` MNIST test digits ``[n, 1, 28, 28]``, or random pictures without the data."""
    try:
        x, _ = gcnn.data.test_set(download=False)
        return x[:n].clone()
    except (FileNotFoundError, RuntimeError, OSError):
        print("  (MNIST not found: timing random pictures)")
        return torch.rand(n, 1, 28, 28, generator=torch.Generator().manual_seed(0))


def summary(ts: List[float], per: int) -> dict:
    ms = sorted(1e3 * t / per for t in ts)
    return {"median": statistics.median(ms), "min": ms[0], "max": ms[-1]}


def measure(names: List[str], batch: int, repeats: int, warmup: int, calls: int) -> dict:
    models = candidates(names)
    x = digits(batch)
    one = x[:1]
    results: Dict[str, dict] = {}
    for label, inputs, per in (("batch_1", one, calls), (f"batch_{batch}", x, batch)):
        fns = {key: infer(model, inputs, calls if inputs is one else 1)
               for key, (model, _) in models.items()}
        times = interleaved(fns, repeats, warmup, torch.device("cpu"), desc=label)
        for key, (_, passes) in models.items():
            results.setdefault(key, {"forward_passes": passes})[label] = summary(times[key], per)
    return results


def cpu_name() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux), else what :mod:`platform` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return {"python": platform.python_version(), "torch": torch.__version__,
            "platform": f"{platform.machine()} {platform.system()}",
            "cpu": cpu_name(), "cores_visible": os.cpu_count(),
            "threads": torch.get_num_threads(),
            "load_average_at_start": None if load is None else round(load, 2)}


def print_machine(title: str, info: dict) -> None:
    """The benchmark's title and the machine it runs on (:func:`machine`)."""
    print(title)
    print(f"  python {info['python']}, torch {info['torch']}, {info['platform']}, "
          f"{info['cores_visible']} cores visible, {info['threads']} thread(s), load average "
          f"{info['load_average_at_start']}")


def write_record(path: str, script: str, argv: Optional[List[str]], info: dict,
                 **fields) -> None:
    """Record a benchmark's results at ``path``: its command, the date, the machine, ``fields``."""
    record = {"command": f"python benchmarks/{script} " + " ".join(argv or sys.argv[1:]),
              "date": datetime.date.today().isoformat(), "machine": info, **fields}
    write_json_atomic(record, Path(path))
    print(f"recorded in {path}")


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--models", nargs="+", default=DEFAULT_MODELS,
                   help=f"shipped model names (default: {' '.join(DEFAULT_MODELS)})")
    p.add_argument("--batch", type=int, default=500, help="the large batch (default 500)")
    p.add_argument("--repeats", type=int, default=15, help="timed rounds (default 15)")
    p.add_argument("--warmup", type=int, default=2, help="untimed rounds first (default 2)")
    p.add_argument("--calls", type=int, default=10,
                   help="batch-1 calls per timed round (default 10)")
    p.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (default 1)")
    p.add_argument("--write", nargs="?", const=str(RECORD), default=None, metavar="PATH",
                   help=f"record the results (default path: {RECORD.relative_to(ROOT)})")
    args = p.parse_args(argv)
    if min(args.batch, args.repeats, args.calls, args.threads) < 1 or args.warmup < 0:
        p.error("--batch, --repeats, --calls and --threads must be >= 1, --warmup >= 0")
    unknown = [n for n in args.models if n not in PRETRAINED]
    if unknown:
        p.error(f"unknown model(s) {unknown}; shipped: {sorted(PRETRAINED)}")
    for name in args.models:
        pretrained_path(name)                  # a clear error now if a file is missing
    torch.set_num_threads(args.threads)

    info = machine()
    print_machine("gcnn inference benchmark: milliseconds per digit, CPU", info)
    print(f"  {args.warmup} warm-up + {args.repeats} timed rounds, interleaved")
    start = time.perf_counter()
    results = measure(args.models, args.batch, args.repeats, args.warmup, args.calls)

    big = f"batch_{args.batch}"
    width = max(len(k) for k in results) + 2
    print(f"\n{'model':<{width}}passes   batch 1: ms / digit (min, max)   "
          f"batch {args.batch}: ms / digit (min, max)")
    for key, r in results.items():
        a, b = r["batch_1"], r[big]
        print(f"{key:<{width}}{r['forward_passes']:>6}   {a['median']:8.2f} ({a['min']:.2f}, "
              f"{a['max']:.2f})          {b['median']:8.3f} ({b['min']:.3f}, {b['max']:.3f})")
    print(f"(total {time.perf_counter() - start:.0f} s)")

    if args.write:
        write_record(args.write, "inference.py", argv, info, batch=args.batch,
                     repeats=args.repeats, models=results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
