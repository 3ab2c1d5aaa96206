"""Measuring models (gcnn.metrics): the inference loop, accuracy, confusions, MACs."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gcnn import (
    CNN,
    CyclicGroup,
    DihedralGroup,
    GroupConvolution,
    GroupEquivariantCNN,
    LiftingConvolution,
    data,
)
from gcnn.checkpoint import load_model
from gcnn.metrics import (
    accuracy_vs_angle,
    confusion_counts,
    confusion_matrix,
    count_macs,
    evaluate,
    mac_table,
    predict,
    predict_proba,
    six_nine_confusion,
)


def test_evaluate_and_accuracy_vs_angle_agree(full_run, root):
    model = load_model(full_run[0] / "best.pt")
    xt, yt = data.test_set(root)
    xr, _ = data.rotated_test_set(30.0, root)
    n = 300
    assert accuracy_vs_angle(model, [30.0], xt[:n], yt[:n]) == [evaluate(model, xr[:n], yt[:n])]
    model.train()
    evaluate(model, xt[:10], yt[:10])
    assert model.training  # mode restored
    with pytest.raises(ValueError, match="labels"):
        evaluate(model, xt[:10], yt[:9])


def test_predict_proba_is_a_distribution_and_keeps_the_mode(models, digits):
    images, _ = digits
    model = models["CNN"].train()
    try:
        p = predict_proba(model, images, batch_size=4)
        assert model.training, "predict_proba must restore train mode"
    finally:
        model.eval()
    assert p.shape == (6, 10)
    assert torch.allclose(p.sum(1), torch.ones(6), atol=1e-5)
    assert (p >= 0).all()


def test_predict_proba_rejects_a_single_image(models, digits):
    with pytest.raises(ValueError, match=r"\[B, 1, H, W\]"):
        predict_proba(models["CNN"], digits[0][0])


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


def _conv_out(size, k, n):
    return [size - (i + 1) * (k - 1) for i in range(n)]


def test_count_macs_gcnn_matches_the_formula():
    k, c, n_hidden, group = 5, 16, 4, CyclicGroup(4)
    model = GroupEquivariantCNN(group, k, 1, 10, n_hidden, c)
    rows = count_macs(model, [1, 28, 28])
    sizes = _conv_out(28, k, n_hidden + 1)  # 24, 20, 16, 12, 8
    g = group.order
    expected = [c * g * 1 * k * k * sizes[0] ** 2]
    expected += [c * g * c * g * k * k * s**2 for s in sizes[1:]]
    expected += [c * 10]
    assert [r.macs for r in rows] == expected
    assert [r.kind for r in rows] == ["LiftingConvolution"] + ["GroupConvolution"] * 4 + ["Linear"]
    assert rows[0].output_shape == (c, g, 24, 24)
    assert sum(r.params for r in rows) == sum(p.numel() for p in model.parameters()) == 102_970


def test_count_macs_cnn_matches_the_formula_and_ignores_batch():
    k, c = 5, 32
    model = CNN(k, 1, 10, 4, c)
    sizes = _conv_out(28, k, 5)
    expected = [c * k * k * sizes[0] ** 2] + [c * c * k * k * s**2 for s in sizes[1:]] + [c * 10]
    assert [r.macs for r in count_macs(model, [1, 28, 28])] == expected
    assert [r.macs for r in count_macs(model, [3, 1, 28, 28])] == expected
    assert sum(r.params for r in count_macs(model, [1, 28, 28])) == 103_690


def test_count_macs_dihedral_layers_and_export_agree():
    d4 = DihedralGroup(4)
    lift = LiftingConvolution(d4, 3, 2, 4, padding=1)
    gconv = GroupConvolution(d4, 3, 4, 5)
    (r_lift,) = count_macs(lift, [2, 9, 9])
    assert r_lift.macs == 4 * 8 * 2 * 9 * 9 * 9
    (r_exp,) = count_macs(lift.export(), [2, 9, 9])  # the frozen nn.Conv2d costs the same
    assert r_exp.macs == r_lift.macs
    model = nn.Sequential(lift, gconv)
    rows = count_macs(model, [2, 9, 9])
    assert rows[1].macs == 5 * 8 * 4 * 8 * 9 * 7 * 7


def test_mac_table_has_totals_and_rejects_bad_shapes():
    rows = count_macs(CNN(3, 1, 2, 1, 4), [1, 8, 8])
    text = mac_table(rows, title="tiny")
    assert text.splitlines()[0] == "tiny"
    assert f"{sum(r.macs for r in rows):,}" in text.splitlines()[-1]
    with pytest.raises(ValueError, match="input_shape"):
        count_macs(CNN(3, 1, 2, 1, 4), [8, 8])
