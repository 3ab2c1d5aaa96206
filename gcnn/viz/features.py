"""Pictures of feature maps: on a group, and as a network sees a turning digit.

* :func:`plot_group_feature_maps`: a feature map on a group, one panel per channel and element;
* :func:`rotated_features`, :func:`plot_feature_maps`, :func:`feature_map_animation`: what one
  layer of each network makes of a digit as it turns (a still, and a kernel-free animation to
  embed with :func:`gcnn.widgets.animation_html`); :class:`FeatureMapPanel` redraws that row in
  place for any digit, angle and layer (behind :func:`gcnn.widgets.feature_map_widget`).

Digits are ``[1, H, W]`` (or ``[1, 1, H, W]``) float tensors in ``[0, 1]``, turned with
:func:`gcnn.data.rotate`; models are passed as a dict ``{name: model}``, shown in its order.
"""

from __future__ import annotations

from typing import Dict, List, Mapping, NamedTuple, Optional, Sequence

import torch
from matplotlib.figure import Figure
from torch import Tensor, nn

from ..metrics import eval_mode, model_device
from .style import (
    FEATURE_CMAP,
    as_digit,
    check_models,
    clean_axes,
    freeze_layout,
    grid_of_axes,
    legible,
    to_array,
    turn_digit,
)

__all__ = [
    "plot_group_feature_maps",
    "FeatureFrames",
    "rotated_features",
    "plot_feature_maps",
    "feature_map_animation",
    "FeatureMapPanel",
]


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
    fig, axes = grid_of_axes(rows, cols, cell, title)
    for r in range(rows):
        for c in range(cols):
            ax = axes[r, c]
            im = ax.imshow(to_array(x[r, c]), cmap=cmap, vmin=vmin, vmax=vmax)
            clean_axes(ax)
            if r == 0 and names is not None:
                ax.set_title(names[c], fontsize=9)
            if c == 0 and rows > 1:
                ax.set_ylabel(row_labels[r], fontsize=9)
    fig.colorbar(im, ax=axes, shrink=0.8, aspect=30 if rows > 2 else 12)
    return legible(fig)



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
    names: Optional[List[str]] = None  #: the group elements of the ``K`` maps (G-CNN only)


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
    images = turn_digit(as_digit(digit), angles)
    with eval_mode(model):
        feats = model.features(images.to(model_device(model)))
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
    groups = getattr(model, "layer_groups", None)
    names = groups[layer].element_names() if groups is not None else None
    return FeatureFrames(angles, images, f[:, channel], int(channel), int(layer), names)


def _feature_layout(frames: Dict[str, FeatureFrames], nrows: int, panel: float, dpi):
    """A figure with one digit column and, per model, one column per map; returns fig, axes."""
    import matplotlib.pyplot as plt

    ncols = 1 + sum(f.maps.shape[1] for f in frames.values())
    fig, axes = plt.subplots(nrows, ncols, figsize=(panel * ncols + 0.2, panel * nrows + 0.45),
                             dpi=dpi, squeeze=False)
    for ax in axes.flat:
        clean_axes(ax)
    col = 1
    for name, f in frames.items():
        k = f.maps.shape[1]
        names = f.names if f.names is not None and len(f.names) == k else None
        names = names or [f"g{i}" for i in range(k)]
        for j, g in enumerate(names):
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
    models = check_models(models)
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
    legible(fig, layout=lambda: freeze_layout(fig))
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
    legible(fig, layout=lambda: freeze_layout(fig), bbox_inches=None)

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


class FeatureMapPanel:
    """The row of :func:`feature_map_animation` for any digit, angle and layer, redrawn in place.

    :meth:`show` computes one forward pass per model. For each digit and layer the channel of
    each model (the busiest) and its colour scale are fixed from the four quarter turns, so the
    colours compare across angles; a new digit or layer lays the figure out again (``.fig`` is
    then a new figure), a new angle only moves the pictures' data.
    """

    def __init__(self, models: Mapping[str, nn.Module], *, panel: float = 1.1, dpi: int = 100):
        self.models, self.panel, self.dpi = check_models(models), panel, dpi
        self.fig, self._key = None, None

    def _layout(self, digit: Tensor, layer: int) -> None:
        import matplotlib.pyplot as plt

        quarter = _frames_for(self.models, digit, (0, 90, 180, 270), layer, None)
        self.channels = {name: f.channel for name, f in quarter.items()}
        self.limits = _limits(quarter)
        if self.fig is not None:
            plt.close(self.fig)
        self.fig, axes = _feature_layout(quarter, 1, self.panel, self.dpi)
        plt.close(self.fig)  # drawn on demand, never shown by pyplot
        self.shown = _draw_feature_row(axes[0], quarter, 0, self.limits)
        self.label = axes[0, 0].set_title("360° clockwise", fontsize=9)
        self.artists = [*self.shown, self.label]  # what show() moves
        legible(self.fig, layout=lambda: freeze_layout(self.fig), bbox_inches=None)

    def show(self, digit: Tensor, angle: float, layer: int = 1):
        """Draw ``layer``'s maps of ``digit`` turned by ``angle``; returns the frames drawn."""
        digit = as_digit(digit)
        key = (digit.numpy().tobytes(), int(layer))
        if key != self._key:
            self._layout(digit, layer)
            self._key = key
        frames = _frames_for(self.models, digit, [angle], layer, self.channels)
        self.shown[0].set_data(next(iter(frames.values())).images[0, 0].numpy())
        k = 1
        for f in frames.values():
            for j in range(f.maps.shape[1]):
                self.shown[k].set_data(f.maps[0, j].numpy())
                k += 1
        self.label.set_text(f"{float(angle):.0f}° clockwise")
        return frames
