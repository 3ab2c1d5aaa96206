"""What every picture of :mod:`gcnn.viz` shares: colour maps, model colours, axes helpers.

Nothing here draws a whole figure; the plotting modules use these so that all pictures of the
book look alike (kernels in a diverging map, feature maps in ``viridis``, models in fixed
colours, in the order they are given).
"""

from __future__ import annotations

import io
from typing import Dict, Mapping, Optional, Sequence

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
