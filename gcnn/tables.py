"""Markdown tables of results: training runs, seeds, schedules.

Runs are the contents of a training run's ``metrics.json`` (or of a shipped model's
``gcnn/pretrained/NAME.json``). Show a table in a notebook with
``IPython.display.Markdown(table)``.

* :func:`metrics_table`: one row per run (accuracies, parameters, MACs, epochs, device);
* :func:`seed_table`, :func:`mean_sd`: several seeds of each model as mean ± standard deviation;
* :func:`epoch_seconds`: a run's typical training epoch (the median of its epochs);
* :func:`sweep_summary`: a run's accuracy-vs-angle sweep in four numbers;
* :func:`results_tables`: the README's two tables, runs of one recipe pooled over seeds;
* :func:`six_nine_table`: the 6/9 numbers of several runs, on upright and turned digits;
* :func:`schedule_table`: :func:`gcnn.builders.schedule_report` results (the static twin of
  :func:`gcnn.widgets.schedule_widget`).
"""

from __future__ import annotations

import html
from collections import defaultdict
from typing import List, Mapping, NamedTuple, Sequence

import numpy as np

from .builders import ScheduleReport, build_model_from_config
from .experiments import differences_besides_seed
from .metrics import count_macs

__all__ = [
    "macs_per_image",
    "metrics_table",
    "SweepSummary",
    "sweep_summary",
    "mean_sd",
    "epoch_seconds",
    "runs_of",
    "seed_table",
    "row_key",
    "results_tables",
    "sweep_table",
    "orbit_run",
    "with_orbit_average",
    "format_error",
    "schedule_table",
    "report_html",
    "six_nine_table",
]


def _pct(x) -> str:
    return "–" if x is None else f"{100 * float(x):.2f} %"


def macs_per_image(metrics: dict) -> int:
    """Multiply-accumulates of one 28x28 digit through a run's model.

    ``metrics`` is a run's ``metrics.json`` contents (or anything with its ``"model_config"``);
    the model is rebuilt untrained from that config and counted with
    :func:`gcnn.metrics.count_macs`, times its ``"forward_passes"`` (an orbit-averaged model's
    row, see :func:`results_tables`; 1 without).
    """
    model = build_model_from_config(metrics["model_config"]).eval()
    return sum(r.macs for r in count_macs(model, [1, 28, 28])) * metrics.get("forward_passes", 1)


def metrics_table(metrics: Mapping[str, dict]) -> str:
    """A markdown table of training runs, one row per ``{name: metrics.json contents}``.

    Each row is one run, so the model cell names its seed ("CNN, seed 0"): a table of several
    seeds of one model is :func:`seed_table`'s mean ± standard deviation, not this. Columns:
    upright test accuracy, fixed-rotated test accuracy, parameters, multiply-accumulates per
    image (:func:`macs_per_image`; "–" without a model config), best epoch (of how many), seconds
    per training epoch (:func:`epoch_seconds`), and the device (with its thread count on the CPU).
    """
    if not metrics:
        raise ValueError("metrics_table needs at least one run")
    head = ("model", "upright test", "rotated test (fixed)", "parameters", "MACs / image",
            "best epoch", "median s / epoch", "device")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join([":--"] + ["--:"] * 6 + [":--"]) + "|"]
    for name, m in metrics.items():
        missing = [k for k in ("test_acc", "rotated_test_acc", "num_parameters") if k not in m]
        if missing:
            raise KeyError(f"metrics of {name!r} lack {missing}: is the run finished?")
        epochs = m.get("config", {}).get("epochs")
        best = f"{m.get('best_epoch')} of {epochs}" if epochs else f"{m.get('best_epoch')}"
        sec = epoch_seconds(m) if m.get("history") or "seconds_per_epoch" in m else None
        device = str(m.get("device", "?"))
        if device.startswith("cpu") and m.get("threads"):
            device += f", {m['threads']} thread" + ("s" if m["threads"] != 1 else "")
        macs = f"{macs_per_image(m) / 1e6:.1f} M" if "model_config" in m else "–"
        seed = m.get("config", {}).get("seed")
        label = name if seed is None else f"{name}, seed {seed}"
        row = (label, _pct(m["test_acc"]), _pct(m["rotated_test_acc"]),
               f"{int(m['num_parameters']):,}", macs, best, "–" if sec is None else f"{sec:,.0f}",
               device)
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


class SweepSummary(NamedTuple):
    """A run's accuracy-vs-angle sweep in four numbers (fractions in ``[0, 1]``, angle in degrees).

    ``mean`` is the accuracy averaged over the whole circle, which a test set turned by uniform
    random angles estimates; ``upright - mean`` is what turning costs the model. A model reaches
    a high ``mean`` only if it is good upright *and* loses little when the digit turns.
    """

    upright: float
    mean: float
    lowest: float
    lowest_angle: float

    @property
    def turning_cost(self) -> float:
        return self.upright - self.mean


