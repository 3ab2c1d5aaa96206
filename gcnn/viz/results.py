"""Pictures of results: accuracy against the angle, confusions, 6s and 9s, predictions.

* :func:`plot_accuracy_vs_angle`: accuracy against the angle every test digit was turned by
  (one run per model, or several seeds drawn as their mean and range);
* :func:`plot_training_curves`: training loss and validation accuracy per epoch, from each run's
  ``history``, with the kept (best-validation) epoch marked;
* :func:`plot_confusion`, :func:`plot_six_nine`: a confusion matrix, and real 6s beside 9s
  turned by 180°;
* :func:`plot_digit_predictions`, :func:`probability_animation`: a digit at any angle and the
  probabilities each model gives it, as a still and as a kernel-free animation (the static twin
  of :func:`gcnn.widgets.digit_widget`).

Runs are ``metrics.json`` contents; models are passed as a dict ``{name: model}``.
"""

from __future__ import annotations

import math
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor, nn

from ..metrics import predict_proba
from ..tables import runs_of
from .style import (MODEL_COLORS, as_digit, check_models, clean_axes, freeze_layout, legible,
                    turn_digit)

__all__ = [
    "plot_accuracy_vs_angle",
    "plot_training_curves",
    "plot_confusion",
    "plot_six_nine",
    "plot_digit_predictions",
    "PredictionPanels",
    "probability_animation",
]


def _line_styles(metrics: Mapping[str, dict]) -> List[Tuple[str, bool]]:
    """``(colour, dashed)`` per line: a model's orbit average (runs from
    :func:`gcnn.tables.orbit_run`, labelled ``"NAME, averaged ..."``) right after ``NAME`` takes
    its colour, dashed; every other line the next colour."""
    out: List[Tuple[str, bool]] = []
    previous, i = None, -1
    for name, runs in metrics.items():
        twin = (previous is not None and name.startswith(previous + ", averaged")
                and "orbit_angles" in runs_of(name, runs)[0])
        i += 0 if twin else 1
        out.append((MODEL_COLORS[i % len(MODEL_COLORS)], twin))
        previous = name
    return out


