"""Pictures of moves: a convolution under shifts and turns, a group acting, a lifting layer turned.

Each picture is a panel class that keeps one figure and moves its artists in ``show(...)``; the
kernel-free animation of a chapter and its live widget (:mod:`gcnn.intro_widgets`) both call it:

* :class:`ConvMovePanel`: a picture moved (shifted, turned), a convolution's response, and how
  far that is from the moved response (chapter 1);
* :class:`GroupActionPanel`: a group element acting on a picture and on the group, ``h -> g h``
  as arrows (chapter 2);
* :class:`LiftingPanel`: a picture at any angle and a lifting convolution's ``|G|`` maps (ch. 4).

The ``*_animation`` functions show a panel frame by frame and return a closed ``FuncAnimation``
(embed it with :func:`gcnn.widgets.animation_html`).
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence, Tuple

import matplotlib.pyplot as plt
import torch
from torch import Tensor, nn

from ..data import rotate
from ..groups import DihedralGroup, Group
from ..kernels import transform_images
from ..layers import LiftingConvolution
from .groups import group_label
from .style import legible, to_array

__all__ = [
    "ConvMovePanel",
    "conv_move_animation",
    "GroupActionPanel",
    "group_action_animation",
    "LiftingPanel",
    "lifting_animation",
]


def _check_picture(x, who: str) -> Tensor:
    """``x`` as a ``[1, 1, H, W]`` float tensor (``[H, W]`` and ``[1, H, W]`` accepted)."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{who} must be a tensor [1, 1, H, W], got {type(x).__name__}; "
                        f"e.g. torch.as_tensor(picture)")
    while x.dim() < 4:
        x = x[None]
    if x.dim() != 4 or x.shape[:2] != (1, 1):
        raise ValueError(f"{who} must be one grey picture [1, 1, H, W], got {list(x.shape)}; "
                         f"pass x[:1] of a batch, or to_grayscale(...) of a colour one")
    return x.float()


class ConvMovePanel:
    """A picture moved, ``conv(move x)``, and ``conv(move x) - move(conv x)``, side by side.

    A move is a turn by ``angle`` degrees clockwise (:func:`gcnn.rotate`) then a circular shift
    by ``(dy, dx)`` pixels. For a plain convolution with circular padding the difference is zero
    for shifts and not for turns. ``conv`` maps ``[1, 1, H, W]`` to ``[1, 1, H, W]``.
    :meth:`show` moves the three images and the heading (the relative difference); ``.artists``
    are what it moves, ``.error`` the last relative difference.
    """

    def __init__(self, conv: nn.Module, x: Tensor, *, dpi: int = 80):
        if not callable(conv):
            raise TypeError(f"conv must be a module or function on [1, 1, H, W] pictures, got "
                            f"{type(conv).__name__}")
        self.conv, self.x = conv, _check_picture(x, "x")
        with torch.no_grad():
            self.y = conv(self.x)
        if self.y.shape != self.x.shape:
            raise ValueError(f"conv must keep the shape {list(self.x.shape)} (padding='same' "
                             f"or circular), got {list(self.y.shape)}")
        lim = float(self.y.abs().max()) or 1.0
        self.fig, axes = plt.subplots(1, 3, figsize=(7.2, 2.9), dpi=dpi)
        self.images = [axes[0].imshow(to_array(self.x[0, 0]), cmap="gray")]
        self.images += [ax.imshow(to_array(self.y[0, 0]), cmap="RdBu_r", vmin=-lim, vmax=lim)
                        for ax in axes[1:]]
        for ax, title in zip(axes, ["moved input", "conv(move x)",
                                    "conv(move x) - move(conv x)"]):
            ax.set_title(title, fontsize=10)
            ax.set_axis_off()
        self.heading = self.fig.suptitle(" ", fontsize=11)
        legible(self.fig, layout=self.fig.tight_layout, bbox_inches=None)
        self.artists = self.images + [self.heading]
        self.error = 0.0

    def move(self, t: Tensor, shift: Tuple[int, int], angle: float) -> Tensor:
        """``t`` turned by ``angle`` degrees, then rolled by ``shift = (dy, dx)`` pixels."""
        if angle % 360:
            t = rotate(t, float(angle))
        return torch.roll(t, (int(shift[0]), int(shift[1])), dims=(-2, -1))

    def show(self, shift: Tuple[int, int] = (0, 0), angle: float = 0.0) -> List:
        """Draw the move ``shift``, ``angle``; returns the artists it moved."""
        if len(shift) != 2:
            raise ValueError(f"shift must be (dy, dx) in pixels, got {shift!r}")
        with torch.no_grad():
            moved = self.move(self.x, shift, angle)
            lhs, rhs = self.conv(moved), self.move(self.y, shift, angle)
        for artist, image in zip(self.images, [moved, lhs, lhs - rhs]):
            artist.set_data(to_array(image[0, 0]))
        self.error = float((lhs - rhs).norm() / rhs.norm().clamp_min(1e-12))
        name = f"shift by ({int(shift[0])}, {int(shift[1])}) px"
        if angle % 360:
            name = f"turn by {angle:.0f}°" + (", then " + name if any(shift) else "")
        self.heading.set_text(f"{name}: relative difference {self.error:.2f}")
        return self.artists


