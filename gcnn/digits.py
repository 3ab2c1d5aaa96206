"""Pictures, tables and a widget for the rotated-digits chapter (chapter 7 of the book).

Everything here *reads* trained (or untrained) models; nothing is needed to train them.

* :func:`predict_proba`: class probabilities of a model for a batch of digits;
* :func:`plot_digit_grid`: digits with their labels and angles;
* :func:`metrics_table`: the results of training runs (their ``metrics.json``) as a table;
* :func:`seed_table`, :func:`mean_sd`: several seeds of each model as mean ± standard deviation;
* :func:`plot_accuracy_vs_angle`: accuracy against the angle every test digit was turned by
  (one run per model, or several seeds drawn as their mean and range);
* :func:`rotated_features`, :func:`plot_feature_maps`, :func:`feature_map_animation`: what one
  layer of each network makes of a digit as it turns;
* :func:`plot_digit_predictions`, :func:`probability_animation`, :func:`digit_widget`: a digit
  at any angle and the probabilities each model gives it, as a still, a kernel-free animation
  (embed it with :func:`gcnn.widgets.animation_html`) and a live ipywidgets panel.

Digits are ``[1, H, W]`` (or ``[1, 1, H, W]``) float tensors in ``[0, 1]``, models take
``[B, 1, H, W]`` and return ``[B, 10]`` logits. Angles are in degrees, clockwise on screen, and
digits are turned with :func:`gcnn.data.rotate` (bilinear; exact up to round-off for multiples
of 90°), the same rotation that made the test sets. Models are passed as a dict
``{name: model}``, shown in its order. The plotting functions return a
:class:`matplotlib.figure.Figure`; animations are closed ``FuncAnimation`` objects.
"""

from __future__ import annotations

import io
import math
from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from .data import rotate
from .train import differences_besides_seed

__all__ = [
    "predict_proba",
    "plot_digit_grid",
    "macs_per_image",
    "metrics_table",
    "mean_sd",
    "seed_table",
    "SweepSummary",
    "sweep_summary",
    "plot_accuracy_vs_angle",
    "FeatureFrames",
    "rotated_features",
    "plot_feature_maps",
    "feature_map_animation",
    "plot_digit_predictions",
    "probability_animation",
    "digit_widget",
]

FEATURE_CMAP = "viridis"
#: Colours of the models in the line plots and bar charts, in the order they are given.
MODEL_COLORS = ("tab:orange", "tab:blue", "tab:green", "tab:purple", "tab:red", "tab:brown",
                "tab:pink", "tab:olive", "tab:cyan", "tab:gray")


# -- small helpers ---------------------------------------------------------------------------------
def _as_digit(digit: Tensor) -> Tensor:
    """``[1, H, W]``, ``[H, W]`` or ``[1, 1, H, W]`` -> ``[1, 1, H, W]`` float32 on the CPU."""
    digit = torch.as_tensor(digit).detach().float().cpu()
    if digit.dim() == 2:
        digit = digit[None]
    if digit.dim() == 3:
        digit = digit[None]
    if digit.dim() != 4 or digit.shape[:2] != (1, 1):
        raise ValueError(
            f"expected one digit [1, H, W], [H, W] or [1, 1, H, W], got shape {list(digit.shape)}"
        )
    return digit


def _turn(digit: Tensor, angles: Sequence[float]) -> Tensor:
    """One digit ``[1, 1, H, W]`` turned by each angle: ``[N, 1, H, W]`` (float64 rotation)."""
    angles_t = torch.tensor([float(a) for a in angles], dtype=torch.float64)
    return rotate(digit.double().expand(len(angles_t), -1, -1, -1), angles_t).float()


def _check_models(models: Mapping[str, nn.Module]) -> Dict[str, nn.Module]:
    if not isinstance(models, Mapping) or not models:
        raise ValueError("models must be a non-empty dict {name: model}")
    return dict(models)


