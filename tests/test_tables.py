"""Markdown tables of results (gcnn.tables): runs, seeds, sweep summaries, schedules."""

from __future__ import annotations

import math

import pytest

import gcnn
from gcnn.builders import model_config
from gcnn.tables import (
    macs_per_image,
    mean_sd,
    metrics_table,
    seed_table,
    sweep_summary,
)

from tiny import fake_metrics as _metrics  # noqa: E402
from tiny import fake_seed as _seed  # noqa: E402


def test_sweep_summary_splits_upright_level_and_turning_cost():
    m = _metrics(0.9)
    m["accuracy_vs_angle"]["accuracy"] = [0.9, 0.5, 0.7, 0.5]   # at 0°, 90°, 180°, 270°
    m["accuracy_vs_angle"]["angles"] = [0.0, 90.0, 180.0, 270.0]
    s = sweep_summary(m)
    assert (s.upright, s.lowest, s.lowest_angle) == (0.9, 0.5, 90.0)
    assert s.mean == pytest.approx(0.65) and s.turning_cost == pytest.approx(0.25)
    flat = sweep_summary(_metrics(0.8))
    assert flat.turning_cost == pytest.approx(0.0) and flat.mean == pytest.approx(0.8)
    m["accuracy_vs_angle"]["angles"] = [10.0, 90.0, 180.0, 270.0]
    with pytest.raises(ValueError, match="starting at 0"):
        sweep_summary(m)


def test_metrics_table_rows():
    table = metrics_table({"CNN": _seed(0.99, 0), "GCNN (C4)": _seed(0.98, 0)})
    lines = table.splitlines()
    assert len(lines) == 4 and lines[0].startswith("| model |")
    assert lines[2] == "| CNN, seed 0 | 99.00 % | 49.50 % | 102,970 | – | 7 of 10 | 123 | cpu, 2 threads |"
    assert lines[3].startswith("| GCNN (C4), seed 0 | 98.00 %")
    assert metrics_table({"CNN": _metrics(0.99)}).splitlines()[2].startswith("| CNN | 99.00 %")


def test_macs_per_image_from_the_model_config():
    c4 = {**_metrics(0.9), "model_config": model_config("gcnn", "C4")}
    cnn = {**_metrics(0.9), "model_config": model_config("cnn")}
    # The post's two models: about the same parameters, four times the compute for the G-CNN.
    assert macs_per_image(c4) == 89_395_360
    assert 22e6 < macs_per_image(cnn) < 23e6
    assert "| 89.4 M |" in metrics_table({"C4": c4})


def test_metrics_table_rejects_unfinished_runs():
    unfinished = _metrics(0.5)
    del unfinished["test_acc"]
    with pytest.raises(KeyError, match="finished"):
        metrics_table({"x": unfinished})
    with pytest.raises(ValueError):
        metrics_table({})


def test_mean_sd():
    assert mean_sd([0.981, 0.987, 0.984], digits=2) == "98.40 ± 0.30"
    assert mean_sd([0.5]) == "50.0"
    assert mean_sd([80.0, 100.0], scale=1, digits=0) == "90 ± 14"
    with pytest.raises(ValueError):
        mean_sd([])


def test_seed_table_rows():
    table = seed_table({"CNN": [_seed(0.98, 0), _seed(0.99, 1), _seed(0.97, 2)],
                          "GCNN": _seed(0.9, 0)})
    lines = table.splitlines()
    assert len(lines) == 4
    assert lines[2] == "| CNN | 0, 1, 2 | 98.00 ± 1.00 | 49.0 ± 0.5 | 98.0 ± 1.0 | 123 ± 0 |"
    assert lines[3] == "| GCNN | 0 | 90.00 | 45.0 | 90.0 | 123 |"
    other = _seed(0.9, 1)
    other["config"]["epochs"] = 5
    with pytest.raises(ValueError, match="more than their seed"):
        seed_table({"GCNN": [_seed(0.9, 0), other]})
    with pytest.raises(ValueError):
        seed_table({"GCNN": []})


def test_results_tables_name_the_recipe_and_add_a_row_for_the_orbit_average():
    from gcnn.tables import results_tables, row_key

    post = {**_metrics(0.97), "model_config": model_config("gcnn", "C4"),
            "config": {"epochs": 10, "seed": 0}}
    assert row_key(post) == "GCNN C4 (16 channels)"   # the post's rows keep their names
    new = {**_metrics(0.99), "config": {"epochs": 10, "seed": 0, "lr_schedule": "cosine"},
           "model_config": model_config("gcnn", "C8", hidden_channels=14, method="steerable",
                                        norm="batch")}
    new["orbit_average"] = {**_metrics(0.995), "angles": [0.0, 22.5], "forward_passes": 2}
    assert row_key(new) == "GCNN C8 (14 channels, steerable, batch norm, cosine lr)"
    lines = results_tables([post, new]).splitlines()
    rows = [line for line in lines if line.startswith("| GCNN")]
    assert len(rows) == 6   # three models (the orbit average its own) in each of two tables
    orbit = [r for r in rows if "averaged over 0°, 22.5°" in r]
    single = macs_per_image(new)
    assert len(orbit) == 2 and f"| {2 * single / 1e6:.1f} M |" in orbit[0]
    assert "| 99.50 |" in orbit[0]