def plot_accuracy_vs_angle(metrics: Mapping[str, dict], *, ax=None, chance: float = 0.1,
                           ylim: Tuple[float, float] = (0.0, 1.02)):
    """Accuracy against the angle all test digits were turned by, one line per model.

    ``metrics`` maps a name to a run's metrics (``metrics["accuracy_vs_angle"]`` holds
    ``angles`` and ``accuracy``), or to a sequence of runs (seeds of one model): then the line is
    their mean and a shaded band spans their lowest to highest accuracy at each angle. Dotted
    vertical lines mark the multiples of 90°, a grey line the chance level (when ``ylim``, the
    accuracy axis, reaches down to it: narrow it to tell good models apart). A model's orbit
    average labelled ``"NAME, averaged over ..."`` (:func:`gcnn.tables.with_orbit_average`) right
    after ``NAME`` is drawn dashed in its colour. Returns the figure.
    """
    import matplotlib.pyplot as plt

    if not metrics:
        raise ValueError("plot_accuracy_vs_angle needs at least one run")
    own = ax is None
    if own:
        fig, ax = plt.subplots(figsize=(7.5, 3.4))
    else:
        fig = ax.figure
    for k in range(5):
        ax.axvline(90 * k, color="0.6", lw=0.9, ls=":", zorder=1)
    low, high = ylim
    if not 0 <= low < high:
        raise ValueError(f"ylim must be (low, high) with 0 <= low < high, got {ylim!r}")
    if low <= chance:
        ax.axhline(chance, color="0.75", lw=0.9, zorder=1)
        ax.text(2, chance + 0.015 * (high - low), "chance", fontsize=8, color="0.5")
    n_digits = set()
    for (name, runs), (color, dashed) in zip(metrics.items(), _line_styles(metrics)):
        sweeps = [m["accuracy_vs_angle"] for m in runs_of(name, runs)]
        angles = sweeps[0]["angles"]
        if any(s["angles"] != angles for s in sweeps):
            raise ValueError(f"the runs of {name!r} were swept at different angles")
        n_digits.update(s.get("num_digits") for s in sweeps)
        acc = np.array([s["accuracy"] for s in sweeps])             # [runs, angles]
        label = name if len(sweeps) == 1 else f"{name} (mean of {len(sweeps)} seeds, range)"
        if len(sweeps) > 1:
            ax.fill_between(angles, acc.min(0), acc.max(0), color=color, alpha=0.25, lw=0,
                            zorder=2)
        ax.plot(angles, acc.mean(0), marker="o", ms=2.5, lw=1.6, color=color, label=label,
                zorder=3, ls="--" if dashed else "-", mfc="white" if dashed else color)
    ax.set_xlim(-5, 360)
    ax.set_ylim(low, high)
    ax.set_xticks(range(0, 361, 45))
    ax.set_xlabel("angle every test digit is turned by (degrees, clockwise)")
    digits = "/".join(f"{d:,}" for d in sorted(n_digits) if d)
    ax.set_ylabel("accuracy" + (f" ({digits} digits)" if digits else ""))
    # As many columns as fit above the axes (about 90 characters at this size), three at most.
    longest = max(len(label) for label in ax.get_legend_handles_labels()[1])
    ncol = max(1, min(len(metrics), 3, 90 // max(longest, 1)))
    if own:   # a long legend gets its own height, so that the axes keep theirs
        fig.set_size_inches(7.5, max(3.4, 2.9 + 0.2 * math.ceil(len(metrics) / ncol)))
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=ncol, fontsize=9,
              frameon=False)
    ax.grid(axis="y", color="0.92")
    legible(fig, layout=fig.tight_layout)
    return fig



def _history(name: str, run: Mapping) -> Dict[str, np.ndarray]:
    """Epochs, training losses and validation accuracies of one run, checked."""
    history = run.get("history") if isinstance(run, Mapping) else None
    if not history:
        raise ValueError(f"run {name!r} has no training history (expected a metrics.json with a "
                         f"non-empty 'history' list); pass gcnn.pretrained_metrics(name)")
    missing = {"epoch", "train_loss", "val_acc"} - set(history[0])
    if missing:
        raise ValueError(f"the history of {name!r} lacks {sorted(missing)}; every epoch needs "
                         f"'epoch', 'train_loss' and 'val_acc'")
    return {key: np.array([float(h[key]) for h in history])
            for key in ("epoch", "train_loss", "val_acc")}


def plot_training_curves(metrics: Mapping[str, dict], *, width: float = 7.4,
                         height: float = 3.3, ncol: Optional[int] = None):
    """Training loss and validation accuracy against the epoch, one line per run.

    ``metrics`` maps a name to a run's metrics (a ``metrics.json``, as
    :func:`gcnn.pretrained_metrics` returns): its ``history`` holds one entry per epoch with
    ``epoch``, ``train_loss`` (mean cross-entropy over the epoch's batches) and ``val_acc``
    (upright validation accuracy after the epoch). The epoch that training kept (``best_epoch``,
    the best validation accuracy; the highest ``val_acc`` if absent) is ringed on both panels.
    The loss axis is logarithmic. ``width`` and ``height`` are in inches (7.4 fills the book's
    text column at 100 dpi, with text of 9 pt or more); the legend sits below both panels in
    ``ncol`` columns (as many as fit by default; the figure grows by its rows). Returns the
    figure; ``fig.best_epochs`` maps each name to its ringed epoch.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    if not isinstance(metrics, Mapping) or not metrics:
        raise ValueError("plot_training_curves needs a non-empty dict {name: metrics}")
    curves = {name: _history(name, run) for name, run in metrics.items()}
    labels = [*curves, "kept epoch (best validation)"]
    if ncol is None:  # about 95 characters fit on one line of 9 pt text at 7.4 inches
        ncol = max(1, min(len(labels), int(width * 13) // (max(map(len, labels)) + 4)))
    legend_in = 0.2 * -(-len(labels) // ncol) + 0.1  # the legend's rows below the panels
    fig, (ax_loss, ax_val) = plt.subplots(1, 2, figsize=(width, height + legend_in))
    best_epochs = {}
    for i, (name, c) in enumerate(curves.items()):
        color = MODEL_COLORS[i % len(MODEL_COLORS)]
        best = metrics[name].get("best_epoch")
        best = int(c["epoch"][int(np.argmax(c["val_acc"]))]) if best is None else int(best)
        if best not in c["epoch"]:
            raise ValueError(f"best_epoch {best} of {name!r} is not in its history "
                             f"(epochs {c['epoch'].astype(int).tolist()})")
        best_epochs[name] = best
        k = int(np.nonzero(c["epoch"] == best)[0][0])
        for ax, key in ((ax_loss, "train_loss"), (ax_val, "val_acc")):
            ax.plot(c["epoch"], c[key], marker="o", ms=3, lw=1.5, color=color,
                    label=name if ax is ax_loss else None)
            ax.plot(c["epoch"][k], c[key][k], marker="o", ms=9, mfc="none", mew=1.5,
                    color=color)
    epochs = sorted({int(e) for c in curves.values() for e in c["epoch"]})
    for ax in (ax_loss, ax_val):
        ax.set_xlabel("epoch", fontsize=10)
        ax.set_xticks(epochs if len(epochs) <= 12 else epochs[:: len(epochs) // 10 + 1])
        ax.tick_params(labelsize=9)
        ax.grid(color="0.92")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    ax_loss.set_yscale("log")
    ax_loss.set_ylabel("training loss (log scale)", fontsize=10)
    ax_val.set_ylabel("validation accuracy (upright)", fontsize=10)
    handles = ax_loss.get_legend_handles_labels()[0]
    handles.append(Line2D([], [], marker="o", ms=9, mfc="none", mew=1.5, color="0.3", lw=0))
    fig.legend(handles, labels, loc="lower center", ncol=ncol, fontsize=9, frameon=False)
    legible(fig, layout=lambda: fig.tight_layout(rect=(0, legend_in / (height + legend_in), 1, 1)))
    fig.best_epochs = best_epochs
    return fig


def plot_confusion(cm: Tensor, title: Optional[str] = None, ax=None, highlight=(6, 9)):
    """Draw a confusion matrix as a heatmap, as percentages of each true class (each row).

    Off-diagonal cells are coloured on their own scale (the diagonal would dwarf them); the
    cells ``[6, 9]`` and ``[9, 6]`` (``highlight``) are framed. Returns the axes.
    """
    import matplotlib.pyplot as plt

    cm = cm.detach().double().cpu()
    n = cm.shape[0]
    rows = cm.sum(dim=1, keepdim=True).clamp_min(1)
    pct = 100 * cm / rows
    off = pct.clone()
    off.fill_diagonal_(0)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 4.0), constrained_layout=True)
    im = ax.imshow(off.numpy(), cmap="Reds", vmin=0, vmax=max(float(off.max()), 1.0))
    for t in range(n):
        for p in range(n):
            v = float(pct[t, p])
            if t == p or v >= 0.5:
                ax.text(p, t, f"{v:.0f}", ha="center", va="center", fontsize=7,
                        color="0.35" if t == p else ("white" if v > 0.6 * float(off.max())
                                                     else "black"))
    for a, b in [tuple(highlight), tuple(highlight)[::-1]]:
        ax.add_patch(plt.Rectangle((b - 0.5, a - 0.5), 1, 1, fill=False, lw=1.8, color="navy"))
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true digit")
    if title:
        ax.set_title(title, fontsize=10)
    ax.figure.colorbar(im, ax=ax, shrink=0.8, label="% of the true digit (off-diagonal)")
    legible(ax.figure)
    return ax


def plot_six_nine(x: Tensor, y: Tensor, count: int = 5, cell: float = 0.95):
    """Real 6s and 9s, each row next to the other digit turned by 180°.

    Rows: the first ``count`` 6s of ``(x, y)``; the first ``count`` 9s turned by 180°; the 9s
    upright; the 6s turned by 180°. Turning is exact (``torch.rot90`` twice). Returns the figure.
    """
    import matplotlib.pyplot as plt

    sixes = x[y == 6][:count]
    nines = x[y == 9][:count]
    if sixes.shape[0] < count or nines.shape[0] < count:
        raise ValueError(f"need {count} sixes and nines, found {sixes.shape[0]} and "
                         f"{nines.shape[0]}")
    turn = lambda im: torch.rot90(im, 2, dims=(-2, -1))  # noqa: E731  (180°: exact)
    rows = [(sixes, "6"), (turn(nines), "9 turned 180°"), (nines, "9"),
            (turn(sixes), "6 turned 180°")]
    fig, axes = plt.subplots(len(rows), count, figsize=(cell * count + 1.4, cell * len(rows)),
                             squeeze=False, constrained_layout=True)
    for r, (imgs, label) in enumerate(rows):
        for c in range(count):
            ax = axes[r, c]
            ax.imshow(imgs[c, 0].numpy(), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=9, rotation=0, ha="right", va="center")
    return legible(fig)



class PredictionPanels:
    """A digit panel and one bar chart of class probabilities per model, updated in place."""

    def __init__(self, names: Sequence[str], classes: int, panel: float, dpi):
        import matplotlib.pyplot as plt

        self.names = list(names)
        n = len(self.names)
        self.sep = "\n" if n > 2 else ": "  # more than two charts: the answer under the name
        self.fig, axes = plt.subplots(1, 1 + n, figsize=(panel * (1 + 1.35 * n), panel + 0.55),
                                      dpi=dpi, gridspec_kw={"width_ratios": [1] + [1.35] * n})
        self.ax_img, self.ax_bars = axes[0], list(axes[1:])
        clean_axes(self.ax_img)
        self.shown = self.ax_img.imshow(np.zeros((2, 2)), cmap="gray", vmin=0, vmax=1,
                                        interpolation="nearest")
        self.img_title = self.ax_img.set_title("a 0, 360°", fontsize=9)  # room for the text
        self.bars, self.titles = [], []
        for i, ax in enumerate(self.ax_bars):
            color = MODEL_COLORS[i % len(MODEL_COLORS)]
            self.bars.append(ax.bar(range(classes), np.zeros(classes), color=color, width=0.75))
            ax.set_ylim(0, 1)
            ax.set_xticks(range(classes))
            ax.tick_params(labelsize=7, length=2)
            ax.set_yticks([0, 0.5, 1])
            if i:
                ax.set_yticklabels([])
            self.titles.append(ax.set_title(f"{self.names[i]}{self.sep}0 (100 %)", fontsize=9))
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        self.ax_bars[0].set_ylabel("probability", fontsize=8)
        legible(self.fig, layout=lambda: freeze_layout(self.fig), bbox_inches=None)

    def update(self, image: Tensor, probs: Dict[str, Tensor], label: Optional[int], angle: float):
        self.shown.set_data(image.reshape(image.shape[-2:]).numpy())
        truth = "" if label is None else f"a {int(label)}, "
        self.img_title.set_text(f"{truth}{angle:.0f}°")
        for name, bars, title in zip(self.names, self.bars, self.titles):
            p = probs[name]
            pred = int(p.argmax())
            for c, bar in enumerate(bars):
                bar.set_height(float(p[c]))
                bar.set_alpha(1.0 if c == pred else 0.45)
            right = label is None or pred == int(label)
            title.set_text(f"{name}{self.sep}{pred} ({100 * float(p[pred]):.0f} %)")
            title.set_color("black" if right else "crimson")
        return [self.shown, self.img_title, *self.titles, *[b for bs in self.bars for b in bs]]


def plot_digit_predictions(models: Mapping[str, nn.Module], digit: Tensor, angle: float = 0.0,
                           label: Optional[int] = None, *, panel: float = 1.6, dpi=None):
    """A digit turned by ``angle`` and a bar chart of each model's class probabilities.

    The predicted class is drawn solid; a title in red marks a wrong prediction (when ``label``
    is given). Returns the figure; ``fig.probabilities`` maps each name to its ``[classes]``
    probabilities.
    """
    models = check_models(models)
    image = turn_digit(as_digit(digit), [angle])
    probs = {name: predict_proba(m, image)[0] for name, m in models.items()}
    classes = next(iter(probs.values())).shape[0]
    panels = PredictionPanels(list(models), classes, panel, dpi)
    panels.update(image[0, 0], probs, label, float(angle))
    panels.fig.probabilities = probs
    return panels.fig


def probability_animation(models: Mapping[str, nn.Module], digit: Tensor,
                          label: Optional[int] = None, angles: Optional[Sequence[float]] = None,
                          *, panel: float = 1.9, dpi: int = 60, interval: int = 250):
    """:func:`plot_digit_predictions` for every angle (default every 15°), as an animation.

    All frames are computed ahead (one batch per model), so the embedded animation needs no
    kernel. Returns a closed ``FuncAnimation`` with ``.angles``, ``.frame_images``
    (``[N, 1, H, W]``) and ``.probabilities`` (``{name: [N, classes]}``).
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    models = check_models(models)
    angles = [float(a) for a in (range(0, 360, 15) if angles is None else angles)]
    if not angles:
        raise ValueError("probability_animation needs at least one angle")
    images = turn_digit(as_digit(digit), angles)
    probs = {name: predict_proba(m, images) for name, m in models.items()}
    classes = next(iter(probs.values())).shape[1]
    panels = PredictionPanels(list(models), classes, panel, dpi)

    def draw(i: int):
        return panels.update(images[i, 0], {n: p[i] for n, p in probs.items()}, label, angles[i])

    draw(0)
    anim = FuncAnimation(panels.fig, draw, frames=len(angles), interval=interval, blit=False)
    plt.close(panels.fig)
    anim.angles = angles
    anim.frame_images = images
    anim.probabilities = probs
    return anim