def _device(model: nn.Module) -> torch.device:
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def predict_proba(model: nn.Module, images: Tensor, batch_size: int = 500) -> Tensor:
    """Softmax probabilities ``[B, classes]`` (on the CPU) for images ``[B, 1, H, W]``.

    Runs in eval mode without gradients, on the model's device, and restores the model's
    train/eval mode afterwards.
    """
    if images.dim() != 4:
        raise ValueError(f"predict_proba expects images [B, 1, H, W], got {list(images.shape)}")
    was_training = model.training
    model.eval()
    try:
        dev = _device(model)
        out = [torch.softmax(model(images[i : i + batch_size].to(dev)).float(), dim=1).cpu()
               for i in range(0, images.shape[0], batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out)


def _clean(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def _freeze_layout(fig) -> None:
    """Lay out ``fig`` once with constrained layout, then keep the axes where they are.

    Constrained layout leaves room for titles above axes with a fixed aspect (``imshow``), which
    ``tight_layout`` misjudges; freezing keeps animation frames from jiggling as texts change.
    """
    fig.set_layout_engine("constrained", w_pad=0.04, h_pad=0.1, wspace=0.02, hspace=0.02)
    fig.canvas.draw()
    fig.set_layout_engine("none")


# -- the data --------------------------------------------------------------------------------------
def plot_digit_grid(images: Tensor, labels: Tensor, angles: Optional[Sequence[float]] = None, *,
                    ncols: int = 8, size: float = 1.1):
    """Digits ``[N, 1, H, W]`` in rows of ``ncols``, titled with their label (and angle)."""
    import matplotlib.pyplot as plt

    n = images.shape[0]
    if n == 0 or labels.shape[0] != n or (angles is not None and len(angles) != n):
        raise ValueError(f"need as many labels (and angles) as images: {n} images, "
                         f"{labels.shape[0]} labels, {None if angles is None else len(angles)} "
                         f"angles")
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, (size + 0.25) * nrows),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= n:
            continue
        ax.imshow(images[i, 0].detach().cpu().numpy(), cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
        title = f"{int(labels[i])}"
        if angles is not None:
            title += f" · {float(angles[i]):.0f}°"
        ax.set_title(title, fontsize=9)
    fig.tight_layout(pad=0.3)
    return fig


# -- results ---------------------------------------------------------------------------------------
def _pct(x) -> str:
    return "–" if x is None else f"{100 * float(x):.2f} %"


def macs_per_image(metrics: dict) -> int:
    """Multiply-accumulates of one 28x28 digit through a run's model.

    ``metrics`` is a run's ``metrics.json`` contents (or anything with its ``"model_config"``);
    the model is rebuilt untrained from that config and counted with
    :func:`gcnn.viz_conv.count_macs`.
    """
    from .train import build_model_from_config
    from .viz_conv import count_macs

    model = build_model_from_config(metrics["model_config"]).eval()
    return sum(r.macs for r in count_macs(model, [1, 28, 28]))


def metrics_table(metrics: Mapping[str, dict]) -> str:
    """A markdown table of training runs, one row per ``{name: metrics.json contents}``.

    Columns: upright test accuracy, fixed-rotated test accuracy, parameters, multiply-accumulates
    per image (:func:`macs_per_image`; "–" without a model config), best epoch (of how many),
    seconds per training epoch, and the device (with its thread count on the CPU).
    """
    if not metrics:
        raise ValueError("metrics_table needs at least one run")
    head = ("model", "upright test", "rotated test (fixed)", "parameters", "MACs / image",
            "best epoch", "seconds / epoch", "device")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join([":--"] + ["--:"] * 6 + [":--"]) + "|"]
    for name, m in metrics.items():
        missing = [k for k in ("test_acc", "rotated_test_acc", "num_parameters") if k not in m]
        if missing:
            raise KeyError(f"metrics of {name!r} lack {missing}: is the run finished?")
        epochs = m.get("config", {}).get("epochs")
        best = f"{m.get('best_epoch')} of {epochs}" if epochs else f"{m.get('best_epoch')}"
        sec = m.get("seconds_per_epoch")
        device = str(m.get("device", "?"))
        if device.startswith("cpu") and m.get("threads"):
            device += f", {m['threads']} thread" + ("s" if m["threads"] != 1 else "")
        macs = f"{macs_per_image(m) / 1e6:.1f} M" if "model_config" in m else "–"
        row = (name, _pct(m["test_acc"]), _pct(m["rotated_test_acc"]),
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


def _runs_of(name: str, runs) -> List[dict]:
    """One run (a dict) or several seeds (a sequence of dicts) as a non-empty list."""
    runs = [runs] if isinstance(runs, Mapping) else list(runs)
    if not runs:
        raise ValueError(f"no runs given for {name!r}")
    return runs


def seed_table(runs: Mapping[str, Sequence[dict]]) -> str:
    """A markdown table of several seeds per model: ``{name: [metrics of each seed]}``.

    Columns: the seeds used, upright and fixed-rotated test accuracy and the sweep's mean over
    the circle (each mean ± standard deviation over the seeds, in %), and seconds per training
    epoch. Every run of a row must have the same training settings but for the seed.
    """
    if not runs:
        raise ValueError("seed_table needs at least one model")
    head = ("model", "seeds", "upright test (%)", "rotated test, fixed (%)",
            "mean over 360° (%)", "seconds / epoch")
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join([":--", ":--"] + ["--:"] * 4) + "|"]
    for name, ms in runs.items():
        ms = _runs_of(name, ms)
        if any(differences_besides_seed(ms[0]["config"], m["config"]) for m in ms[1:]):
            raise ValueError(f"the runs of {name!r} differ in more than their seed")
        seeds = ", ".join(str(m["config"]["seed"]) for m in ms)
        row = (name, seeds, mean_sd([m["test_acc"] for m in ms], digits=2),
               mean_sd([m["rotated_test_acc"] for m in ms]),
               mean_sd([sweep_summary(m).mean for m in ms]),
               mean_sd([m["seconds_per_epoch"] for m in ms], scale=1, digits=0))
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)


