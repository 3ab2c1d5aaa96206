"""Small plotting helpers for the book: images, Cayley tables, moving grid points.

Every function takes torch tensors as the rest of :mod:`gcnn` produces them and returns the
matplotlib :class:`~matplotlib.figure.Figure` it drew, so a notebook can show it, save it or
test it. Images are ``[C, H, W]`` (``C`` = 1 or 3) or ``[H, W]`` with values in ``[0, 1]``,
unless a colour map with its own scaling is asked for.

Matplotlib is imported lazily, so ``import gcnn.viz`` is cheap.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import BinaryIO, Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from .groups import CyclicGroup, Group, coordinate_grid
from .kernels import transform_images

__all__ = [
    "GOAT_CREDIT",
    "goat_path",
    "load_image",
    "to_grayscale",
    "to_numpy_image",
    "rotate_image",
    "letter_f",
    "group_label",
    "show_images",
    "plot_cayley_table",
    "plot_grid_points",
]

#: Credit line to print wherever the goat photo is shown.
GOAT_CREDIT = "Goat photo: from S. Keydana, Posit AI Blog (2023), CC BY 4.0"

ImageSource = Union[None, str, os.PathLike, bytes, bytearray, memoryview, BinaryIO]


def goat_path() -> Path:
    """Path of the goat photo shipped with the package (``gcnn/assets/goat.jpg``, 256x256)."""
    return Path(__file__).resolve().parent / "assets" / "goat.jpg"


def load_image(
    source: ImageSource = None, size: Optional[int] = 128, *, gray: bool = False
) -> Tensor:
    """Load a picture as a float tensor ``[3, size, size]`` (or ``[1, size, size]``) in ``[0, 1]``.

    Args:
        source: ``None`` for the shipped goat photo, a file path, the raw bytes of an image file
            (what an upload widget delivers) or an open binary file.
        size: side of the square result; ``None`` keeps the (center-cropped) size.
        gray: return one luminance channel instead of RGB.

    A non-square picture is center-cropped to a square first (rotating a square by 90° gives the
    same square, so no corner is lost to the frame).
    """
    from PIL import Image

    if source is None:
        source = goat_path()
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    if isinstance(source, (str, os.PathLike)) and not Path(source).is_file():
        raise FileNotFoundError(f"load_image: no image file at {str(source)!r}")
    with Image.open(source) as im:
        im = im.convert("L" if gray else "RGB")
        w, h = im.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        im = im.crop((left, top, left + side, top + side))
        if size is not None:
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ValueError(f"size must be a positive int or None, got {size!r}")
            if size != side:
                im = im.resize((size, size), Image.BICUBIC)
        array = np.asarray(im, dtype=np.float32) / 255.0
    tensor = torch.from_numpy(array.copy())
    return tensor[None] if tensor.dim() == 2 else tensor.permute(2, 0, 1).contiguous()


def to_grayscale(image: Tensor) -> Tensor:
    """RGB ``[..., 3, H, W]`` to luminance ``[..., 1, H, W]`` (ITU-R 601 weights)."""
    if image.dim() < 3 or image.shape[-3] not in (1, 3):
        raise ValueError(f"expected [..., 1 or 3, H, W], got shape {list(image.shape)}")
    if image.shape[-3] == 1:
        return image
    weights = torch.tensor([0.299, 0.587, 0.114], dtype=image.dtype, device=image.device)
    return (image * weights[:, None, None]).sum(-3, keepdim=True)


def to_numpy_image(image: Tensor) -> np.ndarray:
    """A tensor picture as a numpy array matplotlib's ``imshow`` accepts.

    ``[3, H, W]`` becomes ``[H, W, 3]`` (clipped to ``[0, 1]``); ``[1, H, W]`` and ``[H, W]``
    become ``[H, W]`` (left unclipped, for colour maps). Works for tensors on any device and with
    gradients.
    """
    image = torch.as_tensor(image).detach().cpu().float()
    if image.dim() == 3 and image.shape[0] == 1:
        image = image[0]
    if image.dim() == 2:
        return image.numpy()
    if image.dim() == 3 and image.shape[0] == 3:
        return image.permute(1, 2, 0).clamp(0, 1).numpy()
    raise ValueError(
        f"expected an image [3, H, W], [1, H, W] or [H, W], got shape {list(image.shape)}"
    )


def rotate_image(image: Tensor, degrees: float) -> Tensor:
    """Turn ``image`` (``[..., H, W]``) by any angle, clockwise on screen for positive degrees.

    Multiples of 90° are done exactly (a permutation of pixels); other angles move the
    coordinate grid with :meth:`~gcnn.groups.Group.left_action_on_R2` and read the picture there
    by bilinear interpolation, corners that come from outside the frame are black (zeros).
    """
    degrees = float(degrees) % 360.0
    quarter = round(degrees / 90.0)
    c4 = CyclicGroup(order=4).to(image.device)
    if abs(degrees - 90.0 * quarter) < 1e-9:
        element = c4.elements()[quarter % 4 : quarter % 4 + 1]
        return transform_images(image, c4, element, method="exact")[0]
    from .data import rotate  # bilinear turn by any angle, same convention

    h, w = image.shape[-2:]
    return rotate(image.reshape(1, -1, h, w), degrees).reshape(image.shape)


def letter_f(size: int = 7) -> Tensor:
    """A ``[1, size, size]`` picture of the letter F: a shape with no rotation or mirror symmetry.

    Every element of ``C4`` or ``D4`` moves it to a different picture, which makes it a good
    probe for telling group elements apart.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 5:
        raise ValueError(f"letter_f needs an int size of at least 5, got {size!r}")
    img = torch.zeros(1, size, size)
    left, top, bottom = size // 4, 1, size - 2
    img[0, top : bottom + 1, left] = 1.0  # the stem
    img[0, top, left : size - 1] = 1.0  # the top bar
    mid = (top + bottom) // 2
    img[0, mid, left : size - 2] = 1.0  # the middle bar
    return img


