"""MNIST splits, the fixed rotated test set, rotation and the goat (gcnn.data).

Uses the real MNIST files from ``$GCNN_DATA`` (default ``../shared/data``); fails, with a message
saying so, if they are missing.
"""

from __future__ import annotations

import urllib.error
from pathlib import Path

import pytest
import torch

import gcnn
from gcnn import data

REPO = Path(__file__).resolve().parents[1]


# -- rotation -----------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 3, -1])
def test_rotate_by_right_angles_is_rot90(k):
    x = torch.rand(3, 2, 28, 28, generator=torch.Generator().manual_seed(k % 4))
    expected = torch.rot90(x, k, dims=(-1, -2))
    assert torch.allclose(data.rotate(x, 90.0 * k), expected, atol=1e-5)


def test_rotate_zero_is_identity_and_per_image_angles():
    x = torch.rand(4, 1, 9, 9)
    assert torch.allclose(data.rotate(x, 0.0), x, atol=1e-6)
    angles = torch.tensor([0.0, 90.0, 180.0, 270.0])
    out = data.rotate(x, angles)
    for i in range(4):
        assert torch.allclose(out[i], torch.rot90(x[i], i, dims=(-1, -2)), atol=1e-5)


def test_rotate_matches_the_group_convention():
    """45 degrees clockwise is element r1 of C8 in gcnn.transform_images."""
    x = torch.rand(2, 1, 15, 15)
    c8 = gcnn.CyclicGroup(8)
    expected = gcnn.transform_images(x, c8, c8.elements()[1:2])[0]
    assert torch.allclose(data.rotate(x, 45.0), expected, atol=1e-5)


def test_rotate_checks_shapes():
    with pytest.raises(ValueError, match=r"\[B, C, H, W\]"):
        data.rotate(torch.rand(28, 28), 10.0)
    with pytest.raises(ValueError, match="angles"):
        data.rotate(torch.rand(3, 1, 8, 8), torch.zeros(2))


# -- loading and splits -------------------------------------------------------------------------
def test_splits_sizes_types_and_no_overlap(root):
    xtr, ytr = data.train_set(root)
    xva, yva = data.val_set(root)
    xte, yte = data.test_set(root)
    assert xtr.shape == (55000, 1, 28, 28) and ytr.shape == (55000,)
    assert xva.shape == (5000, 1, 28, 28) and yva.shape == (5000,)
    assert xte.shape == (10000, 1, 28, 28) and yte.shape == (10000,)
    for x, y in [(xtr, ytr), (xva, yva), (xte, yte)]:
        assert x.dtype == torch.float32 and y.dtype == torch.int64
        assert float(x.min()) == 0.0 and float(x.max()) == 1.0
        assert set(y.unique().tolist()) == set(range(10))
    train_idx, val_idx = data._split_indices(60000, data.VAL_SIZE, data.SPLIT_SEED)
    assert len(set(train_idx.tolist()) & set(val_idx.tolist())) == 0
    assert sorted(train_idx.tolist() + val_idx.tolist()) == list(range(60000))
    xall, yall = data.mnist(True, root)
    assert torch.equal(xall[val_idx], xva) and torch.equal(yall[train_idx], ytr)


def test_fixed_rotated_test_set_is_reproducible(root):
    x1, y1 = data.fixed_rotated_test_set(root)
    first = x1.clone()
    data.clear_cache()
    x2, y2 = data.fixed_rotated_test_set(root)
    assert x2 is not x1
    assert torch.equal(first, x2) and torch.equal(y1, y2)
    angles = data.fixed_rotation_angles()
    assert angles.shape == (10000,) and float(angles.min()) >= 0 and float(angles.max()) < 360
    # Each digit is the upright one turned by its own angle; the labels are the test labels.
    xt, yt = data.test_set(root)
    assert torch.equal(y2, yt)
    for i in [0, 1, 9999]:
        turned = data.rotate(xt[i : i + 1].double(), angles[i : i + 1]).float()
        assert torch.equal(x2[i : i + 1], turned)
    assert not torch.allclose(x2, xt)


def test_rotated_test_set_at_one_angle(root):
    xr, yr = data.rotated_test_set(90, root)
    xt, yt = data.test_set(root)
    assert torch.equal(yr, yt)
    assert torch.allclose(xr, torch.rot90(xt, 1, dims=(-1, -2)), atol=1e-5)


def test_data_root_from_argument_env_or_default(monkeypatch, tmp_path):
    monkeypatch.setenv("GCNN_DATA", str(tmp_path / "env"))
    assert data.data_root() == (tmp_path / "env").resolve()
    assert data.data_root(tmp_path / "arg") == (tmp_path / "arg").resolve()
    monkeypatch.delenv("GCNN_DATA")
    assert data.data_root() == Path("data").resolve()


def test_missing_data_without_download_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        data.mnist(True, root=tmp_path, download=False)
    msg = str(err.value)
    assert str(tmp_path) in msg and "GCNN_DATA" in msg


def test_missing_data_and_failing_download_is_a_clear_error(tmp_path, monkeypatch):
    from torchvision.datasets import MNIST

    def offline(self):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(MNIST, "download", offline)
    with pytest.raises(FileNotFoundError) as err:
        data.mnist(False, root=tmp_path)
    msg = str(err.value)
    assert str(tmp_path) in msg and "GCNN_DATA" in msg and "download" in msg