def plot_accuracy_vs_angle(metrics: Mapping[str, dict], *, ax=None, chance: float = 0.1):
    """Accuracy against the angle all test digits were turned by, one line per model.

    ``metrics`` maps a name to a run's metrics (``metrics["accuracy_vs_angle"]`` holds
    ``angles`` and ``accuracy``), or to a sequence of runs (seeds of one model): then the line is
    their mean and a shaded band spans their lowest to highest accuracy at each angle. Dotted
    vertical lines mark the multiples of 90°, a grey line the chance level. Returns the figure.
    """
    import matplotlib.pyplot as plt

    if not metrics:
        raise ValueError("plot_accuracy_vs_angle needs at least one run")
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 3.4))
    else:
        fig = ax.figure
    for k in range(5):
        ax.axvline(90 * k, color="0.6", lw=0.9, ls=":", zorder=1)
    ax.axhline(chance, color="0.75", lw=0.9, zorder=1)
    ax.text(2, chance + 0.015, "chance", fontsize=8, color="0.5")
    n_digits = set()
    for i, (name, runs) in enumerate(metrics.items()):
        sweeps = [m["accuracy_vs_angle"] for m in _runs_of(name, runs)]
        angles = sweeps[0]["angles"]
        if any(s["angles"] != angles for s in sweeps):
            raise ValueError(f"the runs of {name!r} were swept at different angles")
        n_digits.update(s.get("num_digits") for s in sweeps)
        acc = np.array([s["accuracy"] for s in sweeps])             # [runs, angles]
        color = MODEL_COLORS[i % len(MODEL_COLORS)]
        label = name if len(sweeps) == 1 else f"{name} (mean of {len(sweeps)} seeds, range)"
        if len(sweeps) > 1:
            ax.fill_between(angles, acc.min(0), acc.max(0), color=color, alpha=0.25, lw=0,
                            zorder=2)
        ax.plot(angles, acc.mean(0), marker="o", ms=2.5, lw=1.6, color=color, label=label,
                zorder=3)
    ax.set_xlim(-5, 360)
    ax.set_ylim(0, 1.02)
    ax.set_xticks(range(0, 361, 45))
    ax.set_xlabel("angle every test digit is turned by (degrees, clockwise)")
    digits = "/".join(f"{d:,}" for d in sorted(n_digits) if d)
    ax.set_ylabel("accuracy" + (f" ({digits} digits)" if digits else ""))
    # As many columns as fit above the axes (about 90 characters at this size), three at most.
    longest = max(len(label) for label in ax.get_legend_handles_labels()[1])
    ncol = max(1, min(len(metrics), 3, 90 // max(longest, 1)))
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=ncol, fontsize=9,
              frameon=False)
    ax.grid(axis="y", color="0.92")
    fig.tight_layout()
    return fig


# -- feature maps ----------------------------------------------------------------------------------
class FeatureFrames(NamedTuple):
    """One layer's maps of one channel for a digit at several angles.

    ``maps`` is ``[N, K, h, w]``: ``K = |G|`` maps (one per group element) for a G-CNN, ``K = 1``
    for a CNN; ``images`` the ``[N, 1, H, W]`` turned digits.
    """

    angles: List[float]
    images: Tensor
    maps: Tensor
    channel: int
    layer: int


@torch.no_grad()
def rotated_features(model: nn.Module, digit: Tensor, angles: Sequence[float], *, layer: int = 1,
                     channel: Optional[int] = None) -> FeatureFrames:
    """``model.features(turned digit)[layer]`` of one channel, for each angle.

    Args:
        model: a :class:`~gcnn.models.GroupEquivariantCNN` (features ``[B, C, |G|, h, w]``) or a
            :class:`~gcnn.models.CNN` (features ``[B, C, h, w]``).
        digit: ``[1, H, W]`` (or ``[H, W]``, ``[1, 1, H, W]``).
        angles: degrees, clockwise.
        layer: which convolution's output (0 is the first; negative counts from the end).
        channel: which channel; ``None`` picks the one whose maps vary most (largest standard
            deviation) at the first angle (after ReLUs some channels are all zero).
    """
    angles = [float(a) for a in angles]
    if not angles:
        raise ValueError("rotated_features needs at least one angle")
    images = _turn(_as_digit(digit), angles)
    was_training = model.training
    model.eval()
    try:
        feats = model.features(images.to(_device(model)))
    finally:
        model.train(was_training)
    if not -len(feats) <= layer < len(feats):
        raise IndexError(f"layer {layer} out of range: the model has {len(feats)} convolutions")
    f = feats[layer].float().cpu()
    if f.dim() == 4:  # a CNN: [N, C, h, w] -> [N, C, 1, h, w]
        f = f[:, :, None]
    if f.dim() != 5:
        raise ValueError(f"features must be [B, C, h, w] or [B, C, |G|, h, w], got {list(f.shape)}")
    if channel is None:
        channel = int(f[0].flatten(1).std(dim=1).argmax())
    if not 0 <= channel < f.shape[1]:
        raise IndexError(f"channel {channel} out of range: the layer has {f.shape[1]} channels")
    return FeatureFrames(angles, images, f[:, channel], int(channel), int(layer))


def _group_names(k: int) -> List[str]:
    if k == 1:
        return [""]
    if k == 4:
        return ["e", "r1", "r2", "r3"]
    return [f"g{i}" for i in range(k)]


def _feature_layout(frames: Dict[str, FeatureFrames], nrows: int, panel: float, dpi):
    """A figure with one digit column and, per model, one column per map; returns fig, axes."""
    import matplotlib.pyplot as plt

    ncols = 1 + sum(f.maps.shape[1] for f in frames.values())
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel * ncols + 0.2, panel * nrows + 0.45),
                             dpi=dpi, squeeze=False)
    for ax in axes.flat:
        _clean(ax)
    col = 1
    for name, f in frames.items():
        k = f.maps.shape[1]
        for j, g in enumerate(_group_names(k)):
            if k == 1:
                axes[0, col].set_title(f"{name}\nchannel {f.channel}", fontsize=8)
            else:  # the model once, then the group element above each map
                top = f"{name}, channel {f.channel}" if j == 0 else ""
                axes[0, col + j].set_title(f"{top}\n{g}", fontsize=8, loc="left")
        col += k
    return fig, axes


