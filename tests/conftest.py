"""Shared fixtures (where the real MNIST files are) and the hypothesis setup.

Property tests are randomised: every run draws a fresh seed, prints it in the header
(``hypothesis seed: N``) and, for a failure, the ``@reproduce_failure`` blob; rerun with
``--hypothesis-seed=N`` to get the same examples.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from hypothesis import settings

from tiny import SIZE, TINY  # this folder's shared settings

REPO = Path(__file__).resolve().parents[1]

# No example database (CI starts clean), no per-example deadline (CPU timings vary), never
# derandomised; print_blob shows how to replay a failing example.
settings.register_profile("gcnn", deadline=None, database=None, derandomize=False,
                          print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "gcnn"))


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """Draw the run's hypothesis seed unless ``--hypothesis-seed`` gives one.

    Runs before hypothesis' own plugin reads the option, so every property test uses it.
    """
    if config.getoption("hypothesis_seed", None) is None:
        config.option.hypothesis_seed = str(random.SystemRandom().randrange(2**32))


def pytest_report_header(config):
    seed = config.getoption("hypothesis_seed", None)
    return f"hypothesis seed: {seed} (repeat these examples with --hypothesis-seed={seed})"


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


@pytest.fixture(scope="session")
def full_run(root, tmp_path_factory):
    """An uninterrupted two-epoch tiny run (library API)."""
    out = tmp_path_factory.mktemp("full")
    from gcnn.experiments import TrainConfig
    from gcnn.train import train

    metrics = train(TrainConfig(**TINY), out, root=root, device="cpu", progress=False)
    return out, metrics


# -- tiny untrained models and random "digits" (no MNIST needed) ------------------------------
@pytest.fixture(scope="module")
def models():
    import torch

    from gcnn import CNN, CyclicGroup, GroupEquivariantCNN

    torch.manual_seed(0)
    gcnn = GroupEquivariantCNN(CyclicGroup(order=4), kernel_size=3, in_channels=1,
                               out_channels=10, num_hidden=2, hidden_channels=3)
    cnn = CNN(kernel_size=3, in_channels=1, out_channels=10, num_hidden=2, hidden_channels=4)
    return {"CNN": cnn.eval(), "GCNN": gcnn.eval()}


@pytest.fixture(scope="module")
def digits():
    import torch

    g = torch.Generator().manual_seed(1)
    images = torch.rand(6, 1, SIZE, SIZE, generator=g)
    images[..., :2, :] = 0  # not symmetric, so every quarter turn is a different picture
    labels = torch.tensor([3, 1, 4, 1, 5, 9])
    return images, labels


@pytest.fixture(scope="module")
def x_small():
    import torch

    return torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(1))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if exitstatus not in (0, 5):  # the header is hidden by -q: name the seed of a failed run
        seed = config.getoption("hypothesis_seed", None)
        terminalreporter.write_line(
            f"hypothesis seed: {seed} (repeat with --hypothesis-seed={seed})")


@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, through Playwright, with a fresh temporary profile."""
    from browsing import CHROMIUM, CHROMIUM_ARGS, unavailable

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright Python package is not installed (pip install playwright)")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        unavailable(f"no chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    with sync_playwright() as pw:
        # launch() gives every browser a new temporary user-data dir, removed on close.
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
