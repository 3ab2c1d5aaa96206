"""The scripts behind the README's results: the table printer and the experiment runner."""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

import pytest
import torch

from gcnn.builders import build_model_from_config
from gcnn.experiments import TrainConfig
from gcnn.train import parser as train_parser
from gcnn.train import train

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))

import experiments  # noqa: E402
import results_table  # noqa: E402


def _metrics(model: str, epochs: int, seed: int, test_acc: float, rotated: float) -> dict:
    cfg = TrainConfig(model=model, epochs=epochs, seed=seed).resolved()
    return {
        "finished": True, "config": cfg.__dict__, "model_config": cfg.model_config(),
        "num_parameters": 1234, "test_acc": test_acc, "rotated_test_acc": rotated,
        "seconds_per_epoch": 10.0, "device": "cpu", "threads": 2,
        "accuracy_vs_angle": {"angles": [0.0, 45.0, 90.0, 180.0],
                              "accuracy": [0.9, 0.5, 0.2, 0.4], "num_digits": 2000},
    }


def test_results_table_groups_seeds_and_keeps_epochs_apart(tmp_path, capsys):
    runs = {"a": ("cnn", 5, 0, 0.98, 0.44), "b": ("cnn", 5, 1, 0.96, 0.46),
            "c": ("cnn", 10, 0, 0.99, 0.50)}
    for name, args in runs.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps(_metrics(*args)))
    results_table.main([str(tmp_path / n) for n in runs])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("| CNN")]
    # One row per (model, epochs) in each of the two tables; seeds 0 and 1 averaged.
    assert len(lines) == 4
    assert lines[0].startswith("| CNN (32 channels) | 5 | 2 | 1,234 | 22.6 M | 97.00 ± 1.41 "
                               "| 45.0 ± 1.4 |")
    assert lines[1].startswith("| CNN (32 channels) | 10 | 1 |")


def test_experiments_are_valid_training_commands(tmp_path):
    assert experiments.expand(["post", "cnn", "groups"]) == [
        "cnn", "gcnn-c4", "gcnn-c8", "gcnn-c16", "gcnn-d4"]
    assert set(experiments.expand(["all"])) == set(experiments.EXPERIMENTS)
    with pytest.raises(SystemExit, match="unknown experiment"):
        experiments.expand(["c5"])
    parser = train_parser()
    for name in experiments.EXPERIMENTS:
        out = experiments.run_dir(tmp_path, name, 10, 2)
        args = parser.parse_args(experiments.train_argv(name, 10, 2, out, []))
        assert (args.epochs, args.seed, Path(args.out)) == (10, 2, tmp_path / f"{name}-e10-s2")
        cfg = TrainConfig(model=args.model, group=args.group,
                            hidden_channels=args.hidden_channels).resolved()
        build_model_from_config(cfg.model_config())  # builds: the options make a valid model


def test_experiments_dry_run_says_what_it_would_do(tmp_path, capsys):
    experiments.main(["post", "--seeds", "0", "--epochs", "3", "--runs", str(tmp_path),
                      "--dry-run"])
    out = capsys.readouterr().out
    assert f"{tmp_path / 'cnn-e3-s0'}: new; python -m gcnn.train --model cnn --epochs 3" in out
    assert "gcnn-c4-e3-s0: new" in out
    assert not any(tmp_path.iterdir())  # nothing was trained or written


def test_six_nine_table_rows_and_numbers(root, tmp_path, capsys):
    import six_nine

    from gcnn import data, pretrained
    from gcnn.metrics import predict

    tiny = TrainConfig(model="gcnn", group="C4", hidden_channels=4, num_hidden=2, epochs=1,
                         batch_size=32, train_subset=64, eval_subset=50, angle_step=90.0)
    runs = []
    for seed in (0, 1):
        runs.append(tmp_path / f"tiny-s{seed}")
        train(dataclasses.replace(tiny, seed=seed), runs[-1], root=root, device="cpu",
                progress=False)
    six_nine.main([*map(str, runs), "cnn-e5", "--num-digits", "300", "--data", str(root)])
    assert torch.is_grad_enabled()      # the script must not switch gradients off for its caller
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.startswith("| CNN") or
            line.startswith("| GCNN")]
    assert [r.split(" | ")[:3] for r in rows] == [["| GCNN C4 (4 channels)", "1", "2"],
                                                  ["| CNN (32 channels)", "5", "1"]]
    x, y = data.test_set(root)
    upright = (predict(pretrained("cnn-e5"), x[:300]) == y[:300]).double().mean()
    assert rows[1].split(" | ")[3] == f"{100 * float(upright):.1f}"
    with pytest.raises(SystemExit, match="neither a run folder nor a shipped model"):
        six_nine.main(["no-such-model", "--data", str(root)])
    with pytest.raises(SystemExit):
        six_nine.main(["cnn-e5", "--num-digits", "0"])
