"""MNIST for the rotated-digits experiment, the rotation that turns it, and pictures.

Everything is loaded once into memory as float tensors: images ``[N, 1, 28, 28]`` in ``[0, 1]``
(no further normalisation) and labels ``[N]`` (int64). The splits are fixed:

* :func:`train_set`: the 60,000 upright training digits minus a held-out validation split, 55,000;
* :func:`val_set`: the 5,000 held-out digits (a seeded random choice, ``SPLIT_SEED``);
* :func:`test_set`: the 10,000 upright test digits;
* :func:`fixed_rotated_test_set`: every test digit turned once, by its own angle drawn uniformly
  in ``[0, 360)`` degrees from ``torch.Generator().manual_seed(ROTATION_SEED)``; the same pictures
  on every run and machine (computed in float64, then stored as float32);
* :func:`rotated_test_set`: all test digits turned by one given angle.

Where the data lives: the ``root`` argument, else the environment variable ``GCNN_DATA``, else
``./data`` (torchvision's layout: ``ROOT/MNIST/raw/...``). It is downloaded there when missing,
unless ``download=False``.

Rotation follows the package convention (:mod:`gcnn.groups`): a positive angle turns the picture
*clockwise* on screen, ``rotate(x, 90)`` equals ``torch.rot90(x, 1, dims=(-1, -2))``.

The returned tensors are cached and shared between callers: do not modify them in place.
"""

from __future__ import annotations

import functools
import io
import os
from pathlib import Path
from typing import BinaryIO, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor

from . import mnist_files
from .groups import coordinate_grid

__all__ = [
    "SPLIT_SEED",
    "VAL_SIZE",
    "ROTATION_SEED",
    "data_root",
    "mnist",
    "train_set",
    "val_set",
    "test_set",
    "fixed_rotation_angles",
    "fixed_rotated_test_set",
    "rotated_test_set",
    "rotate",
    "clear_cache",
    "GOAT_PATH",
    "load_image",
    "load_goat",
]

#: Seed of the permutation that picks the validation digits out of the training set.
SPLIT_SEED = 0
#: Number of training digits held out for validation.
VAL_SIZE = 5000
#: Seed of the angles of the fixed rotated test set.
ROTATION_SEED = 0

Pair = Tuple[Tensor, Tensor]

_GOAT = Path(__file__).resolve().parent / "assets" / "goat.jpg"


# -- where the data is ------------------------------------------------------------------------
def data_root(root: Union[str, os.PathLike, None] = None) -> Path:
    """The MNIST root: ``root`` if given, else ``$GCNN_DATA``, else ``./data`` (made absolute)."""
    if root is None:
        root = os.environ.get("GCNN_DATA") or "data"
    return Path(root).expanduser().resolve()


@functools.lru_cache(maxsize=2)
def _load(root: str, train: bool) -> Pair:
    raw = mnist_files.raw_dir(Path(root))
    prefix = "train" if train else "t10k"
    images = mnist_files.read_idx(raw / f"{prefix}-images-idx3-ubyte")
    labels_path = raw / f"{prefix}-labels-idx1-ubyte"
    labels = mnist_files.read_idx(labels_path).to(torch.int64)
    bad = (labels > 9).nonzero()
    if len(bad):
        i = int(bad[0, 0])
        raise ValueError(
            f"{labels_path}: MNIST labels are the digits 0 to 9, but it holds {int(labels[i])} "
            f"(at index {i}); {mnist_files.fix_hint(labels_path)}"
        )
    return images.unsqueeze(1).to(torch.float32).div_(255.0), labels  # [N, 1, 28, 28] in [0, 1]


def _ensure(root, download: Optional[bool]) -> str:
    """The resolved root as a string, after downloading the files if they are missing."""
    path = data_root(root)
    missing = mnist_files.missing_files(path)
    if missing:
        env = os.environ.get("GCNN_DATA")
        source = f" (GCNN_DATA={env!r})" if root is None and env else ""
        mnist_files.download(path, missing, download, source)
    return str(path)