def _draw_feature_row(axes_row, frames: Dict[str, FeatureFrames], i: int, limits: Dict[str, float]):
    """Fill one row of axes with frame ``i``; returns the images drawn."""
    first = next(iter(frames.values()))
    shown = [axes_row[0].imshow(first.images[i, 0].numpy(), cmap="gray", vmin=0, vmax=1,
                                interpolation="nearest")]
    col = 1
    for name, f in frames.items():
        for j in range(f.maps.shape[1]):
            shown.append(axes_row[col + j].imshow(f.maps[i, j].numpy(), cmap=FEATURE_CMAP,
                                                  vmin=0, vmax=limits[name],
                                                  interpolation="nearest"))
        col += f.maps.shape[1]
    return shown


def _frames_for(models, digit, angles, layer, channels) -> Dict[str, FeatureFrames]:
    models = _check_models(models)
    channels = dict(channels or {})
    return {name: rotated_features(m, digit, angles, layer=layer, channel=channels.get(name))
            for name, m in models.items()}


def _limits(frames: Dict[str, FeatureFrames]) -> Dict[str, float]:
    return {name: float(f.maps.max()) or 1.0 for name, f in frames.items()}


def plot_feature_maps(models: Mapping[str, nn.Module], digit: Tensor,
                      angles: Sequence[float] = (0, 90, 180, 270), *, layer: int = 1,
                      channels: Optional[Mapping[str, int]] = None, panel: float = 1.15):
    """One row per angle: the turned digit, then each model's maps of one channel of ``layer``.

    A G-CNN shows ``|G|`` maps per channel (one per group element, in ``group.elements()``
    order), a CNN one. Each model's maps share one colour scale (0 to their maximum over all
    rows). ``channels`` may fix the channel per model name (default: the busiest at the first
    angle). Returns the figure; ``fig.frames`` holds the :class:`FeatureFrames`.
    """
    frames = _frames_for(models, digit, angles, layer, channels)
    fig, axes = _feature_layout(frames, len(frames[next(iter(frames))].angles), panel, None)
    limits = _limits(frames)
    for i, a in enumerate(next(iter(frames.values())).angles):
        _draw_feature_row(axes[i], frames, i, limits)
        axes[i, 0].set_ylabel(f"{a:.0f}°", fontsize=9, rotation=0, ha="right", va="center")
    _freeze_layout(fig)
    fig.frames = frames
    return fig