def sweep_summary(metrics: dict) -> SweepSummary:
    """Summarise ``metrics["accuracy_vs_angle"]`` (evenly spaced angles starting at 0°)."""
    sweep = metrics["accuracy_vs_angle"]
    angles, acc = list(sweep["angles"]), list(sweep["accuracy"])
    if not angles or len(angles) != len(acc) or angles[0] != 0.0:
        raise ValueError(f"a sweep needs one accuracy per angle, starting at 0°; got "
                         f"{len(angles)} angles (first {angles[:1]}) and {len(acc)} accuracies")
    lowest, at = min(zip(acc, angles))
    return SweepSummary(upright=acc[0], mean=sum(acc) / len(acc), lowest=lowest, lowest_angle=at)


def epoch_seconds(m: dict) -> float:
    """A run's seconds per training epoch: the median over its epochs (its ``history``), so
    that an epoch during which the run was paused or shared the machine with a book build does
    not count; metrics without a history give their recorded mean, ``seconds_per_epoch``."""
    history = m.get("history")
    if history:
        return float(np.median([h["seconds"] for h in history]))
    return float(m["seconds_per_epoch"])


def mean_sd(values: Sequence[float], scale: float = 100.0, digits: int = 1) -> str:
    """``"mean ± sd"`` of ``values`` times ``scale`` (sample standard deviation); one value alone.

    >>> mean_sd([0.981, 0.987, 0.984], digits=2)
    '98.40 ± 0.30'
    """
    values = [float(v) * scale for v in values]
    if not values:
        raise ValueError("mean_sd needs at least one value")
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    sd = float(np.std(values, ddof=1))
    return f"{float(np.mean(values)):.{digits}f} ± {sd:.{digits}f}"


def runs_of(name: str, runs) -> List[dict]:
    """One run (a dict) or several seeds (a sequence of dicts) of ``name`` as a non-empty list."""
    runs = [runs] if isinstance(runs, Mapping) else list(runs)
    if not runs:
        raise ValueError(f"no runs given for {name!r}")
    return runs


def seed_table(runs: Mapping[str, Sequence[dict]]) -> str:
    """A markdown table of several seeds per model: ``{name: [metrics of each seed]}``.

    Columns: the seeds used, upright and fixed-rotated test accuracy and the sweep's mean over
    the circle (each mean ± standard deviation over the seeds, in %), and seconds per training
    epoch (:func:`epoch_seconds`). Every run of a row must have the same training settings but
    for the seed.
    """
    if not runs:
        raise ValueError("seed_table needs at least one model")
    head = ("model", "seeds", "upright test (%)", "rotated test, fixed (%)",
            "mean over 360° (%)", "median s / epoch")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join([":--", ":--"] + ["--:"] * 4) + "|"]
    for name, ms in runs.items():
        ms = runs_of(name, ms)
        if any(differences_besides_seed(ms[0]["config"], m["config"]) for m in ms[1:]):
            raise ValueError(f"the runs of {name!r} differ in more than their seed")
        seeds = ", ".join(str(m["config"]["seed"]) for m in ms)
        row = (name, seeds, mean_sd([m["test_acc"] for m in ms], digits=2),
               mean_sd([m["rotated_test_acc"] for m in ms]),
               mean_sd([sweep_summary(m).mean for m in ms]),
               _seconds(ms))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)



def format_error(e: float) -> str:
    """A relative error as the tables show it: ``3e-08`` below 1e-4, else ``0.42``."""
    return f"{e:.0e}" if e < 1e-4 else f"{e:.2f}"