# -- wrong, damaged and missing files ------------------------------------------------------------
FILES = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]


@pytest.fixture
def copy_root(root, tmp_path):
    """A data root linking to the real MNIST files; a test replaces one of them."""
    raw = tmp_path / "copy" / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in FILES:
        (raw / name).symlink_to(root / "MNIST" / "raw" / name)
    return tmp_path / "copy"


def _replace(copy_root, name, content):
    path = copy_root / "MNIST" / "raw" / name
    path.unlink()
    if isinstance(content, Path):
        path.symlink_to(content)
    else:
        path.write_bytes(content)
    return path


def test_training_images_over_the_test_file_are_refused(root, copy_root):
    _replace(copy_root, "t10k-images-idx3-ubyte", root / "MNIST/raw/train-images-idx3-ubyte")
    with pytest.raises(ValueError) as err:
        data.test_set(copy_root, download=False)
    msg = str(err.value)
    assert "t10k-images-idx3-ubyte" in msg and "10000" in msg and "60000" in msg
    assert "replace" in msg.lower() and "GCNN_DATA" in msg


def test_training_labels_over_the_test_labels_are_refused(root, copy_root):
    _replace(copy_root, "t10k-labels-idx1-ubyte", root / "MNIST/raw/train-labels-idx1-ubyte")
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.*10000.*60000"):
        data.test_set(copy_root, download=False)


def test_an_image_file_in_place_of_labels_is_refused(root, copy_root):
    _replace(copy_root, "t10k-labels-idx1-ubyte", root / "MNIST/raw/t10k-images-idx3-ubyte")
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.*labels.*0x00000801.*"
                                         r"0x00000803.*images"):
        data.test_set(copy_root, download=False)


def test_a_file_that_is_not_idx_names_itself(copy_root):
    _replace(copy_root, "t10k-labels-idx1-ubyte", b"<html>404 Not Found</html>\n")
    with pytest.raises(ValueError) as err:
        data.test_set(copy_root, download=False)
    msg = str(err.value)
    assert "()" not in msg and "t10k-labels-idx1-ubyte" in msg and "not an MNIST" in msg
    _replace(copy_root, "t10k-labels-idx1-ubyte", b"")
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.*empty"):
        data.test_set(copy_root, download=False)


def test_a_truncated_file_is_refused(root, copy_root):
    whole = (root / "MNIST/raw/t10k-images-idx3-ubyte").read_bytes()
    _replace(copy_root, "t10k-images-idx3-ubyte", whole[:-784])
    with pytest.raises(ValueError, match=r"t10k-images-idx3-ubyte.*7840016 bytes.*7839232"):
        data.test_set(copy_root, download=False)


def test_labels_out_of_range_are_refused(root, copy_root):
    labels = bytearray((root / "MNIST/raw/t10k-labels-idx1-ubyte").read_bytes())
    labels[8 + 17] = 11
    _replace(copy_root, "t10k-labels-idx1-ubyte", bytes(labels))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.*0 to 9.*11"):
        data.test_set(copy_root, download=False)


def test_a_missing_file_is_named(copy_root):
    (copy_root / "MNIST/raw/t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError) as err:
        data.test_set(copy_root, download=False)
    msg = str(err.value)
    assert "t10k-labels-idx1-ubyte" in msg and "missing" in msg
    assert "t10k-images-idx3-ubyte" not in msg and "train-labels-idx1-ubyte" not in msg


def test_a_mistyped_data_root_is_named_and_left_uncreated(tmp_path, monkeypatch):
    import torchvision.datasets.mnist as tv_mnist

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", offline)
    typo = tmp_path / "shraed" / "data"
    monkeypatch.setenv("GCNN_DATA", str(typo))
    with pytest.raises(FileNotFoundError) as err:
        data.test_set()
    msg = str(err.value)
    assert f"{typo} does not exist" in msg and "GCNN_DATA" in msg and "download" in msg
    assert not (tmp_path / "shraed").exists()   # no empty MNIST/raw left behind
    # an existing root is kept, only what the failed download made goes
    typo.mkdir(parents=True)
    with pytest.raises(FileNotFoundError):
        data.test_set()
    assert typo.is_dir() and list(typo.iterdir()) == []


@pytest.mark.parametrize("angle", [float("nan"), float("inf"), -float("inf")])
def test_rotate_refuses_angles_that_are_not_finite(angle):
    x = torch.rand(2, 1, 5, 5)
    with pytest.raises(ValueError, match=r"finite.*(nan|inf)"):
        data.rotate(x, angle)
    with pytest.raises(ValueError, match=r"finite.*index 1"):
        data.rotate(x, torch.tensor([10.0, angle]))


# -- the goat -----------------------------------------------------------------------------------
def test_load_goat():
    goat = data.load_goat()
    assert goat.shape == (3, 256, 256) and goat.dtype == torch.float32
    assert 0.0 <= float(goat.min()) and float(goat.max()) <= 1.0 and float(goat.std()) > 0.05
    assert data.load_goat(64).shape == (3, 64, 64)
    assert data.load_goat((32, 48)).shape == (3, 32, 48)