def feature_map_animation(models: Mapping[str, nn.Module], digit: Tensor,
                          angles: Optional[Sequence[float]] = None, *, layer: int = 1,
                          channels: Optional[Mapping[str, int]] = None, panel: float = 1.1,
                          dpi: int = 60, interval: int = 250):
    """The row of :func:`plot_feature_maps` as an animation over ``angles`` (default every 15°).

    Returns a closed matplotlib ``FuncAnimation`` with ``.angles`` and ``.frames`` (the
    :class:`FeatureFrames` per model); embed it with :func:`gcnn.widgets.animation_html`.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    angles = [float(a) for a in (range(0, 360, 15) if angles is None else angles)]
    frames = _frames_for(models, digit, angles, layer, channels)
    fig, axes = _feature_layout(frames, 1, panel, dpi)
    limits = _limits(frames)
    shown = _draw_feature_row(axes[0], frames, 0, limits)
    label = axes[0, 0].set_title("360° clockwise", fontsize=9)  # room for the text
    _freeze_layout(fig)

    def draw(i: int):
        first = next(iter(frames.values()))
        shown[0].set_data(first.images[i, 0].numpy())
        k = 1
        for f in frames.values():
            for j in range(f.maps.shape[1]):
                shown[k].set_data(f.maps[i, j].numpy())
                k += 1
        label.set_text(f"{angles[i]:.0f}° clockwise")
        return shown

    draw(0)
    anim = FuncAnimation(fig, draw, frames=len(angles), interval=interval, blit=False)
    plt.close(fig)
    anim.angles = angles
    anim.frames = frames
    return anim


# -- predictions -----------------------------------------------------------------------------------
class _PredictionPanels:
    """A digit panel and one bar chart of class probabilities per model, updated in place."""

    def __init__(self, names: Sequence[str], classes: int, panel: float, dpi):
        import matplotlib.pyplot as plt

        self.names = list(names)
        n = len(self.names)
        self.fig, axes = plt.subplots(1, 1 + n, figsize=(panel * (1 + 1.35 * n), panel + 0.55),
                                      dpi=dpi, gridspec_kw={"width_ratios": [1] + [1.35] * n})
        self.ax_img, self.ax_bars = axes[0], list(axes[1:])
        _clean(self.ax_img)
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
            self.titles.append(ax.set_title(f"{self.names[i]}: 0 (100 %)", fontsize=9))
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        self.ax_bars[0].set_ylabel("probability", fontsize=8)
        _freeze_layout(self.fig)

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
            title.set_text(f"{name}: {pred} ({100 * float(p[pred]):.0f} %)")
            title.set_color("black" if right else "crimson")
        return [self.shown, self.img_title, *self.titles, *[b for bs in self.bars for b in bs]]


def plot_digit_predictions(models: Mapping[str, nn.Module], digit: Tensor, angle: float = 0.0,
                           label: Optional[int] = None, *, panel: float = 1.6, dpi=None):
    """A digit turned by ``angle`` and a bar chart of each model's class probabilities.

    The predicted class is drawn solid; a title in red marks a wrong prediction (when ``label``
    is given). Returns the figure; ``fig.probabilities`` maps each name to its ``[classes]``
    probabilities.
    """
    models = _check_models(models)
    image = _turn(_as_digit(digit), [angle])
    probs = {name: predict_proba(m, image)[0] for name, m in models.items()}
    classes = next(iter(probs.values())).shape[0]
    panels = _PredictionPanels(list(models), classes, panel, dpi)
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

    models = _check_models(models)
    angles = [float(a) for a in (range(0, 360, 15) if angles is None else angles)]
    if not angles:
        raise ValueError("probability_animation needs at least one angle")
    images = _turn(_as_digit(digit), angles)
    probs = {name: predict_proba(m, images) for name, m in models.items()}
    classes = next(iter(probs.values())).shape[1]
    panels = _PredictionPanels(list(models), classes, panel, dpi)

    def draw(i: int):
        return panels.update(images[i, 0], {n: p[i] for n, p in probs.items()}, label, angles[i])

    draw(0)
    anim = FuncAnimation(panels.fig, draw, frames=len(angles), interval=interval, blit=False)
    plt.close(panels.fig)
    anim.angles = angles
    anim.frame_images = images
    anim.probabilities = probs
    return anim


def _figure_png(fig, dpi: int = 80) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def digit_widget(models: Mapping[str, nn.Module], images: Optional[Tensor] = None,
                 labels: Optional[Tensor] = None, *, index: int = 0, angle: float = 0.0,
                 step: float = 5.0, dpi: int = 80):
    """A live panel: pick a digit and an angle, see each model's probabilities (needs ipywidgets).

    Args:
        models: ``{name: model}``.
        images, labels: the digits to choose from, ``[N, 1, H, W]`` and ``[N]``; by default the
            upright MNIST test set (:func:`gcnn.data.test_set`).
        index, angle: the digit and angle shown first.
        step: the angle slider's step in degrees.
        dpi: resolution of the picture.

    Returns:
        An ``ipywidgets.VBox``; its parts are attributes: ``.index`` (which digit), ``.slider``
        (the angle, clockwise), ``.image`` (the PNG shown), ``.status``; ``.probabilities`` holds
        the last ``{name: [classes]}`` shown and ``.render()`` redraws.
    """
    try:
        import ipywidgets as w
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("digit_widget needs ipywidgets (pip install ipywidgets); for a static "
                          "page use probability_animation instead") from err

    models = _check_models(models)
    if images is None:
        from .data import test_set

        images, labels = test_set()
    if images.dim() != 4 or images.shape[0] == 0:
        raise ValueError(f"images must be [N, 1, H, W] with N >= 1, got {list(images.shape)}")
    if labels is not None and labels.shape[0] != images.shape[0]:
        raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
    n = images.shape[0]
    if not 0 <= index < n:
        raise ValueError(f"index must be in [0, {n}), got {index}")

    pick = w.BoundedIntText(value=int(index), min=0, max=n - 1, step=1, description="digit #",
                            layout=w.Layout(width="190px"))
    slider = w.FloatSlider(value=float(angle) % 360, min=0.0, max=360.0, step=float(step),
                           description="angle (°)", continuous_update=True, readout_format=".0f",
                           layout=w.Layout(width="420px"))
    picture = w.Image(format="png")
    status = w.HTML()
    box = w.VBox([w.HBox([pick, status]), slider, picture])

    def render(*_) -> None:
        i, a = int(pick.value), float(slider.value)
        label = None if labels is None else int(labels[i])
        fig = plot_digit_predictions(models, images[i], a, label, dpi=dpi)
        box.probabilities = fig.probabilities
        picture.value = _figure_png(fig, dpi)
        said = ", ".join(f"{name} says {int(p.argmax())}" for name, p in fig.probabilities.items())
        truth = "" if label is None else f"test digit {i} is a <b>{label}</b>; "
        status.value = f"{truth}{said}"

    pick.observe(render, names="value")
    slider.observe(render, names="value")
    box.index, box.slider, box.image, box.status = pick, slider, picture, status
    box.render = render
    render()
    return box
