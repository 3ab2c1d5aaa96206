"""Checks before the expensive work (gcnn.train.checks): a bad run fails before data or epochs.

Every test here makes loading data an error, so a check that came after it would fail the test
with "data loaded".
"""

from __future__ import annotations

import json
import os
import shutil

import pytest
import torch

from gcnn import data
from gcnn.checkpoint import CheckpointError
from gcnn.experiments import TrainConfig
from gcnn.train import main, train, validate_run

from tiny import TINY  # noqa: E402

TINY_ARGS = ["--model", "gcnn", "--group", "C4", "--hidden-channels", "4", "--num-hidden", "2",
             "--epochs", "2", "--batch-size", "32", "--train-subset", "256",
             "--eval-subset", "100", "--angle-step", "90", "--no-progress", "--device", "cpu"]


@pytest.fixture
def no_data(monkeypatch):
    """Loading MNIST fails the test: every check must come first."""

    def loaded(*args, **kwargs):
        raise AssertionError("data loaded before the settings were checked")

    for name in ("train_set", "val_set", "test_set", "fixed_rotated_test_set"):
        monkeypatch.setattr(data, name, loaded)


BAD_SETTINGS = [
    ({"seed": 2**64}, "seed", "4294967295"),
    ({"seed": -1}, "seed", "4294967295"),
    ({"group": "C8,C4,C3"}, "subgroup", "C3"),
    ({"group": "X4"}, "group name", "X4"),
    ({"hidden_channels": [4, 4]}, "hidden_channels", "3"),
    ({"kernel_size": 0}, "kernel_size", "0"),
    ({"lr": -1.0}, "lr", "-1.0"),
    ({"norm": "group"}, "norm must be one of ('layer', 'batch', 'none')", "group"),
    ({"lr_schedule": "step"}, "lr_schedule must be one of ('constant', 'cosine', 'onecycle')",
     "step"),
    ({"test_orbit": []}, "test_orbit", "[]"),
    ({"test_orbit": [0, float("nan")]}, "test_orbit", "nan"),
    ({"method": "spline"}, "'steerable'", "spline"),
]


@pytest.mark.parametrize("change, what, given", BAD_SETTINGS)
def test_bad_settings_fail_before_any_data_and_leave_no_folder(change, what, given, tmp_path,
                                                               no_data):
    out = tmp_path / "run"
    with pytest.raises(ValueError) as err:
        train(TrainConfig(**{**TINY, **change}), out, device="cpu", progress=False)
    assert what in str(err.value) and given in str(err.value)
    assert not out.exists()


def test_unavailable_or_unknown_device_fails_first(tmp_path, no_data):
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available.*--device cpu"):
            train(TrainConfig(**TINY), tmp_path / "a", device="cuda", progress=False)
    with pytest.raises(ValueError, match="'tpu'.*auto, cpu, cuda"):
        train(TrainConfig(**TINY), tmp_path / "b", device="tpu", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_an_out_folder_that_cannot_be_one_fails_first(tmp_path, no_data):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="is a file"):
        train(TrainConfig(**TINY), tmp_path / "file", device="cpu", progress=False)
    with pytest.raises(ValueError, match="not a folder"):
        train(TrainConfig(**TINY), tmp_path / "file" / "run", device="cpu", progress=False)


def test_an_unwritable_out_folder_fails_first(tmp_path, no_data, monkeypatch):
    # Tests may run as root, who can write anywhere: the folder's permission bits are faked.
    monkeypatch.setattr(os, "access", lambda path, mode: str(path) != str(tmp_path))
    with pytest.raises(ValueError, match=f"cannot write into {tmp_path}.*another|choose"):
        train(TrainConfig(**TINY), tmp_path / "a" / "run", device="cpu", progress=False)
    assert list(tmp_path.iterdir()) == []


def test_validate_run_is_the_one_check_and_returns_the_device(tmp_path):
    assert validate_run(TrainConfig(**TINY), tmp_path / "x", device="cpu") == torch.device("cpu")
    assert not (tmp_path / "x").exists()  # checking creates nothing


def test_failed_start_removes_the_folder_it_created(tmp_path, monkeypatch):
    def missing(*args, **kwargs):
        raise FileNotFoundError("MNIST not found (test)")

    monkeypatch.setattr(data, "train_set", missing)
    out = tmp_path / "new"
    with pytest.raises(FileNotFoundError):
        train(TrainConfig(**TINY), out, device="cpu", progress=False)
    assert not out.exists()
    kept = tmp_path / "theirs"  # a folder that was there before is left alone
    kept.mkdir()
    with pytest.raises(FileNotFoundError):
        train(TrainConfig(**TINY), kept, device="cpu", progress=False)
    assert kept.is_dir()


def test_resume_with_fewer_epochs_than_trained_is_refused(full_run, tmp_path, no_data):
    out = tmp_path / "fewer"
    shutil.copytree(full_run[0], out)
    before = (out / "metrics.json").read_text()
    with pytest.raises(ValueError) as err:
        train(TrainConfig(**{**TINY, "epochs": 1}), out, device="cpu", progress=False,
              resume=True)
    msg = str(err.value)
    assert "2 epochs" in msg and "--epochs 1" in msg and "--epochs 2" in msg
    assert (out / "metrics.json").read_text() == before
    assert json.loads(before)["config"]["epochs"] == 2


def _cli_error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    assert err.startswith("python -m gcnn.train: error: ")
    return err


def test_cli_errors_are_one_line_before_any_data(tmp_path, capsys, no_data):
    out = ["--out", str(tmp_path / "run")]
    assert "seed" in _cli_error(TINY_ARGS + out + ["--seed", str(2**64)], capsys)
    assert "'nonsense'" in _cli_error(TINY_ARGS + out + ["--export-pretrained", "nonsense"],
                                      capsys)
    # A throw-away recipe may not replace the shipped cnn-e5: refused before training.
    err = _cli_error(["--model", "cnn", "--hidden-channels", "4", "--epochs", "5",
                      "--train-subset", "256", "--export-pretrained", "cnn-e5", *out], capsys)
    assert "cnn-e5" in err and "hidden_channels" in err and "train_subset" in err
    assert "--force" in err
    assert "--force" in _cli_error(TINY_ARGS + out + ["--force"], capsys)  # force without export
    if not torch.cuda.is_available():
        assert "CUDA" in _cli_error(TINY_ARGS + out + ["--device", "cuda"], capsys)
    assert not (tmp_path / "run").exists()


def test_cli_resume_errors_are_one_line(full_run, tmp_path, capsys, no_data):
    out = tmp_path / "other"
    shutil.copytree(full_run[0], out)
    err = _cli_error(TINY_ARGS + ["--out", str(out), "--hidden-channels", "8", "--resume"],
                     capsys)
    assert "hidden_channels" in err
    err = _cli_error(TINY_ARGS + ["--out", str(out)], capsys)
    assert "--resume" in err
    with pytest.raises(CheckpointError):  # the library still raises the error itself
        train(TrainConfig(**{**TINY, "hidden_channels": 8}), out, device="cpu", resume=True,
              progress=False)
