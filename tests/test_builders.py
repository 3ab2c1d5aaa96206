"""Models from plain data (gcnn.builders): group names, the post's models, group schedules."""

from __future__ import annotations

import pytest
import torch

from gcnn import CyclicGroup, DihedralGroup, GroupEquivariantCNN
from gcnn.builders import (
    GROUP_CHOICES,
    build_model,
    build_schedule,
    parse_group,
    parse_schedule,
    schedule_channels,
    schedule_report,
)
from gcnn.metrics import count_parameters
from gcnn.tables import schedule_table


def test_build_model_recipe_defaults():
    gcnn_c4 = build_model("gcnn")
    cnn = build_model("cnn")
    assert count_parameters(gcnn_c4) == 102970  # the tutorial's number
    assert count_parameters(cnn) == 103690
    assert gcnn_c4.config["hidden_channels"] == 16 and cnn.config["hidden_channels"] == 32
    assert cnn.config["group"] is None


def test_build_model_group_schedule_and_names():
    model = build_model("gcnn", group="c8, C8,C4,C4,C1", hidden_channels=2)
    assert model.config["group"] == "C8,C8,C4,C4,C1"
    assert [g.order for g in model.layer_groups] == [8, 8, 4, 4, 1]
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 10)
    assert parse_group("D4").order == 8 and parse_group("C16").order == 16
    for bad in ["X4", "C0", "C", "4"]:
        with pytest.raises(ValueError, match="C<N>"):
            parse_group(bad)
    with pytest.raises(ValueError, match="model must be one of"):
        build_model("mlp")


def test_parse_schedule_and_channels():
    groups = parse_schedule("C8, C8,C4,c4,C1")
    assert [g.name for g in groups] == ["C8", "C8", "C4", "C4", "C1"]
    assert schedule_channels(groups) == [8, 8, 16, 16, 64]
    assert schedule_channels(parse_schedule(["C16", "C8", "C4", "C2", "C1"])) == [4, 8, 16, 32, 64]
    assert isinstance(parse_schedule(["D4"])[0], DihedralGroup)
    assert all(parse_schedule([name])[0].name == name for name in GROUP_CHOICES)
    with pytest.raises(ValueError, match="C<N> or D<N>"):
        parse_schedule("C4,X2")
    with pytest.raises(ValueError, match="at least one"):
        parse_schedule("")


def test_build_schedule_makes_the_network_and_rejects_bad_orders():
    net = build_schedule("C4,C2,C1", budget=8)
    assert isinstance(net, GroupEquivariantCNN)
    assert [g.name for g in net.layer_groups] == ["C4", "C2", "C1"]
    assert net.lifting_conv.out_channels == 2 and net.gconvs[-1].out_channels == 8
    again = build_schedule("C4,C2,C1", budget=8)  # seeded: the same weights
    assert torch.equal(net.lifting_conv.weight, again.lifting_conv.weight)
    with pytest.raises(ValueError, match="not a subgroup"):
        build_schedule("C4,C8")
    with pytest.raises(ValueError, match="not a subgroup"):
        build_schedule([CyclicGroup(order=8), DihedralGroup(order=4)])


def test_schedule_report_invariance_follows_the_last_group(x_small):
    full = schedule_report("C4,C4,C4", x=x_small, budget=8, macs=False)
    assert full.valid and full.message == ""
    assert max(full.errors) < 1e-5 and full.invariant_to == "all quarter turns"
    half = schedule_report("C4,C4,C2", x=x_small, budget=8, macs=False)
    assert half.errors[1] < 1e-5 and half.errors[0] > 1e-3 and half.errors[2] > 1e-3
    assert half.invariant_to == "180°"
    none = schedule_report("C4,C2,C1", x=x_small, budget=8, macs=False)
    assert min(none.errors) > 1e-3 and none.invariant_to == "no turn"
    assert none.hidden_channels == [2, 4, 8] and none.params > 0 and none.macs is None
    mirror = schedule_report("D4,D2,D1", x=x_small, budget=8, macs=False)
    assert mirror.valid and mirror.invariant_to == "no turn + a mirror"


def test_schedule_report_and_table_for_invalid_schedules(x_small):
    bad = schedule_report("C4,C8,C4", x=x_small, budget=8)
    assert not bad.valid and "not a subgroup" in bad.message and bad.errors is None
    typo = schedule_report("C4,Q2", x=x_small)
    assert not typo.valid and "C<N> or D<N>" in typo.message
    good = schedule_report("C4,C1", x=x_small, budget=8, kernel_size=3)
    assert good.macs > 0
    table = schedule_table([good, bad])
    lines = table.splitlines()
    assert len(lines) == 8 and lines[0].startswith("| schedule")
    assert "| C4 → C1 | yes |" in lines[2]
    assert "| C4 → C8 → C4 | no (1) |" in lines[3]
    assert all(line.count("|") == lines[0].count("|") for line in lines[2:4])
    assert lines[4:7] == ["", "Invalid:", ""]
    assert lines[7].startswith("1. C4 → C8 → C4: ") and "not a subgroup" in lines[7]


def test_norm_is_stored_only_when_not_the_posts_and_old_configs_build_the_post():
    from gcnn.builders import build_model_from_config, model_config

    post = model_config("gcnn", "C4")
    assert "norm" not in post and "norm" not in model_config("cnn", norm="layer")
    batch = model_config("gcnn", "C8", method="steerable", norm="batch")
    assert batch["norm"] == "batch"
    assert build_model_from_config(post).norm == "layer"       # a config from before the setting
    model = build_model_from_config(batch)
    assert model.norm == "batch" and model.config == batch
    assert build_model_from_config(model_config("cnn", norm="none")).norm == "none"
    with pytest.raises(ValueError, match="norm must be one of"):
        model_config("gcnn", "C4", norm="instance")
