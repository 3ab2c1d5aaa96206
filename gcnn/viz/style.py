"""What every picture of :mod:`gcnn.viz` shares: colour maps, model colours, axes helpers.

Nothing here draws a whole figure; the plotting modules use these so that all pictures of the
book look alike (kernels in a diverging map, feature maps in ``viridis``, models in fixed
colours, in the order they are given).
"""

from __future__ import annotations

import io
import math
from typing import Callable, Dict, Mapping, Optional, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..data import rotate

__all__ = [
    "KERNEL_CMAP",
    "FEATURE_CMAP",
    "MODEL_COLORS",
    "clean_axes",
    "to_array",
    "freeze_layout",
    "grid_of_axes",
    "as_digit",
    "turn_digit",
    "check_models",
    "figure_png",
    "FramePNG",
    "COLUMN_PX",
    "MIN_TEXT_PX",
    "rendered_text",
    "smallest_text",
    "legible",
]

#: Colour map of kernels (signed; its scale is kept symmetric about 0).
KERNEL_CMAP = "RdBu_r"
#: Colour map of feature maps.
FEATURE_CMAP = "viridis"
#: Colours of the models in the line plots and bar charts, in the order they are given.
MODEL_COLORS = ("tab:orange", "tab:blue", "tab:green", "tab:purple", "tab:red", "tab:brown",
                "tab:pink", "tab:olive", "tab:cyan", "tab:gray")


def clean_axes(ax) -> None:
    """No ticks on ``ax`` (a picture's axes)."""
    ax.set_xticks([])
    ax.set_yticks([])


def to_array(x: Tensor):
    """A tensor as a float32 numpy array on the CPU, for ``imshow``."""
    return x.detach().to("cpu", torch.float32).numpy()


def freeze_layout(fig) -> None:
    """Lay out ``fig`` once with constrained layout, then keep the axes where they are.

    Constrained layout leaves room for titles above axes with a fixed aspect (``imshow``), which
    ``tight_layout`` misjudges; freezing keeps animation frames from jiggling as texts change.
    """
    fig.set_layout_engine("constrained", w_pad=0.04, h_pad=0.1, wspace=0.02, hspace=0.02)
    fig.canvas.draw()
    fig.set_layout_engine("none")


def grid_of_axes(rows: int, cols: int, cell: float, title: Optional[str]):
    """A ``rows x cols`` grid of square panels of ``cell`` inches (constrained layout)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        rows, cols, figsize=(cell * cols + 0.6, cell * rows + (0.6 if title else 0.2)),
        squeeze=False, constrained_layout=True,
    )
    if title:
        fig.suptitle(title)
    return fig, axes


def as_digit(digit: Tensor) -> Tensor:
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


def turn_digit(digit: Tensor, angles: Sequence[float]) -> Tensor:
    """One digit ``[1, 1, H, W]`` turned by each angle: ``[N, 1, H, W]`` (float64 rotation)."""
    angles_t = torch.tensor([float(a) for a in angles], dtype=torch.float64)
    return rotate(digit.double().expand(len(angles_t), -1, -1, -1), angles_t).float()


def check_models(models: Mapping[str, nn.Module]) -> Dict[str, nn.Module]:
    """A non-empty ``{name: model}`` dict, or a ValueError."""
    if not isinstance(models, Mapping) or not models:
        raise ValueError("models must be a non-empty dict {name: model}")
    return dict(models)


def figure_png(fig, dpi: int = 80) -> bytes:
    """``fig`` as PNG bytes at ``dpi``; the figure is closed."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


class FramePNG:
    """PNG frames of a figure in which only ``artists`` change: the rest is drawn once.

    The figure is drawn without ``artists`` (they are marked animated) and that picture kept;
    :meth:`png` pastes it back and draws only the artists on top (blitting on matplotlib's Agg
    canvas), then encodes with light compression: a fraction of a ``savefig``'s time, for live
    widgets. Make a new one when the figure's layout changes.
    """

    def __init__(self, fig, artists: Sequence):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        from matplotlib.image import AxesImage

        self.fig, self.artists = fig, list(artists)
        # the frames of the pictures go back on top of them, as in a full draw
        framed = dict.fromkeys(a.axes for a in self.artists if isinstance(a, AxesImage))
        self.artists += [spine for ax in framed for spine in ax.spines.values()
                         if spine.get_visible()]
        if not isinstance(fig.canvas, FigureCanvasAgg):
            FigureCanvasAgg(fig)
        for artist in self.artists:
            artist.set_animated(True)
        fig.canvas.draw()
        self.background = fig.canvas.copy_from_bbox(fig.bbox)

    def png(self) -> bytes:
        """The figure as it is now, as PNG bytes (at the figure's dpi)."""
        from PIL import Image

        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        renderer = canvas.get_renderer()
        for artist in self.artists:
            artist.draw(renderer)
        buf = io.BytesIO()
        Image.fromarray(np.asarray(canvas.buffer_rgba())).save(buf, format="PNG",
                                                               compress_level=1)
        return buf.getvalue()


#: Width of the book's text column in CSS pixels (Chromium at 1280x800): a wider picture is
#: scaled down to it, and its text with it.
COLUMN_PX = 752
#: The smallest text a reader should have to read, in CSS pixels at the rendered size (9 pt).
MIN_TEXT_PX = 12.0


