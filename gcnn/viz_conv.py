"""Pictures and counts for the convolution chapters: kernel banks, feature maps on a group, MACs.

Everything here *reads* the layers of :mod:`gcnn`; nothing is needed to train or run a model.
The plotting functions return a :class:`matplotlib.figure.Figure` (they never call ``show``), so
notebooks display them and tests can inspect them under the ``Agg`` backend.

Shapes follow :mod:`gcnn.layers`: images ``[B, C, H, W]``, feature maps on a group
``[B, C, |G|, H, W]``. A transformed kernel bank is ``[C_out * |G|, C_in * |G_in|, k, k]``.
"""

from __future__ import annotations

from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple, Union

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.patches import ConnectionPatch
from torch import Tensor, nn

from .equivariance import equivariance_group, transform
from .groups import Group, coordinate_grid
from .layers import GroupConvolution, LiftingConvolution, Restriction, _GroupConvBase

__all__ = [
    "toy_image",
    "plot_kernel_grid",
    "plot_kernel_bank",
    "plot_group_feature_maps",
    "plot_equivariance",
    "plot_restriction",
    "LayerMacs",
    "count_macs",
    "mac_table",
]

KERNEL_CMAP = "RdBu_r"
FEATURE_CMAP = "viridis"


# -- a test picture ------------------------------------------------------------------------------
def toy_image(size: int = 33, softness: float = 0.7) -> Tensor:
    """A smooth letter "F" on a dark background: ``[1, 1, size, size]``, values in ``[0, 1]``.

    The "F" has no rotation or mirror symmetry, so every element of ``C_N`` or ``D_N`` gives a
    visibly different picture. It fits inside the inscribed disk, so rotating it by any angle
    crops nothing. ``softness`` is the width of its edges in pixels: larger is smoother (and
    easier to rotate by interpolation without error).
    """
    if size < 5:
        raise ValueError(f"toy_image needs size >= 5 pixels, got {size}")
    if softness <= 0:
        raise ValueError(f"softness must be positive, got {softness}")
    x, y = coordinate_grid(size, dtype=torch.float64)
    to_pixels = (size - 1) / 2  # one unit of the [-1, 1] grid in pixels
    # (x0, x1, y0, y1) of the strokes: the stem, the top bar, the middle bar
    strokes = [(-0.4, -0.16, -0.56, 0.56), (-0.4, 0.4, -0.56, -0.32), (-0.4, 0.2, -0.11, 0.11)]
    inside = torch.stack([
        torch.minimum(torch.minimum(x - x0, x1 - x), torch.minimum(y - y0, y1 - y))
        for x0, x1, y0, y1 in strokes
    ]).amax(0)  # > 0 inside the letter: distance to the nearest edge of the stroke it is in
    img = torch.sigmoid(inside * to_pixels / softness)
    return img.to(torch.get_default_dtype())[None, None]


# -- small plotting helpers ----------------------------------------------------------------------
def _np(x: Tensor):
    return x.detach().to("cpu", torch.float32).numpy()


def _clean(ax) -> None:
    ax.set_xticks([])
    ax.set_yticks([])


def _label(group: Group) -> str:
    """A short name such as ``C4`` or ``D4`` (the ``N`` the group was built with)."""
    letter = {"CyclicGroup": "C", "DihedralGroup": "D"}.get(type(group).__name__)
    if letter is None:
        return f"{type(group).__name__}(|G|={group.order})"
    return f"{letter}{getattr(group, 'n', group.order)}"


def _symmetric_limits(x: Tensor) -> Tuple[float, float]:
    m = float(x.detach().abs().max()) or 1.0
    return -m, m


def _grid_of_axes(rows: int, cols: int, cell: float, title: Optional[str]):
    fig, axes = plt.subplots(
        rows, cols, figsize=(cell * cols + 0.6, cell * rows + (0.6 if title else 0.2)),
        squeeze=False, constrained_layout=True,
    )
    if title:
        fig.suptitle(title)
    return fig, axes


# -- kernels -------------------------------------------------------------------------------------
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
    ax.scatter(_np(grid[0]).ravel(), _np(grid[1]).ravel(), s=46, color="0.82", zorder=1,
               label="pixel centres p")
    order = torch.arange(kernel_size * kernel_size)
    ax.scatter(_np(moved[..., 0]).ravel(), _np(moved[..., 1]).ravel(), s=14, c=_np(order),
               cmap="plasma", zorder=2, label="read from g⁻¹p")
    ax.set_xlim(-1.55, 1.55)
    ax.set_ylim(1.55, -1.55)  # rows grow downwards, as in an image
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    name = group.element_names()[index]
    ax.set_title(f"{_label(group)}, g = {name}", fontsize=10)
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
    fig, axes = _grid_of_axes(rows, cols, cell, title)
    source = None
    if show_source and isinstance(layer, GroupConvolution):
        g = layer.group
        source = g.cayley_table()[g.inverse_indices()]  # source[g, j] = idx(g⁻¹ h_j)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            im = ax.imshow(_np(kernels[r, c]), cmap=cmap, vmin=vmin, vmax=vmax)
            _clean(ax)
            if r == 0 and names is not None and c < len(names):
                label = f"h = {names[c]}" if row_labels is not None else names[c]
                ax.set_title(label, fontsize=9)
            if c == 0 and row_labels is not None and r < len(row_labels):
                ax.set_ylabel(f"g = {row_labels[r]}", fontsize=9)
            if source is not None:
                ax.set_xlabel(f"ψ[{names[int(source[r, c])]}]", fontsize=8, labelpad=2)
    fig.colorbar(im, ax=axes, shrink=0.8 if rows > 1 else 0.9, aspect=30 if rows > 2 else 12)
    return fig