def test_sweep_table_one_row_per_label_in_order_with_seed_means():
    from gcnn.tables import sweep_table, with_orbit_average

    def run(acc, seed):
        m = {**_metrics(acc), "config": {"epochs": 10, "seed": seed}}
        m["orbit_average"] = {**_metrics(acc + 0.05), "angles": [0.0, 45.0],
                              "forward_passes": 2}
        return m

    runs = [run(0.9, 0), run(0.8, 1)]
    curves = {label: ms for label, _, ms in with_orbit_average("new", runs)}
    rows = sweep_table(curves).splitlines()[2:]
    assert [r.split(" | ")[0] for r in rows] == ["| new", "| new, averaged over 0°, 45°"]
    assert rows[0].split(" | ")[3] == "85.0 ± 7.1"      # accuracy at 0°, mean ± sd of 2 seeds
    assert rows[1].split(" | ")[3] == "90.0 ± 7.1"
    with pytest.raises(ValueError):
        sweep_table({})


def _costed(acc0: float, seed: int, orbit: bool) -> dict:
    m = {**_seed(acc0, seed), "model_config": model_config("gcnn", "C4"),
         "history": [{"epoch": e, "seconds": 120.0} for e in range(1, 11)],
         "seconds_per_epoch": 120.0}
    if orbit:
        m["orbit_average"] = {"test_acc": acc0 - 0.01, "rotated_test_acc": acc0 - 0.02,
                              "angles": [0.0, 45.0], "forward_passes": 2}
    return m


def test_cost_table_one_row_per_model_and_orbit_average_with_recorded_times():
    from gcnn.selection import cost_table, timing_key

    runs = {"new": [_costed(0.99, 0, True), _costed(0.98, 1, True)],
            "post": [_costed(0.97, 0, False)]}
    timings = {"batch": 500, "models": {
        "new": {"forward_passes": 1, "batch_1": {"median": 4.0}, "batch_500": {"median": 2.5}},
        timing_key("new", [0.0, 45.0]): {"forward_passes": 2, "batch_1": {"median": 8.25},
                                          "batch_500": {"median": 5.0}}}}
    assert timing_key("new", [0.0, 45.0]) == "new averaged over 0, 45"
    lines = cost_table(runs, timings).splitlines()
    assert "ms, batch 500" in lines[0] and len(lines) == 2 + 3
    new, orbit, post = lines[2:]
    single = macs_per_image(runs["post"][0])
    assert new.startswith("| new | 0, 1 | 98.50 ± 0.71 |") and "| 4.00 | 2.50 |" in new
    assert orbit.startswith("| new, averaged over 0°, 45° | 0, 1 | 97.50 ± 0.71 |")
    assert f"| 2 | {2 * single / 1e6:.1f} M | 8.25 | 5.00 |" in orbit
    assert "| – | – |" in post                          # not in the record: no time shown
    assert post.endswith("| 20 min |")                    # 10 epochs x 120 s
    paused = {**runs["post"][0], "history": [{"epoch": 1, "seconds": 2000.0}]
              + runs["post"][0]["history"][1:]}            # one epoch paused half an hour
    assert "| 20 min |" in cost_table({"post": [paused]})   # the median epoch
    assert "ms, batch" not in cost_table(runs).splitlines()[0]
    with pytest.raises(ValueError, match="at least one model"):
        cost_table({})


def test_the_best_model_is_chosen_on_upright_validation_as_used_within_the_budget():
    from gcnn.selection import candidate_table, choose_best, val_acc_as_used

    post = macs_per_image({"model_config": model_config("gcnn", "C4")})
    plain = {**_costed(0.99, 0, False), "best_val_acc": 0.991}
    averaged = {**_costed(0.99, 0, True), "best_val_acc": 0.995}
    averaged["orbit_average"]["val_acc"] = 0.989         # averaging costs upright accuracy
    slow = _costed(0.99, 0, False)
    slow = {**slow, "best_val_acc": 0.999,
            "history": [{**h, "seconds": 3600.0} for h in slow["history"]]}
    assert val_acc_as_used(averaged) == 0.989 and val_acc_as_used(plain) == 0.991
    runs = {"plain": [plain], "averaged": [averaged], "slow": [slow]}
    # "averaged" is best in one pass, but it is used averaged; "slow" trains 10 h per seed
    assert choose_best(runs, post) == "plain"
    lines = candidate_table(runs, post).splitlines()
    assert lines[2].startswith("| plain | 0 | 1 | 89 M (1.0x) | 20 min | 99.10 | 99.10 | yes")
    assert lines[2].endswith("| **chosen** |")
    assert lines[3].startswith("| averaged | 0 | 2 | 179 M (2.0x) | 20 min | 99.50 | 98.90 |")
    assert "| 10 h 00 min |" in lines[4] and "| no |" in lines[4]
    # the test sets never enter the choice
    assert "test" not in candidate_table(runs, post)
    with pytest.raises(ValueError, match="no candidate within the budget"):
        choose_best({"slow": [slow]}, post)
    old = {**averaged, "orbit_average": {"angles": [0.0, 45.0], "forward_passes": 2}}
    with pytest.raises(KeyError, match="--resume"):
        val_acc_as_used(old)


