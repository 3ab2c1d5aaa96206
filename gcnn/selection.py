"""Issue #17's best model: its budget, the rule that chooses it, and what each model costs.

Everything here reads runs' ``metrics.json`` contents (``{name: [metrics of each seed]}``), as
:mod:`gcnn.tables` does, and looks at upright validation accuracy only when it chooses:

* :data:`BEST_BUDGET`, :func:`within_budget`: at most 16 times the post's G-CNN compute per digit
  and 2 hours of training per seed;
* :func:`val_acc_as_used`, :func:`choose_best`: the highest upright validation accuracy of a
  candidate as it is used (averaged over its ``test_orbit`` when it has one);
* :func:`candidate_table`: the candidates and the choice, validation numbers only;
* :func:`cost_table`, :func:`inference_timings`, :func:`timing_key`: parameters, MACs, recorded
  milliseconds per digit on CPU (``benchmarks/inference.py --write``) and training time;
* :func:`train_hours`, :func:`training_timings`: the training time of a seed on two CPU cores,
  as its runs recorded it or, for runs made on a GPU, as ``benchmarks/training.py --write``
  measured it.

``gcnn.pretrained("best")`` applies :func:`choose_best` to the shipped candidates
(:func:`gcnn.pretrained.best_name`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import List, Mapping, Optional, Sequence, Union

import numpy as np

from .tables import epoch_seconds, macs_per_image, mean_sd, runs_of, with_orbit_average

__all__ = [
    "BEST_BUDGET",
    "val_acc_as_used",
    "within_budget",
    "choose_best",
    "candidate_table",
    "inference_timings",
    "timing_key",
    "cost_table",
    "train_hours",
    "training_timings",
]

#: Where ``benchmarks/inference.py --write`` records its timings.
TIMINGS_FILE = Path(__file__).resolve().parent / "pretrained" / "inference.json"
#: Where ``benchmarks/training.py --write`` records its CPU training times.
TRAINING_FILE = TIMINGS_FILE.with_name("training.json")


def _read_record(path: Path, script: str) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist; record it with "
                                f"`python benchmarks/{script} --write`")
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def inference_timings(path: Union[str, Path, None] = None) -> dict:
    """The recorded milliseconds per digit of shipped models (``gcnn/pretrained/inference.json``).

    Written by ``python benchmarks/inference.py --write`` (see ``benchmarks/README.md``): the
    command, date, machine and thread count of the run, and under ``"models"`` one entry per
    model (:func:`timing_key`: ``"gcnn-c4"``, ``"gcnn-c4 averaged over 0, 45"``) with its
    ``"forward_passes"`` and the median, min and max milliseconds per digit at batch 1
    (``"batch_1"``) and at the large batch (``"batch_500"``). Books and tables show these
    recorded numbers rather than timing a page.
    """
    return _read_record(Path(path or TIMINGS_FILE), "inference.py")


def training_timings(path: Union[str, Path, None] = None) -> dict:
    """The recorded CPU training times of shipped models (``gcnn/pretrained/training.json``).

    Written by ``python benchmarks/training.py --write``: the command, date, machine and thread
    count of the run, and under ``"models"`` one entry per shipped name with the median, min and
    max seconds per batch (``"seconds_per_batch"``), ``"batches_per_epoch"``,
    ``"seconds_per_epoch"`` (their product), the run's ``"epochs"``, ``"hours_per_seed"`` and
    the device its shipped runs were made on.
    """
    return _read_record(Path(path or TRAINING_FILE), "training.py")


def timing_key(name: str, angles: Optional[Sequence[float]] = None) -> str:
    """The key of a model in a timing record: ``gcnn-c4``, ``gcnn-c4 averaged over 0, 45``."""
    if not angles:
        return name
    return f"{name} averaged over " + ", ".join(f"{float(a):g}" for a in angles)


def _minutes(seconds: float) -> str:
    minutes = round(seconds / 60)
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60:02d} min"


def _ms(entry: Optional[dict], batch: str) -> str:
    return "–" if entry is None else f"{entry[batch]['median']:.2f}"


def cost_table(runs: Mapping[str, Sequence[dict]], timings: Optional[dict] = None) -> str:
    """What each point costs: ``{name: [metrics of each seed]}`` as a markdown table.

    One row per model and, when its runs were tested averaged over turns (``test_orbit``), one
    more for that. Columns: seeds, upright and fixed-rotated test accuracy (mean ± sd over the
    seeds, %), parameters, forward passes per digit, multiply-accumulates per 28x28 digit (all
    passes), milliseconds per digit on CPU at batch 1 and at the record's large batch, and the
    training time of one seed on the CPU (:func:`train_hours`: as recorded, or marked
    "(CPU benchmark)" for runs made on a GPU; "–" where nobody measured it).

    ``timings`` is a record of ``benchmarks/inference.py --write``
    (:func:`inference_timings`); its keys are :func:`timing_key`. A model it
    does not hold shows "–" for its times; without ``timings`` the two columns are left out.
    """
    if not runs:
        raise ValueError("cost_table needs at least one model")
    big = f"batch_{timings['batch']}" if timings else None
    head = ["model", "seeds", "upright (%)", "turned (%)", "parameters", "passes", "MACs"]
    if timings:
        head += ["ms, batch 1", f"ms, batch {timings['batch']}"]
    head += ["training"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join([":--"] + ["--:"] * (len(head) - 1))
             + "|"]
    for name, ms in runs.items():
        variants = with_orbit_average(name, ms)
        train = _training(variants[0][2], name)
        for label, angles, rs in variants:
            passes = rs[0].get("forward_passes", 1)
            row = [label, ", ".join(str(m["config"]["seed"]) for m in rs),
                   mean_sd([m["test_acc"] for m in rs], digits=2),
                   mean_sd([m["rotated_test_acc"] for m in rs]),
                   f"{rs[0]['num_parameters']:,}", str(passes),
                   f"{macs_per_image(rs[0]) / 1e6:.1f} M"]
            if timings:
                entry = timings["models"].get(timing_key(name, angles))
                row += [_ms(entry, "batch_1"), _ms(entry, big)]
            row.append(train)
            lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


#: The best model's budget (issue #17), against the post's C4 G-CNN: at most 16 times its
#: multiply-accumulates per digit at inference (every pass counted), and at most 2 hours of
#: training per seed on the book's 2-core CPU.
BEST_BUDGET = {"macs_vs_post": 16.0, "hours_per_seed": 2.0}


def val_acc_as_used(m: dict) -> float:
    """A run's upright validation accuracy as its model is used: averaged over its
    ``test_orbit`` when it has one (``orbit_average.val_acc``), else the kept epoch's.

    Raises:
        KeyError: an orbit-averaged run tested before that accuracy was recorded (test it
            again: ``python -m gcnn.train ...its command... --resume``).
    """
    orbit = m.get("orbit_average")
    if orbit is None:
        return m["best_val_acc"]
    if "val_acc" not in orbit:
        raise KeyError(f"the run {m.get('command', '?')!r} has no upright validation accuracy "
                       f"for its orbit average; test it again with --resume")
    return orbit["val_acc"]


def _passes(m: dict) -> int:
    return m["orbit_average"]["forward_passes"] if "orbit_average" in m else 1


def _cpu_runs(ms: Sequence[dict]) -> List[dict]:
    return [m for m in ms if str(m.get("device", "cpu")).startswith("cpu")]


def train_hours(ms: Sequence[dict], name: Optional[str] = None,
                timings: Optional[dict] = None) -> float:
    """Hours of training per seed on the CPU, for the runs ``ms`` of the shipped model ``name``.

    When any of the runs was made on the CPU, those runs decide: epochs x the median seconds of
    an epoch, mean over them (the median, because an epoch during which the run was paused or
    shared the machine with a book build counts in the mean but says nothing about the
    recipe's cost). Runs all made on another device (a GPU): their epochs x the CPU seconds of
    an epoch that ``benchmarks/training.py --write`` measured for ``name`` (``timings``, else
    :func:`training_timings`), or infinity when there is no such measurement: a time nobody
    measured fits no budget.
    """
    cpu = _cpu_runs(ms)
    if cpu:
        return float(np.mean([len(m["history"]) * epoch_seconds(m) for m in cpu])) / 3600
    if timings is None:
        try:
            timings = training_timings()
        except FileNotFoundError:
            return math.inf
    entry = timings.get("models", {}).get(name)
    if entry is None:
        return math.inf
    return float(np.mean([len(m["history"]) for m in ms])) * entry["seconds_per_epoch"] / 3600


def _training(ms: Sequence[dict], name: str) -> str:
    """The training time of a seed as a table shows it, marked when a benchmark measured it."""
    hours = train_hours(ms, name)
    if math.isinf(hours):
        return "–"
    return _minutes(hours * 3600) + ("" if _cpu_runs(ms) else " (CPU benchmark)")


def within_budget(ms: Sequence[dict], post_macs: int, name: Optional[str] = None) -> bool:
    """Whether runs of one candidate (the shipped model ``name``) fit :data:`BEST_BUDGET`
    (``post_macs``: the post's MACs; training time: :func:`train_hours`)."""
    macs = macs_per_image(ms[0]) * _passes(ms[0])
    return (macs <= BEST_BUDGET["macs_vs_post"] * post_macs
            and train_hours(ms, name) <= BEST_BUDGET["hours_per_seed"])


def choose_best(runs: Mapping[str, Sequence[dict]], post_macs: int) -> str:
    """The candidate with the highest mean upright validation accuracy as used
    (:func:`val_acc_as_used`) among those :func:`within_budget`; no test set is looked at.

    Raises:
        ValueError: no candidates, or none within the budget.
    """
    fitting = {name: float(np.mean([val_acc_as_used(m) for m in runs_of(name, ms)]))
               for name, ms in runs.items() if within_budget(runs_of(name, ms), post_macs, name)}
    if not fitting:
        raise ValueError(f"no candidate within the budget {BEST_BUDGET} among {list(runs)}")
    return max(fitting, key=fitting.get)


def candidate_table(runs: Mapping[str, Sequence[dict]], post_macs: int) -> str:
    """Issue #17's candidates ``{name: [metrics of each seed]}`` and the one
    :func:`choose_best` picks, as a markdown table.

    Columns: seeds, forward passes, MACs per digit (all passes) against ``post_macs``, training
    time per seed, upright validation accuracy of one pass and as used (mean over the seeds),
    whether it fits :data:`BEST_BUDGET`, and the choice. Only validation numbers: the test
    results of the chosen model are shown elsewhere, after the choice.
    """
    if not runs:
        raise ValueError("candidate_table needs at least one candidate")
    chosen = choose_best(runs, post_macs)
    lines = ["| candidate | seeds | passes | MACs / digit | training / seed "
             "| upright val., one pass (%) | upright val., as used (%) | within budget | chosen |",
             "|:--|--:|--:|--:|--:|--:|--:|:-:|:-:|"]
    for name, ms in runs.items():
        ms = runs_of(name, ms)
        macs = macs_per_image(ms[0]) * _passes(ms[0])
        lines.append(
            f"| {name} | {', '.join(str(m['config']['seed']) for m in ms)} | {_passes(ms[0])} "
            f"| {macs / 1e6:.0f} M ({macs / post_macs:.1f}x) "
            f"| {_training(ms, name)} "
            f"| {mean_sd([m['best_val_acc'] for m in ms], digits=2)} "
            f"| {mean_sd([val_acc_as_used(m) for m in ms], digits=2)} "
            f"| {'yes' if within_budget(ms, post_macs, name) else 'no'} "
            f"| {'**chosen**' if name == chosen else ''} |")
    return "\n".join(lines)
