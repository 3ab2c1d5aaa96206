"""Pretrained models: loading, errors, exporting a run, and the shipped files (gcnn.pretrained)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from gcnn import OrbitAverage, data
from gcnn.checkpoint import CheckpointError, load_model
from gcnn.experiments import EXPERIMENTS, TrainConfig, with_config_defaults
from gcnn.metrics import evaluate
from gcnn.train import train
from gcnn.pretrained import (
    PRETRAINED,
    PRETRAINED_DIR,
    check_export,
    export_pretrained,
    export_seed_metrics,
    pretrained,
    pretrained_metrics,
    pretrained_path,
    seed_metrics,
)
from gcnn.pretrained.cli import main as pretrained_main

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def tiny_run(root, tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    # 10 epochs: "gcnn-c4" is the post's recipe, and export checks the run's epochs
    cfg = TrainConfig(model="gcnn", group="C4", hidden_channels=4, num_hidden=1, epochs=10,
                        batch_size=32, train_subset=128, eval_subset=100, angle_step=180.0)
    train(cfg, out, root=root, device="cpu", progress=False)
    return out


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError) as err:
        pretrained("resnet")
    for name in PRETRAINED:
        assert name in str(err.value)


def test_missing_file_says_how_to_make_it(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        pretrained("gcnn-c4", directory=tmp_path)
    assert "python -m gcnn.train" in str(err.value) and "gcnn-c4.pt" in str(err.value)
    with pytest.raises(FileNotFoundError, match="python -m gcnn.train"):
        pretrained_metrics("cnn", directory=tmp_path)


def test_export_then_load_gives_the_best_model(tiny_run, tmp_path):
    path = export_pretrained(tiny_run, "gcnn-c4", directory=tmp_path)
    assert path == tmp_path / "gcnn-c4.pt"
    stored = torch.load(path, weights_only=True)
    assert "optimizer_state" not in stored
    assert all(v.dtype == torch.float32 for v in stored["model_state"].values()
               if v.is_floating_point())
    model = pretrained("gcnn-c4", directory=tmp_path)
    best = load_model(tiny_run / "best.pt")
    assert not model.training
    x = torch.rand(5, 1, 28, 28)
    assert torch.equal(model(x), best(x))
    run_metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert pretrained_metrics("gcnn-c4", directory=tmp_path) == run_metrics


def test_export_refuses_the_wrong_kind_of_model(tiny_run, tmp_path):
    with pytest.raises(CheckpointError, match="cnn"):
        export_pretrained(tiny_run, "cnn", directory=tmp_path)
    assert not (tmp_path / "cnn.pt").exists()


def test_export_refuses_a_run_trained_without_the_named_augmentation(root, tmp_path):
    out = tmp_path / "plain-cnn"
    cfg = TrainConfig(model="cnn", hidden_channels=2, num_hidden=1, epochs=5,
                        batch_size=64, train_subset=64, eval_subset=50, angle_step=180.0)
    train(cfg, out, root=root, device="cpu", progress=False)
    with pytest.raises(CheckpointError, match="training config has {'augment': 'none'}"):
        export_pretrained(out, "cnn-rotaug", directory=tmp_path)
    assert export_pretrained(out, "cnn-e5", directory=tmp_path).is_file()  # a new name
    # The shipped cnn-e5 of the package is the recipe's (32 channels, all digits): this
    # throw-away run may not replace it, from Python or from the command line.
    shipped = pretrained_path("cnn-e5").read_bytes()
    with pytest.raises(ValueError, match="hidden_channels.*overwrite=True"):
        export_pretrained(out, "cnn-e5")
    with pytest.raises(SystemExit) as exit_:
        pretrained_main(["export", str(out), "cnn-e5"])
    assert exit_.value.code == 1 and pretrained_path("cnn-e5").read_bytes() == shipped
    # "cnn" is the post's recipe, 10 epochs: a 5-epoch run is not it.
    with pytest.raises(CheckpointError, match="training config has {'epochs': 5}"):
        export_pretrained(out, "cnn", directory=tmp_path)
    assert not (tmp_path / "cnn.pt").exists()


def test_export_refuses_an_unfinished_run(root, tmp_path):
    out = tmp_path / "run"
    cfg = TrainConfig(model="gcnn", hidden_channels=2, num_hidden=1, epochs=2,
                        batch_size=64, train_subset=64, eval_subset=50)
    train(cfg, out, root=root, device="cpu", progress=False, stop_after=1)
    with pytest.raises(ValueError, match="not finished"):
        export_pretrained(out, "gcnn-c4", directory=tmp_path)


def test_other_seeds_ship_as_metrics_and_must_match_the_settings(root, tiny_run, tmp_path):
    export_pretrained(tiny_run, "gcnn-c4", directory=tmp_path)
    assert seed_metrics("gcnn-c4", directory=tmp_path) == [pretrained_metrics(
        "gcnn-c4", directory=tmp_path)]
    with pytest.raises(ValueError, match="seed of the shipped"):
        export_seed_metrics(tiny_run, "gcnn-c4", directory=tmp_path)
    shipped = json.loads((tiny_run / "metrics.json").read_text())["config"]
    cfg = TrainConfig(**{**shipped, "seed": 3})
    train(cfg, tmp_path / "s3", root=root, device="cpu", progress=False)
    path = export_seed_metrics(tmp_path / "s3", "gcnn-c4", directory=tmp_path)
    assert path == tmp_path / "seeds" / "gcnn-c4-s3.json" and not path.with_suffix(".pt").exists()
    runs = seed_metrics("gcnn-c4", directory=tmp_path)
    assert [m["config"]["seed"] for m in runs] == [shipped["seed"], 3]
    # Another recipe is not another seed: refused on export, and caught when read back.
    other = TrainConfig(**{**shipped, "seed": 4, "lr": 1e-3})
    train(other, tmp_path / "lr", root=root, device="cpu", progress=False)
    with pytest.raises(ValueError, match="'lr': \\(0.01, 0.001\\)"):
        export_seed_metrics(tmp_path / "lr", "gcnn-c4", directory=tmp_path)
    bad = json.loads((tmp_path / "lr" / "metrics.json").read_text())
    (tmp_path / "seeds" / "gcnn-c4-s4.json").write_text(json.dumps(bad))
    with pytest.raises(ValueError, match="not trained like the shipped"):
        seed_metrics("gcnn-c4", directory=tmp_path)


@pytest.mark.parametrize("module", ["gcnn.train", "gcnn.pretrained"])
def test_command_lines_run_without_a_second_copy_of_the_module(module):
    # `python -m gcnn.X` used to run gcnn/X.py a second time after the package imported it,
    # with a RuntimeWarning on every command; now it runs gcnn/X/__main__.py.
    proc = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", module, "--help"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: python -m {module}") and "Warning" not in proc.stderr


def test_add_seed_command_line_reports_errors_without_a_traceback(tiny_run):
    proc = subprocess.run([sys.executable, "-m", "gcnn.pretrained", "add-seed",
                           str(tiny_run / "missing"), "cnn"],
                          capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    assert "add-seed: error:" in proc.stderr and "metrics.json does not exist" in proc.stderr


def test_shipped_seed_files_repeat_the_shipped_command():
    for name in sorted(PRETRAINED):
        assert pretrained_path(name).with_suffix(".json").is_file(), f"{name} is not shipped"
        runs = seed_metrics(name)      # raises if a seed file has other settings
        seeds = [m["config"]["seed"] for m in runs]
        assert len(set(seeds)) == len(seeds) and all(m["finished"] for m in runs), name


@pytest.mark.parametrize("name", sorted(PRETRAINED))
def test_shipped_model_reproduces_its_recorded_accuracy(name, root):
    path = pretrained_path(name)
    assert path.is_file() and path.with_suffix(".json").is_file(), (
        f"{path.relative_to(REPO)} (or its .json) is not shipped: make it with "
        f"{PRETRAINED[name].command}")
    metrics = pretrained_metrics(name)
    model = pretrained(name)
    assert model.config == metrics["model_config"]
    for key, value in PRETRAINED[name].training.items():
        # a setting added after the run was made (augment) counts as its default
        assert with_config_defaults(metrics["config"]).get(key) == value, (name, key)
    x, y = data.fixed_rotated_test_set(root)
    acc = evaluate(model, x[:2000], y[:2000])
    assert abs(acc - metrics["rotated_test_acc_first2000"]) <= 0.005, (
        f"{name}: {acc:.4f} on the first 2,000 fixed-rotated digits, but its metrics say "
        f"{metrics['rotated_test_acc_first2000']:.4f}")
    orbit = metrics.get("orbit_average")
    if orbit:                    # and averaged over the turns it was tested with
        averaged = evaluate(OrbitAverage(model, orbit["angles"]), x[:2000], y[:2000])
        assert abs(averaged - orbit["rotated_test_acc_first2000"]) <= 0.005, (
            f"{name} averaged over {orbit['angles']}: {averaged:.4f} on the first 2,000 "
            f"fixed-rotated digits, but its metrics say {orbit['rotated_test_acc_first2000']:.4f}")
    assert path.stat().st_size < 1_000_000 and PRETRAINED_DIR == path.parent


def test_export_replaces_a_shipped_model_only_with_its_recipe_and_as_good_or_forced(
        root, tiny_run, tmp_path):
    shipped_dir = tmp_path / "shipped"
    export_pretrained(tiny_run, "gcnn-c4", directory=shipped_dir)  # a new name: no comparison
    pt, js = shipped_dir / "gcnn-c4.pt", shipped_dir / "gcnn-c4.json"
    before = pt.read_bytes(), js.read_text()
    recipe = json.loads(js.read_text())["config"]
    # A throw-away run (fewer digits, narrower, another seed): every difference is named.
    cheap = TrainConfig(**{**recipe, "hidden_channels": 2, "train_subset": 64, "seed": 5})
    train(cheap, tmp_path / "cheap", root=root, device="cpu", progress=False)
    with pytest.raises(ValueError) as err:
        export_pretrained(tmp_path / "cheap", "gcnn-c4", directory=shipped_dir)
    msg = str(err.value)
    for word in ("hidden_channels", "train_subset", "seed", "(4, 2)", "overwrite=True",
                 str(pt)):
        assert word in msg, word
    assert (pt.read_bytes(), js.read_text()) == before
    # The same recipe and seed, as good on validation: replacing is fine.
    assert export_pretrained(tiny_run, "gcnn-c4", directory=shipped_dir) == pt
    # ... but not when the shipped run was better on validation.
    better = {**json.loads(js.read_text()), "best_val_acc": 1.0}
    js.write_text(json.dumps(better))
    with pytest.raises(ValueError, match="validation accuracy.*1.0"):
        export_pretrained(tiny_run, "gcnn-c4", directory=shipped_dir)
    # The override replaces it and says what it replaced.
    with pytest.warns(UserWarning, match="replacing the shipped 'gcnn-c4'.*hidden_channels"):
        export_pretrained(tmp_path / "cheap", "gcnn-c4", directory=shipped_dir, overwrite=True)
    assert json.loads(js.read_text())["config"]["hidden_channels"] == 2


@pytest.mark.parametrize("name", sorted(PRETRAINED))
def test_every_shipped_command_repeats_the_recipe_its_model_records(name):
    """The registry's command may replace its shipped model (same settings, seed included)."""
    spec = PRETRAINED[name]
    cfg = EXPERIMENTS[spec.experiment].config(spec.epochs, seed=0).resolved()
    assert check_export(name, dataclasses.asdict(cfg)) == []
    with pytest.raises(ValueError, match="'seed': \\(0, 1\\)"):
        check_export(name, dataclasses.asdict(dataclasses.replace(cfg, seed=1)))


