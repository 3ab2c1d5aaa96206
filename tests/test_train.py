"""Training, checkpoints, resuming and evaluation (gcnn.train), on tiny runs of real MNIST."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from gcnn import data
from gcnn import train as T

REPO = Path(__file__).resolve().parents[1]

# A tiny G-CNN on a few hundred digits: seconds, not minutes, on two CPU cores.
TINY = dict(model="gcnn", group="C4", hidden_channels=4, num_hidden=2, epochs=2, batch_size=32,
            train_subset=256, eval_subset=100, angle_step=90.0)
TINY_ARGS = ["--model", "gcnn", "--group", "C4", "--hidden-channels", "4", "--num-hidden", "2",
             "--epochs", "2", "--batch-size", "32", "--train-subset", "256",
             "--eval-subset", "100", "--angle-step", "90", "--no-progress"]
# What may differ between an interrupted-and-resumed run and an uninterrupted one.
VOLATILE = {"seconds_per_epoch", "wall_time_seconds", "command", "resumed", "threads"}


@pytest.fixture(scope="module")
def full_run(root, tmp_path_factory):
    """An uninterrupted two-epoch tiny run (library API)."""
    out = tmp_path_factory.mktemp("full")
    metrics = T.train(T.TrainConfig(**TINY), out, root=root, device="cpu", progress=False)
    return out, metrics


def _strip(metrics: dict) -> dict:
    m = {k: v for k, v in metrics.items() if k not in VOLATILE}
    m["history"] = [{k: v for k, v in h.items() if k != "seconds"} for h in m["history"]]
    return m


# -- models -------------------------------------------------------------------------------------
def test_build_model_recipe_defaults():
    gcnn_c4 = T.build_model("gcnn")
    cnn = T.build_model("cnn")
    assert T.count_parameters(gcnn_c4) == 102970  # the tutorial's number
    assert T.count_parameters(cnn) == 103690
    assert gcnn_c4.config["hidden_channels"] == 16 and cnn.config["hidden_channels"] == 32
    assert cnn.config["group"] is None


def test_build_model_group_schedule_and_names():
    model = T.build_model("gcnn", group="c8, C8,C4,C4,C1", hidden_channels=2)
    assert model.config["group"] == "C8,C8,C4,C4,C1"
    assert [g.order for g in model.layer_groups] == [8, 8, 4, 4, 1]
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert T.parse_group("D4").order == 8 and T.parse_group("C16").order == 16
    for bad in ["X4", "C0", "C", "4"]:
        with pytest.raises(ValueError, match="C<N>"):
            T.parse_group(bad)
    with pytest.raises(ValueError, match="model must be one of"):
        T.build_model("mlp")


def test_sweep_subset_default_and_all():
    """The default sweep turns 2,000 test digits; '--sweep-subset all' asks for every one."""
    assert T.TrainConfig().sweep_subset == T.DEFAULT_SWEEP_SUBSET == 2000
    parser = T._parser()
    assert parser.parse_args([]).sweep_subset == 2000
    assert parser.parse_args(["--sweep-subset", "all"]).sweep_subset is None
    assert parser.parse_args(["--sweep-subset", "500"]).sweep_subset == 500
    with pytest.raises(SystemExit):
        parser.parse_args(["--sweep-subset", "many"])


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

    model = T.load_model(out / "best.pt")
    assert not model.training and model.config == metrics["model_config"]
    xv, yv = data.val_set(root)
    assert T.evaluate(model, xv[:100], yv[:100]) == metrics["best_val_acc"]
    rx, ry = data.fixed_rotated_test_set(root)
    assert T.evaluate(model, rx[:2000], ry[:2000]) == metrics["rotated_test_acc_first2000"]


def test_resume_after_interruption_equals_uninterrupted_run(full_run, root, tmp_path):
    out_full, metrics_full = full_run
    out = tmp_path / "resumed"
    args = TINY_ARGS + ["--out", str(out), "--data", str(root), "--device", "cpu"]
    partial = T.main(args + ["--stop-after", "1"])  # interrupted after epoch 1 of 2
    assert not partial["finished"] and len(partial["history"]) == 1
    assert torch.load(out / "last.pt", weights_only=True)["epoch"] == 1
    resumed = T.main(args + ["--resume"])
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
    whole = T.train(T.TrainConfig(**tiny_cnn), tmp_path / "whole", root=root, device="cpu",
                    progress=False)
    assert whole["config"]["augment"] == "rotate"
    T.train(T.TrainConfig(**tiny_cnn), tmp_path / "parts", root=root, device="cpu",
            progress=False, stop_after=1)
    parts = T.train(T.TrainConfig(**tiny_cnn), tmp_path / "parts", root=root, device="cpu",
                    progress=False, resume=True)
    assert _strip(parts) == _strip({**whole, "resumed": True})
    plain = T.train(T.TrainConfig(**{**tiny_cnn, "augment": "none"}), tmp_path / "plain",
                    root=root, device="cpu", progress=False)
    assert plain["history"][0]["train_loss"] != whole["history"][0]["train_loss"]
    with pytest.raises(ValueError, match="augment must be one of"):
        T.train(T.TrainConfig(**{**tiny_cnn, "augment": "flip"}), tmp_path / "bad",
                root=root, device="cpu", progress=False)
    with pytest.raises(T.CheckpointError, match="augment"):
        T.train(T.TrainConfig(**{**tiny_cnn, "augment": "none", "epochs": 3}),
                tmp_path / "whole", root=root, device="cpu", progress=False, resume=True)


def test_checkpoint_from_before_a_new_setting_still_resumes(full_run, tmp_path, root):
    """A checkpoint written before ``augment`` existed counts as ``augment="none"``."""
    out = tmp_path / "old"
    shutil.copytree(full_run[0], out)
    ckpt = torch.load(out / "last.pt", weights_only=True)
    del ckpt["train_config"]["augment"]
    torch.save(ckpt, out / "last.pt")
    again = T.train(T.TrainConfig(**TINY), out, root=root, device="cpu", progress=False,
                    resume=True)
    assert again["finished"] and again["test_acc"] == full_run[1]["test_acc"]


def test_existing_run_needs_resume(full_run, tmp_path, root):
    out = tmp_path / "again"
    shutil.copytree(full_run[0], out)
    with pytest.raises(FileExistsError, match="--resume"):
        T.train(T.TrainConfig(**TINY), out, root=root, device="cpu", progress=False)


def test_resume_with_other_settings_names_the_checkpoint(full_run, tmp_path, root):
    out = tmp_path / "other"
    shutil.copytree(full_run[0], out)
    cfg = T.TrainConfig(**{**TINY, "hidden_channels": 8})
    with pytest.raises(T.CheckpointError) as err:
        T.train(cfg, out, root=root, device="cpu", resume=True, progress=False)
    assert str(out / "last.pt") in str(err.value) and "hidden_channels" in str(err.value)


def test_corrupt_checkpoint_is_a_clear_error(full_run, tmp_path, root):
    out = tmp_path / "corrupt"
    shutil.copytree(full_run[0], out)
    good = (out / "last.pt").read_bytes()
    (out / "last.pt").write_bytes(good[: len(good) // 2])  # truncated, as by a crash
    with pytest.raises(T.CheckpointError) as err:
        T.train(T.TrainConfig(**TINY), out, root=root, device="cpu", resume=True, progress=False)
    assert str(out / "last.pt") in str(err.value)
    (out / "best.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(T.CheckpointError, match="best.pt"):
        T.load_model(out / "best.pt")
    torch.save({"something": "else"}, out / "other.pt")
    with pytest.raises(T.CheckpointError, match="not a gcnn checkpoint"):
        T.load_model(out / "other.pt")
    with pytest.raises(FileNotFoundError):
        T.train(T.TrainConfig(**TINY), tmp_path / "empty", root=root, device="cpu",
                resume=True, progress=False)


def test_training_without_data_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="GCNN_DATA"):
        data.train_set(root=tmp_path / "nothing", download=False)


# -- evaluation ---------------------------------------------------------------------------------
def test_evaluate_and_accuracy_vs_angle_agree(full_run, root):
    model = T.load_model(full_run[0] / "best.pt")
    xt, yt = data.test_set(root)
    xr, _ = data.rotated_test_set(30.0, root)
    n = 300
    assert T.accuracy_vs_angle(model, [30.0], xt[:n], yt[:n]) == [T.evaluate(model, xr[:n], yt[:n])]
    model.train()
    T.evaluate(model, xt[:10], yt[:10])
    assert model.training  # mode restored
    with pytest.raises(ValueError, match="labels"):
        T.evaluate(model, xt[:10], yt[:9])


def test_differences_besides_seed_ignores_the_seed_and_fills_defaults():
    a = {"model": "gcnn", "group": "C4", "epochs": 10, "seed": 0}
    b = {**a, "seed": 3, "augment": "none"}          # 'augment' at its default: no difference
    assert T.differences_besides_seed(a, b) == {}
    c = {**a, "epochs": 5, "augment": "rotate"}
    assert T.differences_besides_seed(a, c) == {"augment": ("none", "rotate"), "epochs": (10, 5)}