def _drawn_texts(fig, dpi: float, placeholders: bool = False):
    """Draw ``fig`` at ``dpi`` on an Agg renderer: the renderer and the texts actually drawn.

    ``placeholders``: also blank texts (``" "``, a heading a later frame fills in)."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.text import Text

    drawn = []
    text_draw = Text.draw

    def record(self, renderer):
        shown = self.get_text() if placeholders else self.get_text().strip()
        if self.get_visible() and shown and self.figure is fig:
            drawn.append(self)
        return text_draw(self, renderer)

    old_dpi = fig.dpi
    fig.dpi = dpi  # as savefig does: layout and text extents at the saved dpi
    try:
        width, height = fig.get_size_inches() * dpi
        renderer = RendererAgg(max(1, int(width)), max(1, int(height)), dpi)
        Text.draw = record
        try:
            fig.draw(renderer)
        finally:
            Text.draw = text_draw
        return renderer, list(dict.fromkeys(drawn))
    finally:
        fig.dpi = old_dpi


def rendered_text(fig, *, dpi: Optional[float] = None, bbox_inches=None,
                  pad_inches: Optional[float] = None, column_px: float = COLUMN_PX):
    """Every visible text of ``fig`` at the size a reader sees it, smallest first.

    ``fig`` saved at ``dpi`` (the figure's own by default) is an image ``natural`` pixels wide
    (the whole figure, or its tight box and ``pad_inches`` around it for
    ``bbox_inches="tight"``, as ``savefig`` and the notebook's inline backend crop it); the book
    shows it at ``min(1, column_px / natural)`` of that, so a text of ``s`` points is
    ``s * dpi / 72 * scale`` CSS pixels high.

    Returns:
        ``(texts, info)``: ``texts`` a list of ``(px, text)`` sorted by ``px``, ``info`` a dict
        with ``natural_px`` (width, height), ``scale`` and ``dpi``.
    """
    import matplotlib

    dpi = float(dpi or fig.dpi)
    if dpi <= 0:  # "figure"
        dpi = float(fig.dpi)
    renderer, texts = _drawn_texts(fig, dpi)
    width_in, height_in = fig.get_size_inches()
    if bbox_inches == "tight":
        pad = matplotlib.rcParams["savefig.pad_inches"] if pad_inches is None else pad_inches
        old_dpi = fig.dpi
        fig.dpi = dpi
        try:
            box = fig.get_tightbbox(renderer)
        finally:
            fig.dpi = old_dpi
        width_in, height_in = box.width + 2 * pad, box.height + 2 * pad
    elif bbox_inches is not None and hasattr(bbox_inches, "width"):
        width_in, height_in = bbox_inches.width, bbox_inches.height
    natural = (width_in * dpi, height_in * dpi)
    scale = min(1.0, column_px / natural[0])
    sized = sorted(((float(t.get_fontsize() * dpi / 72.0 * scale), t.get_text()) for t in texts),
                   key=lambda pair: pair[0])
    return sized, {"natural_px": natural, "scale": scale, "dpi": dpi}


def smallest_text(fig, **kwargs):
    """The smallest visible text of ``fig`` as the book shows it: ``(px, text)``.

    ``px`` is in CSS pixels (``inf`` and ``""`` for a figure without text); the keywords are
    those of :func:`rendered_text`.
    """
    texts, _ = rendered_text(fig, **kwargs)
    return texts[0] if texts else (float("inf"), "")


def legible(fig, *, layout: Optional[Callable[[], None]] = None, dpi: Optional[float] = None,
            bbox_inches="tight", fit: bool = True, min_px: float = MIN_TEXT_PX,
            column_px: float = COLUMN_PX, rounds: int = 4):
    """Make every text of ``fig`` at least ``min_px`` CSS pixels as the book shows it.

    ``fig`` is measured as :func:`rendered_text` does (saved at ``dpi``, cropped to its tight box
    or not). A figure wider than the column is first made narrower (``fit``; same aspect, same
    text in points), which the browser would otherwise do by shrinking it, text and all; then
    every text still under ``min_px`` is raised to it (tick labels through their axis, so new
    ticks match), texts large enough are left alone. Both change the figure's extent, so it is
    measured again, up to ``rounds`` times. ``layout`` lays the figure out (for example
    ``fig.tight_layout`` or ``lambda: freeze_layout(fig)``); it is called before each measure and
    at the end (constrained layout needs none: it lays out at every draw). Returns ``fig``.
    """
    import matplotlib

    pad = matplotlib.rcParams["savefig.pad_inches"] if bbox_inches == "tight" else 0.0
    for _ in range(rounds):
        if layout is not None:
            layout()
        _, info = rendered_text(fig, dpi=dpi, bbox_inches=bbox_inches, column_px=column_px)
        if fit and info["scale"] < 0.995:
            width, height = fig.get_size_inches()
            content = info["natural_px"][0] / info["dpi"] - 2 * pad  # inches
            factor = (column_px / info["dpi"] - 2 * pad) / content * 0.99
            fig.set_size_inches(width * factor, height * factor)
            continue
        _, texts = _drawn_texts(fig, info["dpi"], placeholders=True)
        px_per_pt = info["dpi"] / 72.0 * info["scale"]
        small = [t for t in texts if t.get_fontsize() * px_per_pt < min_px]
        if not small:
            break
        size = math.ceil(2 * min_px * 1.01 / px_per_pt) / 2  # in half points, a bit above
        for ax in fig.axes:
            for axis in (ax.xaxis, ax.yaxis):
                labels = set(axis.get_ticklabels(which="both"))
                if any(t in labels for t in small):
                    axis.set_tick_params(which="both", labelsize=size)
        for text in small:
            text.set_fontsize(size)
    if layout is not None:
        layout()
    return fig