def _positions(group: Group) -> List[Tuple[float, float]]:
    """Rotations on a circle (clockwise from the top), reflections on a circle inside."""
    n = group.order // 2 if isinstance(group, DihedralGroup) else group.order
    pos = []
    for k in range(group.order):
        radius = 1.0 if k < n else 0.55
        angle = 2 * math.pi * (k % n) / n
        pos.append((radius * math.sin(angle), radius * math.cos(angle)))
    return pos


class GroupActionPanel:
    """An element ``g`` of a group acting on a picture (left) and on the group: ``h -> g · h``.

    ``picture`` is ``[1, H, W]`` or ``[1, 1, H, W]`` (e.g. :func:`gcnn.viz.letter_f`);
    ``groups`` the groups to choose from; ``name`` names the picture in the heading.
    :meth:`show` puts the turned (or mirrored) picture in the left image and redraws the arrows
    and element names on the right (their number changes with the group); ``.title`` is the
    left heading.
    """

    def __init__(self, picture: Tensor, groups: Sequence[Group], *, name: str = "picture",
                 dpi: int = 80):
        self.picture, self.name = _check_picture(picture, "picture")[0], name
        self.groups = list(groups)
        if not self.groups or not all(isinstance(g, Group) for g in self.groups):
            raise TypeError(f"groups must be a non-empty list of gcnn groups, got {groups!r}")
        self.fig, (self.ax_pic, self.ax_h) = plt.subplots(
            1, 2, figsize=(6.4, 3.2), dpi=dpi, gridspec_kw={"width_ratios": [1, 1.3]})
        self.image = self.ax_pic.imshow(to_array(self.picture[0]), cmap="gray",
                                        interpolation="nearest")
        self.title = self.ax_pic.set_title(" ", fontsize=10)
        self.ax_pic.set_axis_off()
        self.ax_h.set_xlim(-1.3, 1.3)
        self.ax_h.set_ylim(-1.3, 1.3)
        self.ax_h.set_aspect("equal")
        self.ax_h.set_axis_off()
        self.h_title = self.ax_h.set_title(" ", fontsize=10)
        self.marks: List = []
        legible(self.fig, layout=self.fig.tight_layout, bbox_inches=None)

    def show(self, group: int, index: int) -> List:
        """Draw element ``index`` of ``groups[group]``; returns the artists on the figure."""
        if not 0 <= group < len(self.groups):
            raise ValueError(f"group must be in [0, {len(self.groups)}), got {group}")
        G = self.groups[group]
        if not 0 <= index < G.order:
            raise ValueError(f"index must be in [0, {G.order}) for {G}, got {index}")
        g, labels = G.elements()[index], G.element_names()
        self.image.set_data(to_array(transform_images(self.picture, G, g[None])[0, 0]))
        self.title.set_text(f"{self.name} under g = {labels[index]}")
        for mark in self.marks:
            mark.remove()
        pos, row = _positions(G), G.cayley_table()[index]  # h -> g · h
        self.marks = [self.ax_h.annotate("", xy=pos[gh], xytext=pos[h], arrowprops=dict(
            arrowstyle="-|>", color="tab:red", shrinkA=11, shrinkB=11,
            connectionstyle="arc3,rad=0.25")) for h, gh in enumerate(row.tolist()) if gh != h]
        size = self.h_title.get_fontsize()  # as large as legible() made the headings
        self.marks += [self.ax_h.text(px, py, labels[h], ha="center", va="center", fontsize=size,
                                      bbox=dict(boxstyle="circle", fc="white", ec="0.3"))
                       for h, (px, py) in enumerate(pos)]
        self.h_title.set_text(f"{group_label(G)}: h → {labels[index]} · h")
        return [self.image, self.title, self.h_title] + self.marks