def test_training_time_of_runs_made_on_a_gpu_is_the_cpu_benchmarks():
    from gcnn.selection import candidate_table, choose_best, train_hours, within_budget

    post = macs_per_image({"model_config": model_config("gcnn", "C4")})
    cpu = {**_costed(0.99, 0, False), "device": "cpu", "best_val_acc": 0.990}
    gpu = {**_costed(0.99, 0, False), "device": "cuda (NVIDIA H200)", "best_val_acc": 0.995,
           "history": [{"epoch": e, "seconds": 12.0} for e in range(1, 11)]}
    assert train_hours([cpu]) == pytest.approx(10 * 120 / 3600)
    # GPU seconds say nothing of the CPU budget: without a CPU measurement, no time and no fit
    assert train_hours([gpu], "gpu", timings={"models": {}}) == math.inf
    slow = {"models": {"gpu": {"seconds_per_epoch": 900.0}}}   # 10 x 900 s = 2.5 h on CPU
    fast = {"models": {"gpu": {"seconds_per_epoch": 360.0}}}   # 1 h
    assert train_hours([gpu], "gpu", timings=slow) == pytest.approx(2.5)
    assert train_hours([gpu], "gpu", timings=fast) == pytest.approx(1.0)
    assert within_budget([cpu], post, "cpu")
    # the shipped record decides for the names it holds; "gpu" is not one of them
    assert not within_budget([gpu], post, "gpu")
    assert choose_best({"cpu": [cpu], "gpu": [gpu]}, post) == "cpu"
    row = candidate_table({"cpu": [cpu], "gpu": [gpu]}, post).splitlines()[3]
    assert row.startswith("| gpu | 0 | 1 | 89 M (1.0x) | – |") and "| no |" in row
    # seeds added on a GPU do not replace a CPU run's recorded time, however slow it was
    slow_cpu = {**cpu, "history": [{"epoch": e, "seconds": 900.0} for e in range(1, 11)]}
    assert train_hours([slow_cpu, gpu, gpu], "gpu", timings=fast) == pytest.approx(2.5)
    assert not within_budget([slow_cpu, gpu], post, "gpu")


def test_shipped_gpu_runs_have_a_recorded_cpu_training_time():
    from gcnn.selection import train_hours, training_timings

    record = training_timings()
    assert record["command"].startswith("python benchmarks/training.py")
    assert record["machine"]["threads"] == 2
    for name in gcnn.pretrained.candidate_names():
        runs = gcnn.seed_metrics(name)
        if not str(runs[0]["device"]).startswith("cpu"):
            entry = record["models"][name]
            assert entry["seconds_per_epoch"] == pytest.approx(
                entry["seconds_per_batch"]["median"] * entry["batches_per_epoch"])
            assert math.isfinite(train_hours(runs, name))


def test_seconds_per_epoch_are_the_median_epoch_of_each_run():
    from gcnn.tables import epoch_seconds, results_tables

    run = {**_costed(0.99, 0, False), "config": {"epochs": 10, "seed": 0},
           "model_config": model_config("gcnn", "C4")}
    paused = {**run, "history": [{"epoch": 1, "seconds": 2000.0}] + run["history"][1:],
              "seconds_per_epoch": (2000.0 + 9 * 120.0) / 10}      # the mean counts the pause
    assert epoch_seconds(paused) == 120.0
    assert epoch_seconds({"seconds_per_epoch": 99.0}) == 99.0      # no history: the mean
    assert "| 120 |" in metrics_table({"paused": paused}).splitlines()[2]
    table = results_tables([paused])
    assert "median s / epoch" in table.splitlines()[0]
    assert "| 120 | cpu, 2 thread(s) |" in table.splitlines()[2]


def test_a_row_of_runs_on_two_devices_gives_the_seconds_of_each():
    from gcnn.tables import results_tables

    cpu = {**_costed(0.99, 0, False), "config": {"epochs": 10, "seed": 0}}
    gpu = {**_costed(0.99, 1, False), "config": {"epochs": 10, "seed": 1},
           "device": "cuda (NVIDIA H200)",
           "history": [{"epoch": e, "seconds": 12.0} for e in range(1, 11)]}
    row = results_tables([cpu, gpu, {**gpu, "config": {"epochs": 10, "seed": 2}}]).splitlines()[2]
    assert row.endswith("| 120 / 12 ± 0 | cpu/cuda (NVIDIA H200), 2 thread(s) |")
