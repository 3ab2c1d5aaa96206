"""Pictures of the convolution layers: where kernels are read, kernel banks, equivariance.

Everything here *reads* the layers of :mod:`gcnn`; nothing is needed to train or run a model.
The plotting functions return a :class:`matplotlib.figure.Figure` (they never call ``show``), so
notebooks display them and tests can inspect them under the ``Agg`` backend.

Shapes follow :mod:`gcnn.layers`: images ``[B, C, H, W]``, feature maps on a group
``[B, C, |G|, H, W]``. A transformed kernel bank is ``[C_out * |G|, C_in * |G_in|, k, k]``.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence, Tuple, Union

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.patches import ConnectionPatch
from torch import Tensor, nn

from ..equivariance import equivariance_error, equivariance_group, transform
from ..groups import Group, coordinate_grid
from ..layers import GroupConvolution, LiftingConvolution, Restriction, _GroupConvBase
from .groups import group_label
from .style import (FEATURE_CMAP, KERNEL_CMAP, clean_axes, freeze_layout, grid_of_axes, legible,
                    to_array)

__all__ = [
    "plot_kernel_grid",
    "plot_kernel_bank",
    "KernelBankPanel",
    "kernel_bank_animation",
    "plot_equivariance",
    "plot_restriction",
]


def _symmetric_limits(x: Tensor) -> Tuple[float, float]:
    m = float(x.detach().abs().max()) or 1.0
    return -m, m


def plot_kernel_grid(group: Group, kernel_size: int, index: int = 1, ax=None):
    """Where a kernel is read for one group element: the grid ``p`` and the points ``g⁻¹ p``.

    The transformed kernel is ``(L_g ψ)(p) = ψ(g⁻¹ p)``: its value at pixel ``p`` is read from
    the original kernel at ``g⁻¹ p``. Grey dots are the ``k x k`` pixel centres in ``[-1, 1]²``
    (:func:`gcnn.coordinate_grid`), coloured dots the points ``g⁻¹ p`` from
    :meth:`Group.left_action_on_R2`, coloured by the pixel ``p`` they serve. Points that miss the
    grey dots are interpolated; points outside the square read zeros.

    Returns the axes it drew on.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(3.2, 3.2), constrained_layout=True)
    grid = coordinate_grid(kernel_size, dtype=torch.float64)  # [2, k, k]
    g = group.elements(torch.float64)[index]
    moved = group.left_action_on_R2(group.inverse(g), grid)[0]  # [k, k, 2]
    ax.add_patch(plt.Rectangle((-1, -1), 2, 2, fill=False, lw=0.8, ls="--", color="0.6"))
    ax.scatter(to_array(grid[0]).ravel(), to_array(grid[1]).ravel(), s=46, color="0.82", zorder=1,
               label="pixel centres p")
    order = torch.arange(kernel_size * kernel_size)
    ax.scatter(to_array(moved[..., 0]).ravel(), to_array(moved[..., 1]).ravel(), s=14,
               c=to_array(order),
               cmap="plasma", zorder=2, label="read from g⁻¹p")
    ax.set_xlim(-1.55, 1.55)
    ax.set_ylim(1.55, -1.55)  # rows grow downwards, as in an image
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    name = group.element_names()[index]
    ax.set_title(f"{group_label(group)}, g = {name}", fontsize=10)
    legible(ax.figure)
    return ax


def _bank_of(layer: _GroupConvBase, out_channel: int, in_channel: int) -> Tensor:
    bank = layer.transformed_weight().detach()
    o, i, n, k = layer.out_channels, layer.in_channels, layer.group.order, layer.kernel_size
    if not 0 <= out_channel < o or not 0 <= in_channel < i:
        raise IndexError(
            f"channel pair (out={out_channel}, in={in_channel}) outside the layer's "
            f"out_channels={o}, in_channels={i}"
        )
    if isinstance(layer, LiftingConvolution):
        return bank.reshape(o, n, i, k, k)[out_channel, :, in_channel]  # [|G|, k, k]
    return bank.reshape(o, n, i, n, k, k)[out_channel, :, in_channel]  # [|G|, |G|, k, k]