class LiftingPanel:
    """A picture turned by any angle and one channel of a lifting convolution's ``|G|`` maps.

    ``layer`` is a :class:`~gcnn.layers.LiftingConvolution` with one input channel, ``x`` a
    ``[1, 1, H, W]`` picture. The colour scale is fixed from the maps at ``angles``
    (default every 15°) so that turning shows the maps turning and moving along the group axis.
    :meth:`show` moves the images and heading; ``.artists`` are what it moves.
    """

    def __init__(self, layer: LiftingConvolution, x: Tensor, channel: int = 0, *,
                 angles: Optional[Sequence[float]] = None, dpi: int = 80):
        if not isinstance(layer, LiftingConvolution):
            raise TypeError(f"layer must be a LiftingConvolution, got {type(layer).__name__}")
        if not 0 <= channel < layer.out_channels:
            raise ValueError(f"channel must be in [0, {layer.out_channels}), got {channel}")
        self.layer, self.x, self.channel = layer, _check_picture(x, "x"), channel
        angles = range(0, 361, 15) if angles is None else angles
        lim = max(float(self.maps(a).abs().max()) for a in angles) or 1.0
        n, names = layer.group.order, layer.group.element_names()
        self.fig, axes = plt.subplots(1, n + 1, figsize=(1.6 * (n + 1), 2.2), dpi=dpi)
        self.images = [axes[0].imshow(to_array(self.x[0, 0]), cmap="gray")]
        self.images += [ax.imshow(to_array(self.maps(0)[h]), cmap="RdBu_r", vmin=-lim,
                                  vmax=lim) for h, ax in enumerate(axes[1:])]
        axes[0].set_title("input", fontsize=10)
        for ax, name in zip(axes[1:], names):
            ax.set_title(f"map for h = {name}", fontsize=10)
        for ax in axes:
            ax.set_axis_off()
        self.heading = self.fig.suptitle(" ", fontsize=11)
        legible(self.fig, layout=self.fig.tight_layout, bbox_inches=None)
        self.artists = self.images + [self.heading]

    def maps(self, angle: float) -> Tensor:
        """The layer's maps ``[|G|, H', W']`` (channel ``.channel``) of the picture turned."""
        with torch.no_grad():
            return self.layer(rotate(self.x, float(angle)))[0, self.channel]

    def show(self, angle: float = 0.0) -> List:
        """Draw the picture turned by ``angle`` degrees clockwise; returns the moved artists."""
        turned = rotate(self.x, float(angle))
        self.images[0].set_data(to_array(turned[0, 0]))
        for artist, image in zip(self.images[1:], self.maps(angle)):
            artist.set_data(to_array(image))
        self.heading.set_text(f"input turned by {angle:.0f}° clockwise "
                              f"(channel {self.channel})")
        return self.artists


def _animation(panel, draw, frames: int, interval: int):
    from matplotlib.animation import FuncAnimation

    anim = FuncAnimation(panel.fig, draw, frames=frames, interval=interval)
    plt.close(panel.fig)
    anim.panel = panel
    return anim


def conv_move_animation(conv: nn.Module, x: Tensor, *, shifts: int = 8,
                        step: Tuple[int, int] = (6, -10), turns: int = 12, dpi: int = 80,
                        interval: int = 400):
    """:class:`ConvMovePanel` for ``shifts`` shifts by ``k * step`` then ``turns`` turns.

    The kernel-free twin of :func:`gcnn.widgets.conv_move_widget`.
    """
    panel = ConvMovePanel(conv, x, dpi=dpi)
    moves = [((step[0] * k, step[1] * k), 0.0) for k in range(shifts)]
    moves += [((0, 0), 360.0 * k / turns) for k in range(turns)]
    return _animation(panel, lambda i: panel.show(*moves[i]), len(moves), interval)


def group_action_animation(picture: Tensor, groups: Sequence[Group], *, name: str = "picture",
                           dpi: int = 80, interval: int = 1000):
    """:class:`GroupActionPanel` for every element of every group in ``groups``, in turn.

    The kernel-free twin of :func:`gcnn.widgets.group_action_widget`.
    """
    panel = GroupActionPanel(picture, groups, name=name, dpi=dpi)
    frames = [(k, i) for k, G in enumerate(panel.groups) for i in range(G.order)]
    panel.show(0, 0)
    return _animation(panel, lambda i: panel.show(*frames[i]), len(frames), interval)


def lifting_animation(layer: LiftingConvolution, x: Tensor, channel: int = 0, *,
                      angles: Optional[Sequence[float]] = None, dpi: int = 80,
                      interval: int = 250):
    """:class:`LiftingPanel` at each of ``angles`` (default every 15° from 0 to 360).

    The kernel-free twin of :func:`gcnn.widgets.lifting_widget`.
    """
    angles = list(range(0, 361, 15) if angles is None else angles)
    panel = LiftingPanel(layer, x, channel, angles=angles, dpi=dpi)
    return _animation(panel, lambda i: panel.show(angles[i]), len(angles), interval)