def mnist(train: bool, root=None, download: Optional[bool] = None) -> Pair:
    """All of MNIST's training (60,000) or test (10,000) digits.

    Args:
        train: the training file if true, else the test file.
        root: the data directory (see :func:`data_root`).
        download: ``None`` (default) downloads only when the files are missing; ``False`` never
            downloads; ``True`` is the same as ``None`` (files already there are used).

    Returns:
        ``(images [N, 1, 28, 28] float32 in [0, 1], labels [N] int64)``.

    Raises:
        FileNotFoundError: files are missing and could not (or may not) be downloaded; the
            message names the directory, the missing files and what to do.
        ValueError: a file is not the MNIST file its name says (checked by magic number, shape,
            count, size and label range); the message names the file and what to do.
    """
    return _load(_ensure(root, download), bool(train))


@functools.lru_cache(maxsize=4)
def _split_indices(n: int, val_size: int, seed: int) -> Tuple[Tensor, Tensor]:
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[val_size:], perm[:val_size]


@functools.lru_cache(maxsize=2)
def _splits(root: str) -> Tuple[Pair, Pair]:
    x, y = _load(root, True)
    train_idx, val_idx = _split_indices(x.shape[0], VAL_SIZE, SPLIT_SEED)
    return (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx])


def train_set(root=None, download: Optional[bool] = None) -> Pair:
    """The 55,000 upright training digits (the training file minus :func:`val_set`)."""
    return _splits(_ensure(root, download))[0]


def val_set(root=None, download: Optional[bool] = None) -> Pair:
    """The 5,000 held-out upright validation digits (seeded by ``SPLIT_SEED``)."""
    return _splits(_ensure(root, download))[1]


def test_set(root=None, download: Optional[bool] = None) -> Pair:
    """The 10,000 upright test digits."""
    return mnist(False, root, download)


# -- rotation ---------------------------------------------------------------------------------
def rotate(images: Tensor, angles: Union[Tensor, float]) -> Tensor:
    """Turn images about their centre by angles in degrees (positive = clockwise on screen).

    Bilinear, corners on ``±1`` (``align_corners=True``), zeros outside, as
    :func:`gcnn.kernels.transform_images`: output pixel ``p`` reads the input at ``R(-θ) p``, so
    ``rotate(x, 90)`` is ``torch.rot90(x, 1, dims=(-1, -2))`` up to round-off.

    Args:
        images: ``[B, C, H, W]``.
        angles: one angle for all images (a float or 0-d tensor) or one per image, ``[B]``.

    Returns:
        ``[B, C, H, W]``, same dtype and device as ``images``.

    Raises:
        ValueError: a wrong shape, or an angle that is NaN or infinite.
    """
    if images.dim() != 4:
        raise ValueError(f"rotate expects images [B, C, H, W], got shape {list(images.shape)}")
    b, _, h, w = images.shape
    theta = torch.as_tensor(angles, dtype=torch.float64)
    # (not while torch.export traces it into a graph, torch>=2.6: the angle has no value yet)
    exporting = getattr(torch.compiler, "is_exporting", lambda: False)()
    bad = None if exporting else (~torch.isfinite(theta)).reshape(-1).nonzero()
    if bad is not None and len(bad):
        i = int(bad[0, 0])
        where = "" if theta.dim() == 0 else f" at index {i}"
        raise ValueError(
            f"angles must be finite numbers of degrees, got {float(theta.reshape(-1)[i])}{where}"
        )
    if theta.dim() == 0:
        theta = theta.expand(b)
    if theta.shape != (b,):
        raise ValueError(
            f"angles must be a number or have shape [B={b}], got shape {list(theta.shape)}"
        )
    # Sample the picture at R(-θ) p: the rotation matrix of gcnn.groups, [[c, -s], [s, c]] at -θ.
    rad = torch.deg2rad(-theta)
    c, s = torch.cos(rad), torch.sin(rad)
    mats = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)  # [B, 2, 2]
    grid = coordinate_grid(h, w, dtype=torch.float64)  # [2, H, W]
    sample_at = torch.einsum("bij,jhw->bhwi", mats, grid)
    sample_at = sample_at.to(device=images.device, dtype=images.dtype)
    return F.grid_sample(
        images, sample_at, mode="bilinear", padding_mode="zeros", align_corners=True
    )