# -- feature maps --------------------------------------------------------------------------------
def plot_group_feature_maps(
    x: Tensor,
    names: Optional[Sequence[str]] = None,
    row_labels: Optional[Sequence[str]] = None,
    channels: Optional[Sequence[int]] = None,
    title: Optional[str] = None,
    cell: float = 1.2,
    cmap: str = FEATURE_CMAP,
) -> Figure:
    """Draw a feature map on a group: one row per channel, one column per group element.

    Args:
        x: ``[|G|, H, W]`` (one channel) or ``[C, |G|, H, W]``; a batch ``[B, C, |G|, H, W]`` is
            accepted and its first item drawn.
        names: labels of the group elements (columns), e.g. ``group.element_names()``.
        row_labels: labels of the rows (``"channel c"`` by default).
        channels: which channels to draw (all by default).
        title: a title for the figure.
        cell: size of one panel in inches.
        cmap: colour map; the scale is shared by all panels so that values compare.

    Returns:
        The figure.
    """
    x = x.detach()
    if x.dim() == 5:
        x = x[0]
    if x.dim() == 3:
        x = x[None]
    if x.dim() != 4:
        raise ValueError(
            f"plot_group_feature_maps expects [|G|, H, W], [C, |G|, H, W] or "
            f"[B, C, |G|, H, W], got {list(x.shape)}"
        )
    channels = list(range(x.shape[0])) if channels is None else list(channels)
    x = x[channels]
    rows, cols = x.shape[:2]
    row_labels = row_labels or [f"channel {c}" for c in channels]
    vmin, vmax = float(x.min()), float(x.max())
    fig, axes = _grid_of_axes(rows, cols, cell, title)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            im = ax.imshow(_np(x[r, c]), cmap=cmap, vmin=vmin, vmax=vmax)
            _clean(ax)
            if r == 0 and names is not None:
                ax.set_title(names[c], fontsize=9)
            if c == 0 and rows > 1:
                ax.set_ylabel(row_labels[r], fontsize=9)
    fig.colorbar(im, ax=axes, shrink=0.8, aspect=30 if rows > 2 else 12)
    return fig


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
    err = float((fgx.double() - gfx.double()).norm() / fx.double().norm().clamp_min(1e-300))
    n, names = group.order, group.element_names()
    panels = [fx[0, channel], fgx[0, channel], gfx[0, channel]]  # each [|G|, H, W]
    vmin = min(float(p.min()) for p in panels)
    vmax = max(float(p.max()) for p in panels)

    fig, axes = plt.subplots(n + 1, 3, figsize=(3 * cell + 1.2, (n + 1) * cell + 0.8),
                             squeeze=False, constrained_layout=True)
    g = names[index]
    ins = [_first_picture(x, in_kind), _first_picture(gx, in_kind)]
    labels = ["input x", f"input {g}·x"]
    if in_kind == "regular":
        labels = [f"{lab} (c=0, h={names[0]})" for lab in labels]
    for c, (pic, label) in enumerate(zip(ins, labels)):
        axes[0, c].imshow(_np(pic), cmap="gray")
        axes[0, c].set_title(label, fontsize=9)
        _clean(axes[0, c])
    axes[0, 2].axis("off")
    titles = ["Φ(x)", f"Φ({g}·x)", f"{g}·Φ(x)"]
    for r in range(n):
        for c in range(3):
            ax = axes[r + 1, c]
            ax.imshow(_np(panels[c][r]), cmap=FEATURE_CMAP, vmin=vmin, vmax=vmax)
            _clean(ax)
            if r == 0:
                ax.set_title(titles[c], fontsize=9)
            if c == 0:
                ax.set_ylabel(f"h = {names[r]}", fontsize=9)
    if arrows:
        target = group.cayley_table()[index]  # row h of Φ(x) reappears at row g h of Φ(g x)
        for r in range(n):
            t = int(target[r])
            con = ConnectionPatch(
                xyA=(1.0, 0.5), coordsA=axes[r + 1, 0].transAxes,
                xyB=(0.0, 0.5), coordsB=axes[t + 1, 1].transAxes,
                arrowstyle="-|>", color="crimson", lw=0.9, alpha=0.8,
            )
            fig.add_artist(con)
    fig.suptitle(
        f"{_label(group)}, g = {g}: ‖Φ(g·x) − g·Φ(x)‖ / ‖Φ(x)‖ = {err:.1e}",
        fontsize=10,
    )
    return fig


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
        f"top: one channel on {_label(restriction.group)}, [{n}, H, W]; below: "
        f"after Restriction, {m} channels on {_label(restriction.subgroup)}, "
        f"[{m}, {sub}, H, W]", fontsize=10,
    )
    for j in range(n):
        axes[0, j].imshow(_np(pic[j]), cmap=FEATURE_CMAP, vmin=vmin, vmax=vmax)
        axes[0, j].set_title(names[j], fontsize=9)
        _clean(axes[0, j])
    axes[0, 0].set_ylabel("before", fontsize=9)
    for r in range(m):
        for j in range(n):
            ax = axes[r + 1, j]
            if j >= sub:
                ax.axis("off")
                continue
            ax.imshow(_np(y[r, j]), cmap=FEATURE_CMAP, vmin=vmin, vmax=vmax)
            ax.set_title(f"from {names[int(src[r, j])]}", fontsize=8)
            _clean(ax)
            if j == 0:
                ax.set_ylabel(f"channel {r}", fontsize=9)
    return fig


