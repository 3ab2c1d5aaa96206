"""Tests of gcnn.schedules: confusion counts, the 6/9 numbers, per-layer group schedules."""

from __future__ import annotations

import math

import matplotlib
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

from gcnn import CyclicGroup, DihedralGroup, GroupEquivariantCNN  # noqa: E402
from gcnn.schedules import (  # noqa: E402
    GROUP_CHOICES,
    build_schedule,
    confusion_counts,
    confusion_matrix,
    parse_schedule,
    plot_confusion,
    plot_six_nine,
    predict,
    schedule_channels,
    schedule_report,
    schedule_table,
    six_nine_confusion,
)


class Lookup(nn.Module):
    """A fake classifier: predicts the class stored in pixel [0, 0] of each image."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        cls = x[:, 0, 0, 0].long()
        return nn.functional.one_hot(cls, 10).float() + 0 * self.dummy


def _images(classes):
    x = torch.zeros(len(classes), 1, 4, 4)
    x[:, 0, 0, 0] = torch.tensor(classes, dtype=torch.float32)
    return x


def test_predict_and_confusion_matrix_count_every_pair():
    truth = torch.tensor([6, 6, 6, 9, 9, 1, 0])
    said = [6, 9, 9, 6, 9, 1, 2]
    x = _images(said)
    assert torch.equal(predict(Lookup(), x, batch_size=3), torch.tensor(said))
    cm = confusion_matrix(Lookup(), x, truth, batch_size=2)
    assert cm.shape == (10, 10) and cm.dtype == torch.long
    assert int(cm.sum()) == 7
    assert cm[6, 6] == 1 and cm[6, 9] == 2 and cm[9, 6] == 1 and cm[9, 9] == 1
    assert cm[0, 2] == 1 and cm[1, 1] == 1
    assert torch.equal(cm, confusion_counts(truth, torch.tensor(said)))


def test_confusion_errors_name_the_problem():
    with pytest.raises(ValueError, match="labels must be"):
        confusion_matrix(Lookup(), _images([1, 2]), torch.tensor([1]))
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        confusion_counts(torch.tensor([10]), torch.tensor([0]))
    with pytest.raises(ValueError, match="differ"):
        confusion_counts(torch.tensor([1, 2]), torch.tensor([1]))
    with pytest.raises(ValueError, match="N, C, H, W"):
        predict(Lookup(), torch.zeros(3, 4, 4))


def test_six_nine_confusion_fractions():
    cm = torch.zeros(10, 10, dtype=torch.long)
    cm[6, 6], cm[6, 9], cm[9, 9], cm[9, 6], cm[0, 0] = 8, 2, 3, 1, 6
    s = six_nine_confusion(cm)
    assert s["sixes"] == 10 and s["nines"] == 4 and s["total"] == 20
    assert s["six_as_nine"] == pytest.approx(0.2)
    assert s["nine_as_six"] == pytest.approx(0.25)
    assert s["six_correct"] == pytest.approx(0.8)
    assert s["accuracy"] == pytest.approx(17 / 20)
    empty = six_nine_confusion(torch.zeros(10, 10, dtype=torch.long))
    assert math.isnan(empty["six_as_nine"])
    with pytest.raises(ValueError, match="square"):
        six_nine_confusion(torch.zeros(10, 9))


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


@pytest.fixture(scope="module")
def x_small():
    return torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(1))


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


def test_plots_return_figures():
    cm = torch.randint(0, 50, (10, 10))
    ax = plot_confusion(cm, title="test")
    assert ax.get_title() == "test"
    y = torch.tensor([6, 9, 6, 9, 1])
    fig = plot_six_nine(torch.rand(5, 1, 8, 8), y, count=2)
    assert len(fig.axes) == 8
    with pytest.raises(ValueError, match="need 3"):
        plot_six_nine(torch.rand(5, 1, 8, 8), y, count=3)
    import matplotlib.pyplot as plt

    plt.close("all")


def test_schedule_widget_reports_validity(x_small):
    pytest.importorskip("ipywidgets")
    from gcnn.schedules import schedule_widget

    panel = schedule_widget(layers=3, initial=("C4", "C4", "C1"), budget=8, x=x_small)
    assert len(panel.dropdowns) == 3
    assert "valid" in panel.result.value and "no turn" in panel.result.value
    panel.dropdowns[2].value = "C8"
    assert "not a valid schedule" in panel.result.value and "not a subgroup" in panel.result.value
    panel.dropdowns[2].value = "C2"
    assert "180°" in panel.result.value
    with pytest.raises(ValueError, match="needs 3 groups"):
        schedule_widget(layers=3, initial=("C4",))
