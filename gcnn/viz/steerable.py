"""Pictures of steerable kernels: the basis, and how the kernels of each method turn.

* :func:`plot_steerable_basis`: the functions of :func:`gcnn.kernels.steerable_basis` on the
  ``k x k`` grid, one row per angular frequency ``m`` (optionally turned);
* :func:`plot_kernel_methods`: the results of :func:`gcnn.metrics.compare_kernel_methods`, the
  norm of the turned kernels and the equivariance error per group element, one line per method.
"""

from __future__ import annotations

import math
from typing import Mapping, Optional

import numpy as np
import torch

from ..kernels import steerable_basis, steerable_frequencies
from .style import KERNEL_CMAP, MODEL_COLORS, clean_axes, legible

__all__ = ["plot_steerable_basis", "plot_kernel_methods"]


def plot_steerable_basis(kernel_size: int = 5, angle: float = 0.0, *, cell: float = 0.9):
    """The steerable basis of ``k x k`` kernels, one row per angular frequency ``m``.

    Row ``m = 0`` holds the ring profiles ``tau(rho)`` (no angle); rows ``m = 1, 2`` hold the
    pairs ``tau(rho) cos(m phi)``, ``tau(rho) sin(m phi)``. ``angle`` (degrees, clockwise as the
    groups) draws the basis turned: ``psi(R(angle)⁻¹ p)``. Each function has its own symmetric
    colour scale (:data:`~gcnn.viz.style.KERNEL_CMAP`, red positive, blue negative).

    Returns the figure; ``fig.basis`` is the drawn ``[B, k, k]`` float64 tensor and
    ``fig.frequencies`` the ``[B]`` frequencies.
    """
    import matplotlib.pyplot as plt

    basis = steerable_basis(kernel_size, math.radians(angle))
    freqs = steerable_frequencies(kernel_size)
    rows = sorted(set(freqs.tolist()))
    cols = max(int((freqs == m).sum()) for m in rows)
    fig, axes = plt.subplots(len(rows), cols, squeeze=False,
                             figsize=(cell * cols + 0.9, cell * len(rows) + 0.3),
                             constrained_layout=True)
    for r, m in enumerate(rows):
        funcs = basis[freqs == m]
        for c, ax in enumerate(axes[r]):
            clean_axes(ax)
            if c >= funcs.shape[0]:
                ax.set_visible(False)
                continue
            f = funcs[c].numpy()
            lim = float(np.abs(f).max()) or 1.0
            ax.imshow(f, cmap=KERNEL_CMAP, vmin=-lim, vmax=lim, interpolation="nearest")
        axes[r, 0].set_ylabel(f"m = {m}", rotation=0, ha="right", va="center", fontsize=10)
        axes[r, 0].yaxis.set_visible(True)
    turned = f", turned by {angle:g}°" if angle else ""
    fig.suptitle(f"{basis.shape[0]} steerable functions of {kernel_size}x{kernel_size} "
                 f"kernels{turned}", fontsize=10)
    fig.basis, fig.frequencies = basis, freqs
    legible(fig)
    return fig


def plot_kernel_methods(results: Mapping[str, dict], *, title: Optional[str] = None):
    """Norm of the turned kernels and equivariance error per group element, for each method.

    ``results`` is :func:`gcnn.metrics.compare_kernel_methods`'s output for a cyclic group
    ``C_N`` (``{method: {"norm": [N], "network": [N], ...}}``); element ``i`` is the turn by
    ``360 i / N`` degrees. Left: ``|L_g psi| / |psi|`` (1: the turned kernels keep their norm).
    Right: the relative equivariance error of the two-layer network (log scale; quarter turns
    sit at float round-off). Returns the figure.
    """
    import matplotlib.pyplot as plt

    if not results:
        raise ValueError("plot_kernel_methods needs the results of at least one method")
    fig, (ax_norm, ax_err) = plt.subplots(1, 2, figsize=(7.5, 3.0))
    for i, (method, r) in enumerate(results.items()):
        n = len(r["norm"])
        angles = [360.0 * j / n for j in range(n)]
        style = dict(marker="o", ms=4, lw=1.3, color=MODEL_COLORS[i % len(MODEL_COLORS)],
                     label=method)
        ax_norm.plot(angles, torch.as_tensor(r["norm"]).tolist(), **style)
        ax_err.plot(angles, torch.as_tensor(r["network"]).clamp_min(1e-9).tolist(), **style)
    for ax in (ax_norm, ax_err):
        ax.set_xticks(range(0, 361, 90))
        ax.set_xlim(-10, 360)
        ax.set_xlabel("turn of the group element (degrees)")
        ax.grid(color="0.92")
        for k in range(5):
            ax.axvline(90 * k, color="0.6", lw=0.9, ls=":", zorder=1)
    ax_norm.set_ylim(0, 1.1)
    ax_norm.set_ylabel("|L_g ψ| / |ψ|")
    ax_err.set_yscale("log")
    ax_err.set_ylabel("equivariance error")
    ax_norm.legend(loc="lower left", fontsize=9, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    legible(fig, layout=fig.tight_layout)
    return fig