def plot_kernel_bank(
    bank: Union[_GroupConvBase, Tensor],
    out_channel: int = 0,
    in_channel: int = 0,
    names: Optional[Sequence[str]] = None,
    title: Optional[str] = None,
    show_source: bool = True,
    cell: float = 1.05,
    cmap: str = KERNEL_CMAP,
) -> Figure:
    """Show the transformed copies of one kernel, one panel per group element.

    Args:
        bank: a :class:`~gcnn.layers.LiftingConvolution` (its ``|G|`` kernels for one channel
            pair are drawn as a row), a :class:`~gcnn.layers.GroupConvolution` (a ``|G| x |G|``
            grid: row ``g`` is the kernel used for output element ``g``, column ``h`` its slice
            on input group channel ``h``), or a tensor ``[n, k, k]`` (a row) or ``[m, n, k, k]``
            (a grid).
        out_channel, in_channel: which channel pair of a layer to draw.
        names: element names for the labels (a layer's own by default).
        title: a title for the figure.
        show_source: for a group convolution, label each panel with the slice of the learned
            kernel it was moved from (``ψ[g⁻¹h]``), which makes the cyclic shift readable.
        cell: size of one panel in inches.
        cmap: a diverging colour map; the colour scale is shared and symmetric about 0.

    Returns:
        The figure.
    """
    layer = bank if isinstance(bank, _GroupConvBase) else None
    if layer is not None:
        kernels = _bank_of(layer, out_channel, in_channel)
        names = names or layer.group.element_names()
    elif isinstance(bank, Tensor):
        kernels = bank.detach()
    else:
        raise TypeError(
            f"plot_kernel_bank expects a LiftingConvolution, a GroupConvolution or a tensor "
            f"[n, k, k] / [m, n, k, k], got {type(bank).__name__}"
        )
    if kernels.dim() == 3:
        kernels = kernels[None]
        row_labels = None
    elif kernels.dim() == 4:
        row_labels = names
    else:
        raise ValueError(
            f"plot_kernel_bank expects kernels [n, k, k] or [m, n, k, k], got {list(kernels.shape)}"
        )
    rows, cols = kernels.shape[:2]
    vmin, vmax = _symmetric_limits(kernels)
    fig, axes = grid_of_axes(rows, cols, cell, title)
    source = None
    if show_source and isinstance(layer, GroupConvolution):
        g = layer.group
        source = g.cayley_table()[g.inverse_indices()]  # source[g, j] = idx(g⁻¹ h_j)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            im = ax.imshow(to_array(kernels[r, c]), cmap=cmap, vmin=vmin, vmax=vmax)
            clean_axes(ax)
            if r == 0 and names is not None and c < len(names):
                label = f"h = {names[c]}" if row_labels is not None else names[c]
                ax.set_title(label, fontsize=9)
            if c == 0 and row_labels is not None and r < len(row_labels):
                ax.set_ylabel(f"g = {row_labels[r]}", fontsize=9)
            if source is not None:
                ax.set_xlabel(f"ψ[{names[int(source[r, c])]}]", fontsize=8, labelpad=2)
    fig.colorbar(im, ax=axes, shrink=0.8 if rows > 1 else 0.9, aspect=30 if rows > 2 else 12)
    return legible(fig)