def group_label(group: Group) -> str:
    """A short name such as ``C4`` or ``D4`` (the class name and ``order`` for other groups)."""
    n = getattr(group, "n", None)
    prefix = {"CyclicGroup": "C", "DihedralGroup": "D"}.get(type(group).__name__)
    if prefix and n is not None:
        return f"{prefix}{n}"
    return f"{type(group).__name__}(|G|={group.order})"


def _as_image_list(images) -> list:
    if isinstance(images, Tensor):
        if images.dim() == 2:
            return [images]
        if images.dim() == 3 and images.shape[0] in (1, 3):
            return [images]
        return list(images)
    return list(images)


def show_images(
    images: Union[Tensor, Sequence[Tensor]],
    titles: Optional[Sequence[str]] = None,
    *,
    ncols: Optional[int] = None,
    cmap: Union[str, Sequence[str]] = "gray",
    symmetric: Union[bool, Sequence[bool]] = False,
    vmin: Optional[float] = None,
    vmax: Optional[float] = None,
    size: float = 2.2,
    suptitle: Optional[str] = None,
    caption: Optional[str] = None,
    colorbar: bool = False,
    interpolation: str = "antialiased",
):
    """Show pictures side by side (rows of ``ncols``) and return the figure.

    Args:
        images: a sequence of ``[3, H, W]``, ``[1, H, W]`` or ``[H, W]`` tensors, or one batched
            tensor ``[N, C, H, W]`` / ``[N, H, W]``.
        titles: one title per picture.
        ncols: pictures per row (all in one row by default, at most 6).
        cmap: colour map for one-channel pictures, or one per picture.
        symmetric: scale each one-channel picture to ``[-m, m]`` with ``m`` its largest absolute
            value (for signed maps such as differences or filter responses; use ``cmap="RdBu_r"``);
            one flag for all pictures or one per picture.
        vmin, vmax: fixed colour limits for one-channel pictures (shared by all of them).
        size: side of each panel in inches.
        suptitle: a title over the whole figure.
        caption: small text under the figure (credits, notes).
        colorbar: draw a colour bar next to each one-channel picture.
        interpolation: how ``imshow`` resamples; ``"nearest"`` shows every pixel as a square.
    """
    import matplotlib.pyplot as plt

    pics = _as_image_list(images)
    n = len(pics)
    if n == 0:
        raise ValueError("show_images needs at least one picture")
    if titles is not None and len(titles) != n:
        raise ValueError(f"got {n} pictures but {len(titles)} titles")
    cmaps = [cmap] * n if isinstance(cmap, str) else list(cmap)
    symmetrics = [symmetric] * n if isinstance(symmetric, bool) else list(symmetric)
    if len(cmaps) != n or len(symmetrics) != n:
        raise ValueError(
            f"got {n} pictures but {len(cmaps)} cmaps and {len(symmetrics)} symmetric flags"
        )
    ncols = min(n, 6) if ncols is None else max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    extra_h = (0.35 if suptitle else 0.0) + (0.25 if caption else 0.0)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + extra_h),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= n:
            continue
        arr = to_numpy_image(pics[i])
        kwargs = {}
        if arr.ndim == 2:
            lo, hi = vmin, vmax
            if symmetrics[i]:
                m = float(np.abs(arr).max()) or 1.0
                lo, hi = -m, m
            kwargs = dict(cmap=cmaps[i], vmin=lo, vmax=hi)
        shown = ax.imshow(arr, interpolation=interpolation, **kwargs)
        if colorbar and arr.ndim == 2:
            fig.colorbar(shown, ax=ax, fraction=0.046, pad=0.04)
        if titles is not None:
            ax.set_title(titles[i], fontsize=10)
    if suptitle:
        fig.suptitle(suptitle, fontsize=12)
    if caption:
        fig.text(0.5, 0.005, caption, ha="center", va="bottom", fontsize=7, color="0.35")
    fig.tight_layout(rect=(0, 0.04 if caption else 0, 1, 1))
    return fig


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
    fig.tight_layout()
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
    fig.tight_layout()
    return fig
