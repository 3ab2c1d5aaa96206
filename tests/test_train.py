"""Training and resuming (gcnn.train), on tiny runs of real MNIST."""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from gcnn import data
from gcnn.checkpoint import CheckpointError, load_model
from gcnn.experiments import TrainConfig
from gcnn.invariance import OrbitAverage
from gcnn.metrics import evaluate
from gcnn.train import main, train

from tiny import TINY  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

TINY_ARGS = ["--model", "gcnn", "--group", "C4", "--hidden-channels", "4", "--num-hidden", "2",
             "--epochs", "2", "--batch-size", "32", "--train-subset", "256",
             "--eval-subset", "100", "--angle-step", "90", "--no-progress"]
# What may differ between an interrupted-and-resumed run and an uninterrupted one.
VOLATILE = {"seconds_per_epoch", "wall_time_seconds", "command", "resumed", "threads"}


def _strip(metrics: dict) -> dict:
    m = {k: v for k, v in metrics.items() if k not in VOLATILE}
    m["history"] = [{k: v for k, v in h.items() if k != "seconds"} for h in m["history"]]
    return m


# -- models -------------------------------------------------------------------------------------
# -- training -----------------------------------------------------------------------------------
def test_tiny_run_learns_and_writes_loadable_checkpoints(full_run, root):
    out, metrics = full_run
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "last.pt", "metrics.json"]
    assert json.loads((out / "metrics.json").read_text()) == metrics
    hist = metrics["history"]
    assert [h["epoch"] for h in hist] == [1, 2]
    assert hist[1]["train_loss"] < hist[0]["train_loss"]
    assert metrics["finished"] and metrics["best_epoch"] in (1, 2)
    assert metrics["best_val_acc"] == max(h["val_acc"] for h in hist)
    for key in ["test_acc", "rotated_test_acc", "rotated_test_acc_first2000", "num_parameters",
                "seconds_per_epoch", "wall_time_seconds", "device", "versions", "config"]:
        assert metrics[key] is not None, key
    assert metrics["config"]["lr"] == 1e-2 and metrics["config"]["weight_decay"] == 1e-4
    assert metrics["eval_sizes"]["rotated_test_first2000"] == 2000
    sweep = metrics["accuracy_vs_angle"]
    assert sweep["angles"] == [0.0, 90.0, 180.0, 270.0]
    assert sweep["num_digits"] == 100  # the default sweep (2,000 digits) capped by eval_subset
    # A C4 G-CNN is invariant to quarter turns: the same accuracy at all four.
    assert len(set(sweep["accuracy"])) == 1

    model = load_model(out / "best.pt")
    assert not model.training and model.config == metrics["model_config"]
    xv, yv = data.val_set(root)
    assert evaluate(model, xv[:100], yv[:100]) == metrics["best_val_acc"]
    rx, ry = data.fixed_rotated_test_set(root)
    assert evaluate(model, rx[:2000], ry[:2000]) == metrics["rotated_test_acc_first2000"]


def test_resume_after_interruption_equals_uninterrupted_run(full_run, root, tmp_path):
    out_full, metrics_full = full_run
    out = tmp_path / "resumed"
    args = TINY_ARGS + ["--out", str(out), "--data", str(root), "--device", "cpu"]
    partial = main(args + ["--stop-after", "1"])  # interrupted after epoch 1 of 2
    assert not partial["finished"] and len(partial["history"]) == 1
    assert torch.load(out / "last.pt", weights_only=True)["epoch"] == 1
    resumed = main(args + ["--resume"])
    assert resumed["finished"] and resumed["resumed"]
    assert resumed["command"].startswith("python -m gcnn.train ")
    assert "--resume" in resumed["command"]
    assert _strip(resumed) == _strip(metrics_full)
    for name in ["best.pt", "last.pt"]:
        a = torch.load(out / name, weights_only=True)["model_state"]
        b = torch.load(out_full / name, weights_only=True)["model_state"]
        assert a.keys() == b.keys()
        assert all(torch.equal(a[k], b[k]) for k in a), name


def test_rotation_augmentation_is_seeded_and_resumable(root, tmp_path):
    """--augment rotate: random angles from their own seeded stream, restored on resume."""
    tiny_cnn = dict(TINY, model="cnn", group=None, augment="rotate", epochs=2)
    whole = train(TrainConfig(**tiny_cnn), tmp_path / "whole", root=root, device="cpu",
                    progress=False)
    assert whole["config"]["augment"] == "rotate"
    train(TrainConfig(**tiny_cnn), tmp_path / "parts", root=root, device="cpu",
            progress=False, stop_after=1)
    parts = train(TrainConfig(**tiny_cnn), tmp_path / "parts", root=root, device="cpu",
                    progress=False, resume=True)
    assert _strip(parts) == _strip({**whole, "resumed": True})
    plain = train(TrainConfig(**{**tiny_cnn, "augment": "none"}), tmp_path / "plain",
                    root=root, device="cpu", progress=False)
    assert plain["history"][0]["train_loss"] != whole["history"][0]["train_loss"]
    with pytest.raises(ValueError, match="augment must be one of"):
        train(TrainConfig(**{**tiny_cnn, "augment": "flip"}), tmp_path / "bad",
                root=root, device="cpu", progress=False)
    with pytest.raises(CheckpointError, match="augment"):
        train(TrainConfig(**{**tiny_cnn, "augment": "none", "epochs": 3}),
                tmp_path / "whole", root=root, device="cpu", progress=False, resume=True)


