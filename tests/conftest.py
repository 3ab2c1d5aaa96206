"""Shared fixtures: where the real MNIST files are."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def mnist_root() -> Path:
    """``$GCNN_DATA`` (default ``../shared/data``), relative to the working or repo directory."""
    root = Path(os.environ.get("GCNN_DATA", "../shared/data")).expanduser()
    if not root.is_absolute() and not (root / "MNIST").exists():
        root = REPO / root
    return root.resolve()


@pytest.fixture(scope="session")
def root() -> Path:
    """The MNIST data root; a missing copy fails (CI sets GCNN_DATA=../shared/data)."""
    r = mnist_root()
    for name in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
        if not (r / "MNIST" / "raw" / name).is_file():
            pytest.fail(f"MNIST not found under {r}: set GCNN_DATA to a directory holding "
                        f"MNIST/raw/*-ubyte (torchvision layout); CI uses GCNN_DATA=../shared/data")
    return r
