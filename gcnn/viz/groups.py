"""Pictures of groups: names, Cayley tables, and how elements move the points of a grid."""

from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
import torch

from ..groups import CyclicGroup, DihedralGroup, Group, coordinate_grid
from .style import legible

__all__ = ["group_label", "plot_cayley_table", "plot_grid_points"]


def group_label(group: Group) -> str:
    """A short name such as ``C4`` or ``D4`` (:attr:`Group.name`; the class name and order for
    other groups). Every picture and table of the package names groups with it."""
    if isinstance(group, (CyclicGroup, DihedralGroup)):
        return group.name
    return f"{type(group).__name__}(|G|={group.order})"


def plot_cayley_table(group: Group, ax=None, *, title: Optional[str] = None):
    """Draw the Cayley table of ``group``: cell ``(i, j)`` names the product ``g_i · g_j``.

    Each cell is coloured by the product's index in ``group.elements()``, so the identity's
    cells (one per row, one per column) share a colour and patterns such as the cyclic shift of
    ``C_N`` stand out. Returns the figure.
    """
    import matplotlib.pyplot as plt

    names = group.element_names()
    table = group.cayley_table().cpu().numpy()
    n = len(names)
    if ax is None:
        side = max(3.0, 0.5 * n + 1.2)
        fig, ax = plt.subplots(figsize=(side, side))
    else:
        fig = ax.figure
    ax.imshow(table, cmap="tab20" if n > 10 else "tab10", vmin=0, vmax=19 if n > 10 else 9)
    fontsize = 11 if n <= 8 else 8
    for i in range(n):
        for j in range(n):
            ax.text(j, i, names[table[i, j]], ha="center", va="center", fontsize=fontsize,
                    color="white", fontweight="bold")
    ax.set_xticks(range(n), names)
    ax.set_yticks(range(n), names)
    ax.xaxis.tick_top()
    ax.set_xlabel("right factor $h$", labelpad=8)
    ax.xaxis.set_label_position("top")
    ax.set_ylabel("left factor $g$")
    title = title or f"Cayley table of {group_label(group)}: $g \\cdot h$"
    ax.set_title(title, pad=30, fontsize=11)
    legible(fig, layout=fig.tight_layout)
    return fig


def plot_grid_points(
    group: Group,
    size: int = 5,
    elements: Optional[Sequence[int]] = None,
    *,
    panel: float = 2.6,
):
    """Show how group elements move the points of a ``size x size`` coordinate grid.

    Each panel scatters the points ``g · p`` of :func:`~gcnn.groups.coordinate_grid`, coloured by
    the point they started from (so the colours move with the points), with ``y`` pointing down
    as in an image; the first panel is the grid itself. ``elements`` are indices into
    ``group.elements()`` (all of them by default). Returns the figure.
    """
    import matplotlib.pyplot as plt

    idx = list(range(group.order)) if elements is None else [int(i) for i in elements]
    names = group.element_names()
    grid = coordinate_grid(size)  # [2, S, S]
    moved = group.left_action_on_R2(group.elements()[idx], grid).cpu()  # [n, S, S, 2]
    colors = np.arange(size * size)
    fig, axes = plt.subplots(1, len(idx), figsize=(panel * len(idx), panel + 0.3), squeeze=False)
    for ax, k, pts in zip(axes[0], idx, moved):
        xy = pts.reshape(-1, 2).numpy()
        ax.scatter(xy[:, 0], xy[:, 1], c=colors, cmap="viridis", s=60, edgecolors="k",
                   linewidths=0.4, zorder=3)
        # Mark where the top-left corner point (-1, -1) and its neighbour went.
        ax.annotate("", xy=xy[1], xytext=xy[0],
                    arrowprops=dict(arrowstyle="->", color="crimson", lw=1.8), zorder=4)
        ax.plot(*xy[0], marker="o", ms=11, mfc="none", mec="crimson", mew=2, zorder=4)
        mat = group.matrix_representation(group.elements()[k]).double().cpu()
        label = names[k]
        if torch.linalg.det(mat) > 0:  # a rotation: say by how much
            angle = math.degrees(math.atan2(float(mat[1, 0]), float(mat[0, 0]))) % 360
            label = f"{names[k]}  ({angle:.0f}°)"
        ax.set_title(label, fontsize=10)
        ax.set_xlim(-1.35, 1.35)
        ax.set_ylim(1.35, -1.35)  # y grows downwards, as rows of an image
        ax.set_aspect("equal")
        ax.axhline(0, color="0.85", lw=0.8, zorder=1)
        ax.axvline(0, color="0.85", lw=0.8, zorder=1)
        ax.set_xticks([-1, 0, 1])
        ax.set_yticks([-1, 0, 1])
        ax.tick_params(labelsize=8)
    axes[0][0].set_xlabel("x", fontsize=9)
    axes[0][0].set_ylabel("y (down)", fontsize=9)
    legible(fig, layout=fig.tight_layout)
    return fig