# -- compute -------------------------------------------------------------------------------------
class LayerMacs(NamedTuple):
    """Multiply-accumulates of one layer for one image."""

    name: str  #: the module's name in the model
    kind: str  #: its class name
    output_shape: Tuple[int, ...]  #: its output for one image (no batch dimension)
    params: int  #: its own parameters
    macs: int  #: multiply-accumulates per image


def _layer_macs(module: nn.Module, out: Tensor, batch: int) -> int:
    per_image = out.numel() // batch  # output values per image
    if isinstance(module, _GroupConvBase):
        # The conv2d it runs: C_out*|G| outputs, each a sum over C_in*|G_in| * k*k inputs.
        g_in = module.group.order if module.in_kind == "regular" else 1
        return per_image * module.in_channels * g_in * module.kernel_size ** 2
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return per_image * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return per_image * module.in_features
    raise TypeError(f"no MAC rule for {type(module).__name__}")


@torch.no_grad()
def count_macs(model: nn.Module, input_shape: Sequence[int]) -> List[LayerMacs]:
    """Count the multiply-accumulates (MACs) of every convolution and linear layer, per image.

    Runs one forward pass on zeros with forward hooks on :class:`torch.nn.Conv2d`,
    :class:`torch.nn.Linear`, :class:`~gcnn.layers.LiftingConvolution` and
    :class:`~gcnn.layers.GroupConvolution`. A group layer costs what the ``conv2d`` it runs
    costs: ``C_out·|G| × C_in·|G_in| × k² × H'·W'`` MACs, with ``|G_in| = 1`` for the lifting
    layer. Not counted: biases, norms, ReLUs, pooling (no multiply-accumulates, or few) and the
    expansion of the kernel bank (once per forward pass in training, shared by the batch, and
    cached in ``eval()`` mode).

    Args:
        model: any module.
        input_shape: ``[C, H, W]`` or ``[B, C, H, W]`` (the count is divided by ``B``).

    Returns:
        One :class:`LayerMacs` per counted layer, in the order they ran. See :func:`mac_table`.
    """
    shape = list(input_shape)
    if len(shape) == 3:
        shape = [1] + shape
    if len(shape) != 4:
        raise ValueError(f"input_shape must be [C, H, W] or [B, C, H, W], got {list(input_shape)}")
    batch = shape[0]
    p = next(iter(model.parameters()), None)
    x = torch.zeros(shape, device=p.device if p is not None else None,
                    dtype=p.dtype if p is not None else None)
    rows: List[LayerMacs] = []
    names = {m: n for n, m in model.named_modules()}

    def hook(module, _inputs, out):
        rows.append(LayerMacs(
            name=names.get(module, "") or type(module).__name__,
            kind=type(module).__name__,
            output_shape=tuple(out.shape[1:]),
            params=sum(q.numel() for q in module.parameters(recurse=False)),
            macs=_layer_macs(module, out, batch),
        ))

    kinds = (nn.Conv2d, nn.Linear, _GroupConvBase)
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    return rows


def mac_table(rows: Sequence[LayerMacs], title: Optional[str] = None) -> str:
    """Format :func:`count_macs` rows as a text table with a total line."""
    lines = [title] if title else []
    header = f"{'layer':<18}{'kind':<20}{'output (per image)':<22}{'params':>10}{'MACs':>14}"
    lines += [header, "-" * len(header)]
    for r in rows:
        shape = "x".join(str(s) for s in r.output_shape)
        lines.append(f"{r.name:<18}{r.kind:<20}{shape:<22}{r.params:>10,}{r.macs:>14,}")
    lines.append("-" * len(header))
    total_p = sum(r.params for r in rows)
    total_m = sum(r.macs for r in rows)
    lines.append(f"{'total':<60}{total_p:>10,}{total_m:>14,}")
    return "\n".join(lines)
