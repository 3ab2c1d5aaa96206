"""What every picture of :mod:`gcnn.viz` shares: colour maps, model colours, axes helpers.

Nothing here draws a whole figure; the plotting modules use these so that all pictures of the
book look alike (kernels in a diverging map, feature maps in ``viridis``, models in fixed
colours, in the order they are given).
"""

from __future__ import annotations

import io
from typing import Dict, Mapping, Optional, Sequence

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