@functools.lru_cache(maxsize=2)
def fixed_rotation_angles(n: int = 10000, seed: int = ROTATION_SEED) -> Tensor:
    """The ``[n]`` float64 angles (degrees, uniform in ``[0, 360)``) of the fixed rotated set."""
    return torch.rand(n, generator=torch.Generator().manual_seed(seed), dtype=torch.float64) * 360


@functools.lru_cache(maxsize=2)
def _fixed_rotated(root: str) -> Pair:
    x, y = _load(root, False)
    angles = fixed_rotation_angles(x.shape[0])
    out = torch.empty_like(x)
    for i in range(0, x.shape[0], 2000):  # float64 so that every machine gets the same pixels
        out[i : i + 2000] = rotate(x[i : i + 2000].double(), angles[i : i + 2000]).float()
    return out, y


def fixed_rotated_test_set(root=None, download: Optional[bool] = None) -> Pair:
    """Every test digit turned once, by its angle in :func:`fixed_rotation_angles`.

    Returns ``(images [10000, 1, 28, 28], labels [10000])``; identical on every run and machine.
    Kept in memory only (never written to disk).
    """
    return _fixed_rotated(_ensure(root, download))


def rotated_test_set(angle: float, root=None, download: Optional[bool] = None) -> Pair:
    """All 10,000 test digits turned by the same ``angle`` (degrees, clockwise)."""
    x, y = test_set(root, download)
    return rotate(x.double(), float(angle)).float(), y


def clear_cache() -> None:
    """Forget every loaded and rotated tensor (the next call reads and computes afresh)."""
    for f in (_load, _split_indices, _splits, fixed_rotation_angles, _fixed_rotated):
        f.cache_clear()


# -- pictures: the goat, or any other ------------------------------------------------------
#: Where the goat photo shipped with the package lives (256x256 JPEG).
GOAT_PATH = _GOAT

ImageSource = Union[None, str, os.PathLike, bytes, bytearray, memoryview, BinaryIO]


def load_image(source: ImageSource = None, size: Union[int, Tuple[int, int], None] = 128, *,
               gray: bool = False) -> Tensor:
    """Load a picture as a float tensor ``[3, H, W]`` (or ``[1, H, W]``) in ``[0, 1]``.

    Args:
        source: ``None`` for the shipped goat photo, a file path, the raw bytes of an image file
            (what an upload widget delivers) or an open binary file.
        size: side of the square result, or ``(H, W)``; ``None`` keeps the (center-cropped) size.
        gray: return one luminance channel instead of RGB.

    A non-square picture is center-cropped to a square first (rotating a square by 90° gives the
    same square, so no corner is lost to the frame); resizing uses PIL's bicubic filter.
    """
    import numpy as np
    from PIL import Image

    if source is None:
        source = GOAT_PATH
    if isinstance(source, (bytes, bytearray, memoryview)):
        source = io.BytesIO(bytes(source))
    if isinstance(source, (str, os.PathLike)) and not Path(source).is_file():
        raise FileNotFoundError(f"load_image: no image file at {str(source)!r}")
    if size is not None and not isinstance(size, tuple):
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive int, (H, W) or None, got {size!r}")
        size = (size, size)
    with Image.open(source) as im:
        im = im.convert("L" if gray else "RGB")
        w, h = im.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        im = im.crop((left, top, left + side, top + side))
        if size is not None and tuple(size) != (side, side):
            im = im.resize((size[1], size[0]), Image.BICUBIC)
        array = np.asarray(im, dtype=np.float32) / 255.0
    tensor = torch.from_numpy(array.copy())
    return tensor[None] if tensor.dim() == 2 else tensor.permute(2, 0, 1).contiguous()


def load_goat(size: Union[int, Tuple[int, int], None] = None) -> Tensor:
    """The goat picture shipped with the package, ``[3, H, W]`` float32 in ``[0, 1]``.

    Args:
        size: ``None`` keeps the file's 256x256; an int ``s`` gives ``s x s``; ``(H, W)`` that size
            (resized with PIL's bicubic filter).
    """
    return load_image(GOAT_PATH, size)
