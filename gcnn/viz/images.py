"""Pictures as tensors: load, convert, turn, draw side by side.

Every function takes torch tensors as the rest of :mod:`gcnn` produces them; the drawing ones
return the matplotlib :class:`~matplotlib.figure.Figure` they drew, so a notebook can show it,
save it or test it. Images are ``[C, H, W]`` (``C`` = 1 or 3) or ``[H, W]`` with values in
``[0, 1]``, unless a colour map with its own scaling is asked for. Pictures are read by
:func:`gcnn.data.load_image` (re-exported here); matplotlib is imported lazily.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import torch
from torch import Tensor

from ..data import GOAT_PATH, ImageSource, load_image, rotate  # noqa: F401  (re-exported)
from ..groups import CyclicGroup, coordinate_grid
from ..kernels import transform_images
from .style import legible

__all__ = [
    "GOAT_CREDIT",
    "as_picture",
    "goat_path",
    "to_grayscale",
    "to_numpy_image",
    "image_to_png",
    "rotate_image",
    "letter_f",
    "toy_image",
    "show_images",
    "plot_digit_grid",
]

#: Credit line to print wherever the goat photo is shown.
GOAT_CREDIT = "Goat photo: Marjan Blan on Unsplash, as used in S. Keydana, Posit AI Blog (2023)"


def goat_path() -> Path:
    """Path of the goat photo shipped with the package (``gcnn/assets/goat.jpg``, 256x256)."""
    return GOAT_PATH


_ACCEPTED = ("a tensor [1 or 3, H, W] or [H, W] (floats in [0, 1], or uint8 in [0, 255]), a "
             "file path, the raw bytes of an image file, an open binary file, or None (the goat)")


def as_picture(image, size: Optional[int] = 128) -> Tensor:
    """A square float picture ``[C, H, W]`` in ``[0, 1]``: what the rotation widget shows.

    Args:
        image: a tensor ``[1 or 3, H, W]`` or ``[H, W]`` (floats in ``[0, 1]``; uint8 is scaled
            to ``[0, 1]``), a file path, the raw bytes of an image file, an open binary file, or
            ``None`` for the goat.
        size: side of a picture read from a file or bytes (:func:`~gcnn.data.load_image`);
            tensors keep their size.

    A non-square picture is center-cropped to a square, as :func:`~gcnn.data.load_image` does
    with files: exact quarter turns need a square.

    Raises:
        TypeError: anything else (the message says what is accepted).
        ValueError: a tensor of another shape.
    """
    if isinstance(image, Tensor):
        if image.dim() == 2:
            image = image[None]
        if image.dim() != 3 or image.shape[0] not in (1, 3):
            raise ValueError(
                f"expected a picture [1 or 3, H, W] or [H, W], got shape {list(image.shape)}"
            )
        image = image.detach().cpu()
        if image.dtype == torch.uint8:
            image = image.float() / 255.0
        elif not image.is_floating_point():
            raise TypeError(f"expected {_ACCEPTED}; got a tensor of {image.dtype}: convert it "
                            f"with .float() / 255 (or to uint8)")
        h, w = image.shape[-2:]
        side = min(h, w)
        top, left = (h - side) // 2, (w - side) // 2
        return image[:, top : top + side, left : left + side].float().contiguous()
    if image is None or isinstance(image, (str, os.PathLike, bytes, bytearray, memoryview)) \
            or hasattr(image, "read"):
        return load_image(image, size)
    raise TypeError(f"expected {_ACCEPTED}; got {type(image).__name__}")


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



def image_to_png(image: Tensor, cmap: str = "gray") -> bytes:
    """Encode a ``[3, H, W]`` picture in ``[0, 1]`` (or ``[1, H, W]``, ``[H, W]``) as PNG bytes.

    One-channel pictures are scaled from their own minimum to maximum and coloured with ``cmap``.
    """
    from PIL import Image

    arr = to_numpy_image(image)
    if arr.ndim == 2:
        import matplotlib

        lo, hi = float(arr.min()), float(arr.max())
        arr = (arr - lo) / (hi - lo) if hi > lo else np.zeros_like(arr)
        arr = matplotlib.colormaps[cmap](arr)[..., :3]
    buf = io.BytesIO()
    Image.fromarray((np.clip(arr, 0, 1) * 255).round().astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()



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
    extra_h = 0.35 if suptitle else 0.0
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
    legible(fig, layout=fig.tight_layout)  # at most the book's column, text 9 pt as shown
    if caption:
        fig.tight_layout(rect=(0, add_caption(fig, caption), 1, 1))
    return fig


def add_caption(fig, caption: str, fontsize: float = 9.0) -> float:
    """Put ``caption`` (a credit, a note) under ``fig``, wrapped to its width, in grey.

    The figure grows by the caption's lines; returns the fraction of its height they take
    (the bottom of the ``rect`` for ``tight_layout``).
    """
    import textwrap

    width, height = fig.get_size_inches()
    per_line = max(20, int(width * 72 / (0.52 * fontsize)))  # characters that fit a line
    lines = textwrap.wrap(caption, width=per_line)
    extra = (len(lines) * 1.25 * fontsize + 4) / 72  # inches
    fig.set_size_inches(width, height + extra)
    fig.text(0.5, 0.5 * fontsize / 72 / (height + extra), "\n".join(lines), ha="center",
             va="bottom", fontsize=fontsize, color="0.35", linespacing=1.25)
    return extra / (height + extra)


def plot_digit_grid(images: Tensor, labels: Tensor, angles: Optional[Sequence[float]] = None, *,
                    ncols: int = 8, size: float = 1.1):
    """Digits ``[N, 1, H, W]`` in rows of ``ncols``, titled with their label (and angle)."""
    import matplotlib.pyplot as plt

    n = images.shape[0]
    if n == 0 or labels.shape[0] != n or (angles is not None and len(angles) != n):
        raise ValueError(f"need as many labels (and angles) as images: {n} images, "
                         f"{labels.shape[0]} labels, {None if angles is None else len(angles)} "
                         f"angles")
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, (size + 0.25) * nrows),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= n:
            continue
        ax.imshow(images[i, 0].detach().cpu().numpy(), cmap="gray", vmin=0, vmax=1,
                  interpolation="nearest")
        title = f"{int(labels[i])}"
        if angles is not None:
            title += f" · {float(angles[i]):.0f}°"
        ax.set_title(title, fontsize=9)
    legible(fig, layout=lambda: fig.tight_layout(pad=0.3))
    return fig