def test_checkpoint_from_before_a_new_setting_still_resumes(full_run, tmp_path, root):
    """A checkpoint written before ``augment`` existed counts as ``augment="none"``."""
    out = tmp_path / "old"
    shutil.copytree(full_run[0], out)
    ckpt = torch.load(out / "last.pt", weights_only=True)
    del ckpt["train_config"]["augment"]
    torch.save(ckpt, out / "last.pt")
    again = train(TrainConfig(**TINY), out, root=root, device="cpu", progress=False,
                    resume=True)
    assert again["finished"] and again["test_acc"] == full_run[1]["test_acc"]


def test_existing_run_needs_resume(full_run, tmp_path, root):
    out = tmp_path / "again"
    shutil.copytree(full_run[0], out)
    with pytest.raises(FileExistsError, match="--resume"):
        train(TrainConfig(**TINY), out, root=root, device="cpu", progress=False)


def test_resume_with_other_settings_names_the_checkpoint(full_run, tmp_path, root):
    out = tmp_path / "other"
    shutil.copytree(full_run[0], out)
    cfg = TrainConfig(**{**TINY, "hidden_channels": 8})
    with pytest.raises(CheckpointError) as err:
        train(cfg, out, root=root, device="cpu", resume=True, progress=False)
    assert str(out / "last.pt") in str(err.value) and "hidden_channels" in str(err.value)


def test_training_without_data_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="GCNN_DATA"):
        data.train_set(root=tmp_path / "nothing", download=False)


# -- evaluation ---------------------------------------------------------------------------------


# -- faults: killed mid-epoch, interrupted with Ctrl-C ------------------------------------------
# A small CNN on 800 digits in 50 steps: the fault is timed by the first epoch's length.
FAULT_ARGS = ["--model", "cnn", "--hidden-channels", "4", "--num-hidden", "2", "--epochs", "2",
              "--batch-size", "16", "--train-subset", "800", "--eval-subset", "100",
              "--sweep-subset", "100", "--angle-step", "180", "--no-progress", "--device", "cpu"]


@pytest.fixture(scope="module")
def fault_reference(root, tmp_path_factory):
    """The uninterrupted run of FAULT_ARGS."""
    out = tmp_path_factory.mktemp("fault-ref")
    return out, main(FAULT_ARGS + ["--out", str(out), "--data", str(root)])


