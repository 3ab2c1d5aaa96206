"""What accuracy costs: each model's test accuracy against its arithmetic per digit."""

from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np

from ..tables import macs_per_image, with_orbit_average
from .style import MODEL_COLORS, legible

__all__ = ["plot_costs"]

#: (title, metrics key, issue #17's target) of the two panels.
PANELS = (("upright test digits", "test_acc", 0.990),
          ("turned test digits", "rotated_test_acc", 0.970))


def _points(runs: Mapping[str, Sequence[dict]]):
    """(label, colour index, averaged?, MACs, [accuracies per panel]) of every model."""
    for i, (name, ms) in enumerate(runs.items()):
        for label, angles, rs in with_orbit_average(name, ms):
            macs = macs_per_image(rs[0])
            yield (label, i, angles is not None, macs,
                   [[m[key] for m in rs] for _, key, _ in PANELS])


def _macs_axis(axes, macs: Sequence[float]) -> None:
    """A log axis of millions of MACs with round, plainly written ticks around ``macs``."""
    from matplotlib.ticker import NullLocator

    low, high = min(macs) / 1.5, max(macs) * 1.5
    ticks = [t for t in (5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000) if low <= t <= high]
    for ax in axes:
        ax.set_xlim(low, high)
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.set_xlabel("MACs per digit (millions, all passes)")


def plot_costs(runs: Mapping[str, Sequence[dict]], *, targets: bool = True,
               width: float = 7.5, title: Optional[str] = None):
    """Test accuracy against multiply-accumulates per digit, upright and turned, one point per
    model (``{name: [metrics of each seed]}``): the mean over the seeds with a bar from the
    lowest to the highest seed. A model tested averaged over turns (``orbit_average``) gets a
    second, hollow point of its colour at its MACs times its passes. With ``targets`` a dashed
    line marks issue #17's targets (99.0 % upright, 97.0 % turned). Returns the figure.
    """
    import matplotlib.pyplot as plt

    points = list(_points(runs))
    if not points:
        raise ValueError("plot_costs needs at least one model")
    fig, axes = plt.subplots(1, 2, figsize=(width, 3.6), sharex=True)
    for ax, (panel, _, target) in zip(axes, PANELS):
        ax.set_title(panel, fontsize=10)
        ax.set_xscale("log")
        ax.grid(color="0.92")
        if targets:
            ax.axhline(100 * target, color="0.3", lw=1.2, ls="--", zorder=2.5,
                       label="targets: 99 % upright, 97 % turned")
    for label, i, averaged, macs, accs in points:
        color = MODEL_COLORS[i % len(MODEL_COLORS)]
        for ax, acc in zip(axes, accs):
            acc = 100 * np.asarray(acc)
            ax.errorbar(macs / 1e6, acc.mean(), yerr=[[acc.mean() - acc.min()],
                                                      [acc.max() - acc.mean()]],
                        fmt="o", ms=7, color=color, mfc="white" if averaged else color,
                        mew=1.6, capsize=3, zorder=3, label=label)
    _macs_axis(axes, [p[3] / 1e6 for p in points])
    axes[0].set_ylabel("test accuracy (%), mean of seeds")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=9, frameon=False,
               bbox_to_anchor=(0.5, -0.02))
    if title:
        fig.suptitle(title)

    def layout() -> None:
        fig.tight_layout(rect=(0, 0.01 + 0.065 * ((len(labels) + 1) // 2), 1, 1))

    legible(fig, layout=layout)
    return fig
