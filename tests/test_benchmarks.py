"""The inference and training benchmarks run and write the records chapter 11 reads."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

import gcnn
from gcnn.selection import cost_table, inference_timings, timing_key

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _keep_torch_threads():
    """The benchmark sets torch's thread count for the whole process: restore it, or later tests
    train with another count than their subprocesses and differ in the last bits."""
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def _load(name: str):
    path = ROOT / "benchmarks" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_inference_benchmark_records_every_model_and_its_orbit_average(tmp_path, capsys):
    bench = _load("inference")
    out = tmp_path / "inference.json"
    args = ["--models", "cnn", "gcnn-c4-bn-cosine", "--repeats", "1", "--warmup", "0",
            "--calls", "1", "--batch", "4", "--write", str(out)]
    assert bench.main(args) == 0
    record = json.loads(out.read_text())
    assert record["batch"] == 4 and record["machine"]["threads"] == 1
    assert record["command"].startswith("python benchmarks/inference.py --models cnn")
    orbit = timing_key("gcnn-c4-bn-cosine", [0, 45])
    assert set(record["models"]) == {"cnn", "gcnn-c4-bn-cosine", orbit}
    assert record["models"][orbit]["forward_passes"] == 2
    for entry in record["models"].values():
        for batch in ("batch_1", "batch_4"):
            t = entry[batch]
            assert 0 < t["min"] <= t["median"] <= t["max"]
    assert orbit in capsys.readouterr().out
    table = cost_table({"gcnn-c4-bn-cosine": gcnn.seed_metrics("gcnn-c4-bn-cosine")}, record)
    row = [line for line in table.splitlines() if "averaged over 0°, 45°" in line][0]
    assert f"| {record['models'][orbit]['batch_1']['median']:.2f} |" in row


def test_inference_benchmark_rejects_unknown_models():
    bench = _load("inference")
    with pytest.raises(SystemExit):
        bench.main(["--models", "no-such-model"])


def test_recorded_timings_cover_chapter_10s_models():
    record = inference_timings()
    assert record["command"].startswith("python benchmarks/inference.py")
    for name in ("cnn", "gcnn-c4", "gcnn-c4-bn-cosine"):
        assert name in record["models"]


def test_training_benchmark_records_cpu_epochs_of_shipped_models(tmp_path, capsys):
    bench = _load("training")
    out = tmp_path / "training.json"
    args = ["--models", "gcnn-c4-bn-cosine", "--steps", "1", "--repeats", "1", "--warmup", "0",
            "--threads", "1", "--write", str(out)]
    assert bench.main(args) == 0
    record = json.loads(out.read_text())
    assert record["machine"]["threads"] == 1 and record["steps"] == 1
    assert record["command"].startswith("python benchmarks/training.py --models gcnn-c4-bn")
    entry = record["models"]["gcnn-c4-bn-cosine"]
    assert entry["batches_per_epoch"] == 430                   # 55,000 digits in batches of 128
    assert 0 < entry["seconds_per_batch"]["min"] <= entry["seconds_per_batch"]["median"]
    assert entry["seconds_per_epoch"] == 430 * entry["seconds_per_batch"]["median"]
    assert entry["hours_per_seed"] == pytest.approx(10 * entry["seconds_per_epoch"] / 3600)
    assert "gcnn-c4-bn-cosine" in capsys.readouterr().out


def test_training_benchmark_rejects_unknown_models():
    bench = _load("training")
    with pytest.raises(SystemExit):
        bench.main(["--models", "no-such-model"])
