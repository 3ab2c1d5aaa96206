"""MNIST's four raw files: where they are, checking them and reading them, the download.

Each file is checked before it is read (IDX magic number, item count, item shape, exact size),
so a damaged file, a web page saved under the file's name, or another split's file copied over
it is refused with a ValueError that names the file, what was expected, what was found and
what to do. :mod:`gcnn.data` builds the splits and test sets on top of this.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import List, Optional, Tuple

import torch
from torch import Tensor

__all__ = ["MNIST_FILES", "raw_dir", "missing_files", "fix_hint", "check_idx", "read_idx",
           "describe_missing", "download"]


#: Each MNIST file: the IDX magic number (unsigned bytes, 3 or 1 dimensions), how many items it
#: holds and the shape of one item.
MNIST_FILES = {
    "train-images-idx3-ubyte": (0x00000803, 60000, (28, 28)),
    "train-labels-idx1-ubyte": (0x00000801, 60000, ()),
    "t10k-images-idx3-ubyte": (0x00000803, 10000, (28, 28)),
    "t10k-labels-idx1-ubyte": (0x00000801, 10000, ()),
}
KIND = {0x00000803: "images", 0x00000801: "labels"}


def raw_dir(root: Path) -> Path:
    return root / "MNIST" / "raw"


def missing_files(root: Path) -> List[str]:
    return [name for name in MNIST_FILES if not (raw_dir(root) / name).is_file()]


def fix_hint(path: Path) -> str:
    return (
        f"replace it with MNIST's original {path.name} (or delete it, and gcnn.data downloads "
        f"the files again), or set GCNN_DATA (or pass root=) to a directory with a good copy"
    )


def check_idx(path: Path) -> Tuple[int, ...]:
    """Check one MNIST file's magic number, shape and size; return its shape.

    Raises a ValueError that names the file, what was expected and what was found.
    """
    magic, count, item = MNIST_FILES[path.name]
    kind, shape = KIND[magic], (count, *item)
    header = 4 + 4 * len(shape)
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(header)
    if size == 0:
        raise ValueError(f"{path} is empty; expected MNIST's {count} {kind}: {fix_hint(path)}")
    found = int.from_bytes(head[:4], "big") if len(head) >= 4 else None
    if found not in KIND:
        raise ValueError(
            f"{path} is not an MNIST file: MNIST's {kind} start with the magic number "
            f"0x{magic:08x}, this file starts with 0x{head[:4].hex()} (is it a web page or an "
            f"archive?); {fix_hint(path)}"
        )
    if found != magic:
        raise ValueError(
            f"{path} should hold MNIST {kind} (magic number 0x{magic:08x}) but starts with "
            f"0x{found:08x}, the magic number of MNIST {KIND[found]}; {fix_hint(path)}"
        )
    dims = tuple(int.from_bytes(head[4 + 4 * i : 8 + 4 * i], "big") for i in range(len(shape)))
    if dims != shape:
        split = "test" if count == 10000 else "training"
        raise ValueError(
            f"{path} should hold the {count} {kind} of MNIST's {split} set, shape {list(shape)}, "
            f"but holds shape {list(dims)} (another split's file copied over it?); "
            f"{fix_hint(path)}"
        )
    want = header + math.prod(shape)
    if size != want:
        raise ValueError(
            f"{path} should have {want} bytes ({header}-byte header and {count} {kind}), but "
            f"has {size}: it is truncated or damaged; {fix_hint(path)}"
        )
    return shape


def read_idx(path: Path) -> Tensor:
    """The checked contents of one MNIST file as a uint8 tensor of its shape."""
    shape = check_idx(path)
    body = path.read_bytes()[4 + 4 * len(shape) :]
    return torch.frombuffer(bytearray(body), dtype=torch.uint8).reshape(shape)


def describe_missing(root: Path, missing: List[str], source: str) -> str:
    if not root.exists():
        return f"the data directory {root} does not exist{source}"
    if len(missing) == len(MNIST_FILES):
        return f"no MNIST files under {raw_dir(root)}{source}"
    return (
        f"{raw_dir(root)} has some MNIST files, but {', '.join(missing)} "
        f"{'is' if len(missing) == 1 else 'are'} missing{source}"
    )


def download(root: Path, missing: List[str], download: Optional[bool], source: str) -> None:
    """Download the MNIST files into ``root`` with torchvision, or raise a clear error.

    Directories made for a download that then fails are removed again, so a mistyped root
    leaves nothing behind.
    """
    where = describe_missing(root, missing, source)
    hint = (
        f"Put the four MNIST files (torchvision layout: {raw_dir(root)}/*-ubyte) there, or set "
        f"the environment variable GCNN_DATA (or pass root=) to a directory that holds them"
    )
    if download is False:
        raise FileNotFoundError(f"{where}, and download=False. {hint}.")
    from torchvision.datasets import MNIST

    made, d = [], raw_dir(root)
    while not d.exists():  # every directory the download will make, deepest first
        made.append(d)
        d = d.parent
    try:
        MNIST(str(root), train=False, download=True)  # fetches all four files
        still = missing_files(root)
        if still:
            raise RuntimeError(f"{', '.join(still)} still missing after the download")
    except Exception as err:
        for d in made:
            try:
                d.rmdir()  # only if empty: never a file someone put there
            except OSError:
                break
        raise FileNotFoundError(
            f"{where}, and downloading MNIST failed ({type(err).__name__}: {err}). {hint}, or "
            f"allow the download on a machine with internet access."
        ) from err