def schedule_table(reports: Sequence[ScheduleReport]) -> str:
    """A markdown table of :func:`schedule_report` results.

    Invalid schedules get a row marked ``no (1)``, ``no (2)``, ...; the reasons follow the table
    as a numbered list (long error messages would squeeze the columns). Show it in a notebook
    with ``IPython.display.Markdown(schedule_table(reports))``.
    """
    reasons = []
    lines = [
        "| schedule | valid | channels | parameters | MACs / image | error 90° | error 180° "
        "| error 270° | logits ignore |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in reports:
        if not r.valid:
            reasons.append(f"{len(reasons) + 1}. {r.schedule}: {r.message}")
            lines.append(f"| {r.schedule} | no ({len(reasons)}) | | | | | | | |")
            continue
        errs = " | ".join(format_error(e) for e in r.errors)
        macs = f"{r.macs / 1e6:.1f} M" if r.macs is not None else ""
        chans = ", ".join(str(c) for c in r.hidden_channels)
        lines.append(f"| {r.schedule} | yes | {chans} | {r.params:,} | {macs} | {errs} "
                     f"| {r.invariant_to} |")
    if reasons:
        lines += ["", "Invalid:", ""] + reasons
    return "\n".join(lines)


def _recipe_marks(m: dict) -> str:
    """``", steerable, batch norm, cosine lr"``: what departs from the post's recipe (else "")."""
    cfg, train = m["model_config"], m["config"]
    marks = ["steerable"] if cfg.get("method") == "steerable" else []
    norm = cfg.get("norm", "layer")
    marks += [] if norm == "layer" else ["no norm" if norm == "none" else f"{norm} norm"]
    schedule = train.get("lr_schedule", "constant")
    marks += [] if schedule == "constant" else [f"{schedule} lr"]
    return "".join(", " + mark for mark in marks)


def row_key(m: dict) -> str:
    """The README's name of a run's model: ``CNN (32 channels)``, ``GCNN C4 (16 channels)``.

    Departures from the post's recipe are named after the channels (``GCNN C8 (14 channels,
    steerable, batch norm, cosine lr)``); an orbit-averaged row ends with the angles.
    """
    cfg = m["model_config"]
    augmented = m["config"].get("augment", "none") == "rotate"
    extra = " + rotation augmentation" if augmented else ""
    if "orbit_angles" in m:
        extra += " averaged over " + ", ".join(f"{a:g}°" for a in m["orbit_angles"])
    marks = _recipe_marks(m)
    if cfg["model"] == "cnn":
        return f"CNN ({cfg['hidden_channels']} channels{marks}){extra}"
    group, channels = cfg["group"], cfg["hidden_channels"]
    if isinstance(group, (list, tuple)):           # one group per convolution
        group = ",".join(group)
    if isinstance(channels, (list, tuple)):
        channels = ",".join(map(str, channels))
    return f"GCNN {group} ({channels} channels{marks}){extra}"


def _seconds(ms) -> str:
    """A row's :func:`epoch_seconds`, mean ± sd over its seeds, one entry per device (in order)."""
    devices = sorted({str(m.get("device", "?")) for m in ms})
    return " / ".join(mean_sd([epoch_seconds(m) for m in ms if str(m.get("device", "?")) == d],
                              scale=1, digits=0) for d in devices)


def _where(ms) -> str:
    """The devices and thread counts of a row's runs: ``cpu, 2 thread(s)``, ``cpu, 1/2 ...``."""
    devices = "/".join(sorted({str(m["device"]) for m in ms}))
    threads = "/".join(sorted({str(m.get("threads", "?")) for m in ms}))
    return f"{devices}, {threads} thread(s)"


def _accuracy_table(rows) -> List[str]:
    lines = ["| model | epochs | seeds | parameters | MACs / image | upright test acc. (%) "
             "| rotated test acc. (%) | median s / epoch | device |",
             "|---|---|---|---|---|---|---|---|---|"]
    for (key, epochs), ms in rows.items():
        lines.append(
            f"| {key} | {epochs} | {len(ms)} | {ms[0]['num_parameters']:,} "
            f"| {macs_per_image(ms[0]) / 1e6:.1f} M "
            f"| {mean_sd([m['test_acc'] for m in ms], digits=2)} "
            f"| {mean_sd([m['rotated_test_acc'] for m in ms])} "
            f"| {_seconds(ms)} "
            f"| {_where(ms)} |"
        )
    return lines


def _sweep_table(rows) -> List[str]:
    lines = ["| model | epochs | digits in the sweep | acc. at 0° (%) | at 45° (%) | at 90° (%) "
             "| at 180° (%) | lowest (%), at angle | mean over 360° (%) | 0° minus mean (points) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for (key, epochs), ms in rows.items():
        sweeps = [m["accuracy_vs_angle"] for m in ms]
        at = {a: [s["accuracy"][s["angles"].index(a)] for s in sweeps]
              for a in (0.0, 45.0, 90.0, 180.0)}
        summaries = [sweep_summary(m) for m in ms]
        low_angles = ", ".join(f"{s.lowest_angle:g}°" for s in summaries)
        lines.append(
            f"| {key} | {epochs} | {sweeps[0]['num_digits']:,} "
            + "".join(f"| {mean_sd(v)} " for v in at.values())
            + f"| {mean_sd([s.lowest for s in summaries])} at {low_angles} "
            + f"| {mean_sd([s.mean for s in summaries])} "
            + f"| {mean_sd([s.turning_cost for s in summaries])} |"
        )
    return lines


def results_tables(runs: Sequence[dict]) -> str:
    """The README's two tables of finished runs (``metrics.json`` contents).

    Runs with the same model, group, recipe, augmentation and number of epochs are one row: mean
    ± standard deviation over their seeds; a run tested averaged over turns (``test_orbit``) adds
    a row for that, whose MACs count every forward pass. The first table gives the test
    accuracies (with parameters and multiply-accumulates per 28x28 image, counted on the rebuilt
    model), the second the accuracy-vs-angle sweep: accuracy at a few angles, the worst angle of
    each run, the mean over the whole circle and how far it falls below upright. Seconds per
    epoch are each run's median epoch (:func:`epoch_seconds`), mean ± sd over the seeds.
    """
    rows = defaultdict(list)
    for m in runs:
        rows[row_key(m), m["config"]["epochs"]].append(m)
    for m in runs:
        if "orbit_average" in m:
            orbit = orbit_run(m)
            rows[row_key(orbit), m["config"]["epochs"]].append(orbit)
    return "\n".join(_accuracy_table(rows) + [""] + _sweep_table(rows))


def sweep_table(curves: Mapping[str, Sequence[dict]]) -> str:
    """The sweep table of :func:`results_tables` for ``{label: [metrics of each seed]}``, one
    row per label in the given order (orbit-averaged runs as :func:`orbit_run` gives them)."""
    if not curves:
        raise ValueError("sweep_table needs at least one model")
    rows = {(label, runs_of(label, ms)[0]["config"]["epochs"]): runs_of(label, ms)
            for label, ms in curves.items()}
    return "\n".join(_sweep_table(rows))


def with_orbit_average(name: str, runs: Sequence[dict]) -> List[tuple]:
    """``[(label, angles, runs)]``: the runs of ``name`` (angles ``None``), and, when every one
    was tested averaged over turns, the same runs as the averaged model (:func:`orbit_run`),
    labelled ``"NAME, averaged over 0°, 45°"``."""
    runs = runs_of(name, runs)
    out = [(name, None, runs)]
    if all("orbit_average" in m for m in runs):
        angles = runs[0]["orbit_average"]["angles"]
        label = f"{name}, averaged over " + ", ".join(f"{a:g}°" for a in angles)
        out.append((label, angles, [orbit_run(m) for m in runs]))
    return out


def orbit_run(m: dict) -> dict:
    """A run's orbit-averaged results as a run of their own (for :func:`results_tables`)."""
    orbit = m["orbit_average"]
    return {**m, **orbit, "orbit_angles": orbit["angles"],
            "forward_passes": orbit["forward_passes"]}


def report_html(r: ScheduleReport) -> str:
    """One :func:`~gcnn.builders.schedule_report` as HTML (what the schedule widget shows)."""
    if not r.valid:
        return f"<b style='color:#b00'>not a valid schedule</b>: {_escape(r.message)}"
    errs = ", ".join(f"{a}°: {format_error(e)}" for a, e in zip((90, 180, 270), r.errors))
    macs = f", {r.macs / 1e6:.1f} M MACs per image" if r.macs is not None else ""
    return (f"<b style='color:#070'>valid</b>: {_escape(r.schedule)}; channels "
            f"{r.hidden_channels}, {r.params:,} parameters{macs}.<br>"
            f"Relative change of the logits (untrained, random weights) when the input turns "
            f"by {errs}.<br>The logits ignore: <b>{r.invariant_to}</b>.")


def _escape(text: str) -> str:
    return html.escape(text, quote=False)


def _with_each(values) -> str:
    each = ", ".join(f"{100 * v:.1f}" for v in values)
    return mean_sd(values) if len(values) == 1 else f"{mean_sd(values)} ({each})"


def six_nine_table(runs: Sequence[tuple], splits: Sequence[str] = ("upright", "rotated")) -> str:
    """The 6/9 table: accuracy and 6s read as 9 (9s as 6) per split, runs pooled over seeds.

    Args:
        runs: ``(metrics, stats)`` per run: its ``metrics.json`` contents and, per split,
            :func:`gcnn.metrics.six_nine_confusion` of its predictions there.
        splits: the splits, in column order.

    Runs of the same model and number of epochs are one row (:func:`row_key`): mean ± standard
    deviation over their seeds, each seed's value in brackets (in the order given).
    """
    rows = defaultdict(list)
    for metrics, stats in runs:
        rows[row_key(metrics), metrics["config"]["epochs"]].append(stats)
    header = "".join(f"| {s} acc. (%) | {s}: 6s as 9 (%) | {s}: 9s as 6 (%) " for s in splits)
    lines = [f"| model | epochs | seeds {header}|",
             "|---|---|---" + "|---" * 3 * len(splits) + "|"]
    for (key, epochs), stats in rows.items():
        cells = "".join(
            f"| {mean_sd([r[s]['accuracy'] for r in stats])} "
            f"| {_with_each([r[s]['six_as_nine'] for r in stats])} "
            f"| {_with_each([r[s]['nine_as_six'] for r in stats])} " for s in splits)
        lines.append(f"| {key} | {epochs} | {len(stats)} {cells}|")
    return "\n".join(lines)