class KernelBankPanel:
    """A group convolution's learned kernel ``ψ`` and its copy ``Ψ_g`` for one element ``g``.

    Top row: the slices ``ψ(·, h)`` of one channel pair's learned kernel, one per input group
    element ``h``. Bottom row: the kernel used for output element ``g``,
    ``Ψ_g(p, h) = ψ(g⁻¹p, g⁻¹h)`` (row ``g`` of the layer's bank): each slice turned by ``g``
    and moved along the group axis, labelled with the slice it came from. :meth:`show` redraws the
    bottom row for another ``g`` in place (for an animation frame or a live widget).
    """

    def __init__(self, layer: GroupConvolution, out_channel: int = 0, in_channel: int = 0, *,
                 cell: float = 1.15, dpi=None, cmap: str = KERNEL_CMAP):
        if not isinstance(layer, GroupConvolution):
            raise TypeError(f"KernelBankPanel needs a GroupConvolution (a bank [|G|, |G|, k, k] "
                            f"per channel pair), got {type(layer).__name__}")
        self.bank = _bank_of(layer, out_channel, in_channel)         # [|G|, |G|, k, k]
        group = layer.group
        self.names = group.element_names()
        self.source = group.cayley_table()[group.inverse_indices()]  # index of g⁻¹h
        n = len(self.names)
        self.fig, axes = plt.subplots(2, n, figsize=(cell * n + 0.5, 2 * cell + 1.0), dpi=dpi,
                                      squeeze=False)
        vmin, vmax = _symmetric_limits(self.bank)
        kw = dict(cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
        for j in range(n):
            clean_axes(axes[0, j])
            clean_axes(axes[1, j])
            axes[0, j].imshow(to_array(self.bank[0, j]), **kw)
            axes[0, j].set_title(f"h = {self.names[j]}", fontsize=10)
        self.shown = [axes[1, j].imshow(to_array(self.bank[0, j]), **kw) for j in range(n)]
        longest = max(self.names, key=len)
        self.sources = [axes[1, j].text(0.5, -0.04, f"from ψ[{longest}]", fontsize=10,
                                        ha="center", va="top", transform=axes[1, j].transAxes)
                        for j in range(n)]  # texts, not axis labels: those are always drawn
        axes[0, 0].set_ylabel("learned ψ", fontsize=10)
        axes[1, 0].set_ylabel(r"$\Psi_g$", fontsize=10)
        self.title = self.fig.suptitle(f"g = {longest}: slice ψ[h] turned by g, moved to g·h",
                                       fontsize=10)
        legible(self.fig, layout=lambda: freeze_layout(self.fig), bbox_inches=None)
        self.show(0)

    def show(self, g: int):
        """Draw ``Ψ_g`` (``g`` an index into the group's elements); returns the artists."""
        if not 0 <= g < len(self.names):
            raise IndexError(f"element index {g} outside the group's {len(self.names)} elements")
        name = self.names[g]
        for j, (im, label) in enumerate(zip(self.shown, self.sources)):
            im.set_data(to_array(self.bank[g, j]))
            label.set_text(f"from ψ[{self.names[int(self.source[g, j])]}]")
        self.title.set_text(f"g = {name}: slice ψ[h] turned by g, moved to g·h")
        return [*self.shown, *self.sources, self.title]


def kernel_bank_animation(layer: GroupConvolution, out_channel: int = 0, in_channel: int = 0, *,
                          cell: float = 1.15, dpi: int = 100, interval: int = 1200):
    """:class:`KernelBankPanel` for every element of the layer's group, one frame each.

    The kernel-free twin of :func:`gcnn.widgets.kernel_bank_widget`. Returns a closed
    ``FuncAnimation`` with ``.names`` (the elements, one per frame) and ``.bank``
    (``[|G|, |G|, k, k]``); embed it with :func:`gcnn.widgets.animation_html`.
    """
    from matplotlib.animation import FuncAnimation

    panel = KernelBankPanel(layer, out_channel, in_channel, cell=cell, dpi=dpi)
    anim = FuncAnimation(panel.fig, panel.show, frames=len(panel.names), interval=interval,
                         blit=False)
    plt.close(panel.fig)
    anim.names, anim.bank = panel.names, panel.bank
    return anim


def _first_picture(x: Tensor, kind: str) -> Tensor:
    # A 2-D picture of an input for display: channel 0 (and, for a regular map, group slice 0).
    return x[0, 0] if kind == "image" else x[0, 0, 0]


@torch.no_grad()
def plot_equivariance(
    module: Union[nn.Module, Callable[[Tensor], Tensor]],
    x: Tensor,
    index: int = 1,
    channel: int = 0,
    group: Optional[Group] = None,
    in_kind: Optional[str] = None,
    out_kind: Optional[str] = None,
    method: str = "auto",
    arrows: bool = True,
    cell: float = 1.25,
) -> Figure:
    """Show that moving the input by ``g`` moves the output by ``g``: ``Φ(g·x) = g·Φ(x)``.

    ``Φ`` is the layer (not ``f``, which names the mirror element of ``D_N``). Draws one row per
    group channel ``h`` of the output and three columns: ``Φ(x)``, ``Φ(g·x)`` (the output for the
    moved input) and ``g·Φ(x)`` (the output of the original input, moved: the picture turned by
    ``g`` and the group axis permuted). The top row shows the inputs ``x`` and ``g·x``. Arrows go
    from ``Φ(x)`` at ``h`` to ``Φ(g·x)`` at ``g h``, where the same picture reappears, turned.

    Args:
        module: a layer or any callable with a regular output ``[B, C, |G|, H, W]``.
        x: its input, ``[B, C, H, W]`` (an image) or ``[B, C, |G|, H, W]``; item 0 is drawn.
        index: the group element ``g`` (its position in ``group.elements()``).
        channel: which output channel to draw.
        group, in_kind, out_kind: as in :func:`gcnn.equivariance_error`; the module's own by
            default (pass them for a plain function).
        method: how signals are moved (``"auto"``: exactly when the group allows it).
        arrows: draw the arrows.
        cell: size of one panel in inches.

    Returns:
        The figure; its title gives the relative error ``‖Φ(g·x) − g·Φ(x)‖/‖Φ(x)‖``.
    """
    group = group if group is not None else equivariance_group(module)
    in_kind = in_kind or getattr(module, "in_kind", None)
    out_kind = out_kind or getattr(module, "out_kind", "regular")
    if in_kind is None:
        in_kind = "image" if x.dim() == 4 else "regular"
    if out_kind != "regular":
        raise ValueError(
            f"plot_equivariance draws regular outputs [B, C, |G|, H, W], not {out_kind!r}"
        )
    gx = transform(x, group, index, in_kind, method)
    fx, fgx = module(x), module(gx)
    gfx = transform(fx, group, index, "regular", method)
    err = float(equivariance_error(module, x, group, in_kind, out_kind, method)[index])
    fig, axes = _equivariance_panels(group, index, (x, gx), in_kind,
                                     [fx[0, channel], fgx[0, channel], gfx[0, channel]], cell)
    if arrows:
        _equivariance_arrows(fig, axes, group, index)
    fig.suptitle(
        f"{group_label(group)}, g = {group.element_names()[index]}: "
        f"‖Φ(g·x) − g·Φ(x)‖ / ‖Φ(x)‖ = {err:.1e}",
        fontsize=10,
    )
    return legible(fig)


def _equivariance_panels(group: Group, index: int, inputs, in_kind: str, panels, cell: float):
    """The inputs ``x``, ``g·x`` on top, then one row per element ``h`` of the three outputs."""
    n, names = group.order, group.element_names()
    vmin = min(float(p.min()) for p in panels)
    vmax = max(float(p.max()) for p in panels)
    fig, axes = plt.subplots(n + 1, 3, figsize=(3 * cell + 1.2, (n + 1) * cell + 0.8),
                             squeeze=False, constrained_layout=True)
    g = names[index]
    labels = ["input x", f"input {g}·x"]
    if in_kind == "regular":
        labels = [f"{lab} (c=0, h={names[0]})" for lab in labels]
    for c, (pic, label) in enumerate(zip(inputs, labels)):
        axes[0, c].imshow(to_array(_first_picture(pic, in_kind)), cmap="gray")
        axes[0, c].set_title(label, fontsize=9)
        clean_axes(axes[0, c])
    axes[0, 2].axis("off")
    titles = ["Φ(x)", f"Φ({g}·x)", f"{g}·Φ(x)"]
    for r in range(n):
        for c in range(3):
            ax = axes[r + 1, c]
            ax.imshow(to_array(panels[c][r]), cmap=FEATURE_CMAP, vmin=vmin, vmax=vmax)
            clean_axes(ax)
            if r == 0:
                ax.set_title(titles[c], fontsize=9)
            if c == 0:
                ax.set_ylabel(f"h = {names[r]}", fontsize=9)
    return fig, axes


def _equivariance_arrows(fig, axes, group: Group, index: int) -> None:
    """Arrows from row ``h`` of ``Φ(x)`` to row ``g h`` of ``Φ(g·x)``, where it reappears."""
    target = group.cayley_table()[index]
    for r in range(group.order):
        t = int(target[r])
        con = ConnectionPatch(
            xyA=(1.0, 0.5), coordsA=axes[r + 1, 0].transAxes,
            xyB=(0.0, 0.5), coordsB=axes[t + 1, 1].transAxes,
            arrowstyle="-|>", color="crimson", lw=0.9, alpha=0.8,
        )
        fig.add_artist(con)


def plot_restriction(x: Tensor, restriction: Restriction, channel: int = 0,
                     cell: float = 1.1) -> Figure:
    """Show how :class:`~gcnn.layers.Restriction` regroups a group axis into subgroup channels.

    Top: the ``|G|`` group slices of one channel of ``x``, labelled by element of ``G``. Below:
    the ``[G:H]`` new channels, each a feature map on the subgroup ``H`` (``|H|`` slices), every
    panel labelled with the element of ``G`` it came from.

    Args:
        x: ``[C, |G|, H, W]`` or ``[B, C, |G|, H, W]`` (item 0 is drawn).
        restriction: the layer.
        channel: which input channel to draw.
        cell: size of one panel in inches.

    Returns:
        The figure.
    """
    x = x.detach()
    if x.dim() == 4:
        x = x[None]
    n, m = restriction.group.order, restriction.index_ratio
    sub = restriction.subgroup.order
    if x.dim() != 5 or x.shape[2] != n:
        raise ValueError(
            f"plot_restriction expects [B, C, |G|={n}, H, W] or [C, |G|={n}, H, W], "
            f"got {list(x.shape)}"
        )
    y = restriction(x[:1])[0, channel * m : (channel + 1) * m]  # [m, |H|, H, W]
    pic = x[0, channel]
    names = restriction.group.element_names()
    src = restriction.index.reshape(m, sub)
    vmin, vmax = float(pic.min()), float(pic.max())
    fig, axes = plt.subplots(m + 1, n, figsize=(cell * n + 0.8, cell * (m + 1) + 0.9),
                             squeeze=False, constrained_layout=True)
    fig.suptitle(
        f"top: one channel on {group_label(restriction.group)}, [{n}, H, W]; below: "
        f"after Restriction, {m} channels on {group_label(restriction.subgroup)}, "
        f"[{m}, {sub}, H, W]", fontsize=10,
    )
    for j in range(n):
        axes[0, j].imshow(to_array(pic[j]), cmap=FEATURE_CMAP, vmin=vmin, vmax=vmax)
        axes[0, j].set_title(names[j], fontsize=9)
        clean_axes(axes[0, j])
    axes[0, 0].set_ylabel("before", fontsize=9)
    for r in range(m):
        for j in range(n):
            ax = axes[r + 1, j]
            if j >= sub:
                ax.axis("off")
                continue
            ax.imshow(to_array(y[r, j]), cmap=FEATURE_CMAP, vmin=vmin, vmax=vmax)
            ax.set_title(f"from {names[int(src[r, j])]}", fontsize=8)
            clean_axes(ax)
            if j == 0:
                ax.set_ylabel(f"channel {r}", fontsize=9)
    return legible(fig)
