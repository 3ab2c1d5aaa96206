"""Checkpoints (gcnn.checkpoint): atomic writes, clear errors for bad files."""

from __future__ import annotations

import shutil

import pytest
import torch

from gcnn.checkpoint import CheckpointError, load_model, save_atomic, write_json_atomic
from gcnn.experiments import TrainConfig
from gcnn.train import train

from tiny import TINY  # noqa: E402


def test_atomic_writes_leave_no_temporary_file(tmp_path):
    save_atomic({"a": torch.ones(2)}, tmp_path / "x.pt")
    write_json_atomic({"b": 1}, tmp_path / "x.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.json", "x.pt"]
    assert torch.equal(torch.load(tmp_path / "x.pt", weights_only=True)["a"], torch.ones(2))
    assert (tmp_path / "x.json").read_text() == '{\n  "b": 1\n}\n'


def test_corrupt_checkpoint_is_a_clear_error(full_run, tmp_path, root):
    out = tmp_path / "corrupt"
    shutil.copytree(full_run[0], out)
    good = (out / "last.pt").read_bytes()
    (out / "last.pt").write_bytes(good[: len(good) // 2])  # truncated, as by a crash
    with pytest.raises(CheckpointError) as err:
        train(TrainConfig(**TINY), out, root=root, device="cpu", resume=True, progress=False)
    assert str(out / "last.pt") in str(err.value)
    (out / "best.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="best.pt"):
        load_model(out / "best.pt")
    torch.save({"something": "else"}, out / "other.pt")
    with pytest.raises(CheckpointError, match="not a gcnn checkpoint"):
        load_model(out / "other.pt")
    with pytest.raises(FileNotFoundError):
        train(TrainConfig(**TINY), tmp_path / "empty", root=root, device="cpu",
                resume=True, progress=False)