def _start_and_hit_mid_epoch(out: Path, root: Path, fraction: float) -> subprocess.Popen:
    """Start FAULT_ARGS in a subprocess; return once it has saved epoch 1 and is in epoch 2."""
    env = {**os.environ, "PYTHONPATH": str(REPO), "GCNN_DATA": str(root)}
    # SIGINT at its default, as in a terminal: a suite started in the background (`cmd &` in a
    # script) ignores SIGINT, the child would inherit that, and Ctrl-C would never arrive.
    proc = subprocess.Popen([sys.executable, "-m", "gcnn.train", *FAULT_ARGS, "--out", str(out)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 120
    while not (out / "metrics.json").exists():  # written (atomically) after last.pt
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run wrote no checkpoint within 120 s"
        time.sleep(0.01)
    first = json.loads((out / "metrics.json").read_text())["history"][0]["seconds"]
    time.sleep(first * fraction)  # part way into epoch 2, however fast this machine is
    return proc


def _interrupt_mid_epoch(base: Path, root: Path, interrupt):
    """Start the run, ``interrupt(proc)`` in epoch 2; returns the run folder and its output.

    Epoch 2 can be faster than epoch 1 (warm-up, a busy machine calming down), so a run that
    got past epoch 2 before the interruption is tried again in a fresh folder, sooner.
    """
    for attempt, fraction in enumerate((1 / 3, 1 / 8, 1 / 30)):
        out = base / f"try{attempt}"
        proc = _start_and_hit_mid_epoch(out, root, fraction)
        interrupt(proc)
        stdout, stderr = proc.communicate(timeout=60)
        if torch.load(out / "last.pt", weights_only=True)["epoch"] == 1:  # stopped in epoch 2
            return out, proc.returncode, stderr
    pytest.fail("epoch 2 ended before every interruption (3 tries); the machine is too uneven")


def _same_run(out: Path, reference) -> None:
    """``out`` ended with the reference run's weights and metrics, and no temporary file."""
    ref_out, ref_metrics = reference
    assert _strip(json.loads((out / "metrics.json").read_text())) == _strip(ref_metrics)
    for name in ["best.pt", "last.pt"]:
        a = torch.load(out / name, weights_only=True)["model_state"]
        b = torch.load(ref_out / name, weights_only=True)["model_state"]
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "last.pt", "metrics.json"]


def test_kill_9_mid_epoch_then_resume_equals_the_uninterrupted_run(fault_reference, root,
                                                                   tmp_path):
    # SIGKILL: no handler runs, no file is closed
    out, _, _ = _interrupt_mid_epoch(tmp_path, root, lambda proc: proc.kill())
    resumed = main(FAULT_ARGS + ["--out", str(out), "--data", str(root), "--resume"])
    assert resumed["finished"] and resumed["resumed"]
    _same_run(out, fault_reference)


def test_ctrl_c_mid_epoch_prints_the_resume_command_which_finishes_the_run(fault_reference,
                                                                           root, tmp_path):
    out, returncode, stderr = _interrupt_mid_epoch(
        tmp_path, root, lambda proc: proc.send_signal(signal.SIGINT))
    assert returncode == 130, stderr
    assert "Traceback" not in stderr
    line = next(li for li in stderr.splitlines() if "python -m gcnn.train" in li)
    command = shlex.split(line[line.index("python -m gcnn.train"):])
    assert command[:3] == ["python", "-m", "gcnn.train"] and command[-1] == "--resume"
    assert command[3:-1] == FAULT_ARGS + ["--out", str(out)]
    resumed = main(command[3:] + ["--data", str(root)])
    assert resumed["finished"] and resumed["resumed"]
    _same_run(out, fault_reference)


# -- issue #17's recipe: normalisation, learning-rate schedule, orbit-averaged testing -----------
@pytest.mark.parametrize("schedule, norm, orbit", [("cosine", "layer", None),
                                                   ("onecycle", "batch", [0, 45])])
def test_a_scheduled_run_resumes_bit_for_bit(schedule, norm, orbit, root, tmp_path):
    """The schedule's state is saved in last.pt: interrupted and resumed equals uninterrupted;
    with test_orbit the best model is also tested in OrbitAverage, as separate entries."""
    cfg = TrainConfig(**{**TINY, "lr_schedule": schedule, "norm": norm, "test_orbit": orbit})
    whole = train(cfg, tmp_path / "whole", root=root, device="cpu", progress=False)
    steps = 2 * (256 // 32)
    last = torch.load(tmp_path / "whole" / "last.pt", weights_only=True)
    assert last["scheduler_state"]["last_epoch"] == steps
    lr = last["optimizer_state"]["param_groups"][0]["lr"]
    assert lr < 1e-2 / 25   # annealed: cosine ends at 0, one-cycle far below its start lr / 25
    assert whole["config"]["lr_schedule"] == schedule
    assert whole["model_config"].get("norm", "layer") == norm
    train(cfg, tmp_path / "parts", root=root, device="cpu", progress=False, stop_after=1)
    half = torch.load(tmp_path / "parts" / "last.pt", weights_only=True)
    assert half["scheduler_state"]["last_epoch"] == steps // 2
    parts = train(cfg, tmp_path / "parts", root=root, device="cpu", progress=False, resume=True)
    assert _strip(parts) == _strip({**whole, "resumed": True})
    for name in ["best.pt", "last.pt"]:
        a = torch.load(tmp_path / "parts" / name, weights_only=True)["model_state"]
        b = torch.load(tmp_path / "whole" / name, weights_only=True)["model_state"]
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), name
    if orbit is None:
        assert "orbit_average" not in whole
        # a schedule is laid out over the run's epochs: more epochs would change it
        with pytest.raises(CheckpointError, match="--epochs 2"):
            train(dataclasses.replace(cfg, epochs=3), tmp_path / "whole", root=root,
                  device="cpu", progress=False, resume=True)
        return
    averaged = whole["orbit_average"]
    assert averaged["angles"] == [0.0, 45.0] and averaged["forward_passes"] == 2
    assert averaged["accuracy_vs_angle"]["angles"] == [0.0, 90.0, 180.0, 270.0]
    model = OrbitAverage(load_model(tmp_path / "whole" / "best.pt"), orbit)
    x, y = data.test_set(root)
    assert evaluate(model, x[:100], y[:100]) == averaged["test_acc"]
    rx, ry = data.fixed_rotated_test_set(root)
    assert evaluate(model, rx[:2000], ry[:2000]) == averaged["rotated_test_acc_first2000"]
    vx, vy = data.val_set(root)          # upright validation: where models are chosen
    assert evaluate(model, vx[:100], vy[:100]) == averaged["val_acc"]


def test_a_finished_run_is_tested_again_in_an_orbit_average(full_run, root, tmp_path):
    """--test-orbit with --resume on a finished run: no epoch is trained, the best model is
    tested again, also averaged over the turns; the plain results stay what they were."""
    out = tmp_path / "again"
    shutil.copytree(full_run[0], out)
    args = TINY_ARGS + ["--out", str(out), "--data", str(root), "--device", "cpu"]
    again = main(args + ["--test-orbit", "0,45", "--resume"])
    assert again["finished"] and again["history"] == full_run[1]["history"]
    assert again["test_acc"] == full_run[1]["test_acc"]
    assert again["orbit_average"]["angles"] == [0.0, 45.0]
    assert again["config"]["test_orbit"] == [0.0, 45.0]
