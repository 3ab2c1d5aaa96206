"""Checkpoints (gcnn.checkpoint): atomic writes, clear errors for bad files."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gcnn.checkpoint import (
    TEMP_PREFIX,
    CheckpointError,
    is_temporary,
    load_model,
    save_atomic,
    write_json_atomic,
)
from gcnn.experiments import TrainConfig
from gcnn.train import train

from tiny import TINY  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


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


def test_orphan_temporary_files_are_ours_by_name_and_go_at_the_next_start(full_run, tmp_path,
                                                                          root):
    """kill -9 in the middle of a write leaves a temporary file; resuming the run removes it."""
    out = tmp_path / "orphan"
    shutil.copytree(full_run[0], out)
    writer = ("import os, signal, sys\n"
              "from gcnn.checkpoint import save_atomic\n"
              "class Die:\n"
              "    def __reduce__(self):\n"
              "        os.kill(os.getpid(), signal.SIGKILL)\n"
              "save_atomic({'model_state': Die()}, sys.argv[1])\n")
    proc = subprocess.run([sys.executable, "-c", writer, str(out / "last.pt")], cwd=REPO,
                          capture_output=True, env={**os.environ, "PYTHONPATH": str(REPO)},
                          timeout=120)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    orphans = [p for p in out.iterdir() if is_temporary(p)]
    assert len(orphans) == 1 and orphans[0].name.startswith(TEMP_PREFIX)
    theirs = out / ".last.pt.notes.tmp"  # not ours: left alone
    theirs.write_text("mine")
    assert not is_temporary(theirs)
    train(TrainConfig(**TINY), out, root=root, device="cpu", resume=True, progress=False)
    assert not [p for p in out.iterdir() if is_temporary(p)] and theirs.read_text() == "mine"