def _ship(tmp_path: Path, *names: str) -> Path:
    """Copies of shipped models (weights, metrics, other seeds' metrics) in ``tmp_path``."""
    import shutil

    (tmp_path / "seeds").mkdir(parents=True, exist_ok=True)
    for name in names:
        for suffix in (".pt", ".json"):
            shutil.copy(PRETRAINED_DIR / f"{name}{suffix}", tmp_path / f"{name}{suffix}")
        for seed in (PRETRAINED_DIR / "seeds").glob(f"{name}-s*.json"):
            shutil.copy(seed, tmp_path / "seeds" / seed.name)
    return tmp_path


def test_best_is_chosen_among_the_shipped_candidates_and_used_as_it_was_chosen(tmp_path):
    from gcnn.pretrained import best_name

    with pytest.raises(ValueError, match="no candidate"):
        best_name(_ship(tmp_path / "none", "gcnn-c4"))  # the post's model is no candidate
    folder = _ship(tmp_path / "one", "gcnn-c4", "gcnn-c4-bn-cosine")
    assert best_name(folder) == "gcnn-c4-bn-cosine"
    assert pretrained_metrics("best", folder) == pretrained_metrics("gcnn-c4-bn-cosine", folder)
    assert len(seed_metrics("best", folder)) == len(seed_metrics("gcnn-c4-bn-cosine", folder))
    best = pretrained("best", directory=folder)
    assert isinstance(best, OrbitAverage) and best.angles == [0.0, 45.0]   # its test orbit


def test_the_shipped_best_model_reproduces_its_recorded_accuracy_as_used(root):
    from gcnn.pretrained import best_name

    name = best_name()
    metrics = pretrained_metrics(name)
    recorded = metrics.get("orbit_average", metrics)     # as used: averaged when it has an orbit
    x, y = data.fixed_rotated_test_set(root)
    acc = evaluate(pretrained("best"), x[:2000], y[:2000])
    assert abs(acc - recorded["rotated_test_acc_first2000"]) <= 0.005, (name, acc)
