"""Tests of gcnn.digits (the rotated-digits chapter's plots, animations and widget).

Tiny untrained models on small random "digits": fast, and no MNIST needed.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gcnn import CNN, CyclicGroup, GroupEquivariantCNN  # noqa: E402
from gcnn import digits as D  # noqa: E402

SIZE = 15


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    gcnn = GroupEquivariantCNN(CyclicGroup(order=4), kernel_size=3, in_channels=1,
                               out_channels=10, num_hidden=2, hidden_channels=3)
    cnn = CNN(kernel_size=3, in_channels=1, out_channels=10, num_hidden=2, hidden_channels=4)
    return {"CNN": cnn.eval(), "GCNN": gcnn.eval()}


@pytest.fixture(scope="module")
def digits():
    g = torch.Generator().manual_seed(1)
    images = torch.rand(6, 1, SIZE, SIZE, generator=g)
    images[..., :2, :] = 0  # not symmetric, so every quarter turn is a different picture
    labels = torch.tensor([3, 1, 4, 1, 5, 9])
    return images, labels


def _metrics(acc0: float, with_sweep: bool = True) -> dict:
    m = {"test_acc": acc0, "rotated_test_acc": acc0 / 2, "rotated_test_acc_first2000": 0.4,
         "num_parameters": 102970, "best_epoch": 7, "config": {"epochs": 10},
         "seconds_per_epoch": 123.4, "device": "cpu", "threads": 2}
    if with_sweep:
        angles = [float(a) for a in range(0, 360, 5)]
        m["accuracy_vs_angle"] = {"angles": angles, "accuracy": [acc0] * len(angles),
                                  "num_digits": 10000}
    return m


def test_sweep_summary_splits_upright_level_and_turning_cost():
    m = _metrics(0.9)
    m["accuracy_vs_angle"]["accuracy"] = [0.9, 0.5, 0.7, 0.5]   # at 0°, 90°, 180°, 270°
    m["accuracy_vs_angle"]["angles"] = [0.0, 90.0, 180.0, 270.0]
    s = D.sweep_summary(m)
    assert (s.upright, s.lowest, s.lowest_angle) == (0.9, 0.5, 90.0)
    assert s.mean == pytest.approx(0.65) and s.turning_cost == pytest.approx(0.25)
    flat = D.sweep_summary(_metrics(0.8))
    assert flat.turning_cost == pytest.approx(0.0) and flat.mean == pytest.approx(0.8)
    m["accuracy_vs_angle"]["angles"] = [10.0, 90.0, 180.0, 270.0]
    with pytest.raises(ValueError, match="starting at 0"):
        D.sweep_summary(m)


# -- predict_proba -------------------------------------------------------------------------------
def test_predict_proba_is_a_distribution_and_keeps_the_mode(models, digits):
    images, _ = digits
    model = models["CNN"].train()
    try:
        p = D.predict_proba(model, images, batch_size=4)
        assert model.training, "predict_proba must restore train mode"
    finally:
        model.eval()
    assert p.shape == (6, 10)
    assert torch.allclose(p.sum(1), torch.ones(6), atol=1e-5)
    assert (p >= 0).all()


def test_predict_proba_rejects_a_single_image(models, digits):
    with pytest.raises(ValueError, match=r"\[B, 1, H, W\]"):
        D.predict_proba(models["CNN"], digits[0][0])


# -- the data --------------------------------------------------------------------------------------
def test_digit_grid_titles(digits):
    images, labels = digits
    fig = D.plot_digit_grid(images, labels, [0.0, 10.4, 90, 180, 270, 359.6], ncols=4)
    titles = [ax.get_title() for ax in fig.axes if ax.images]
    assert titles[:2] == ["3 · 0°", "1 · 10°"]
    assert len(titles) == 6 and len(fig.axes) == 8  # two rows of four, two empty
    assert D.plot_digit_grid(images, labels).axes[0].get_title() == "3"


def test_digit_grid_needs_matching_lengths(digits):
    images, labels = digits
    with pytest.raises(ValueError, match="as many labels"):
        D.plot_digit_grid(images, labels[:3])
    with pytest.raises(ValueError, match="as many labels"):
        D.plot_digit_grid(images, labels, [0.0])


# -- results ---------------------------------------------------------------------------------------
def test_metrics_table_rows():
    table = D.metrics_table({"CNN": _metrics(0.99), "GCNN (C4)": _metrics(0.98)})
    lines = table.splitlines()
    assert len(lines) == 4 and lines[0].startswith("| model |")
    assert lines[2] == "| CNN | 99.00 % | 49.50 % | 102,970 | – | 7 of 10 | 123 | cpu, 2 threads |"
    assert lines[3].startswith("| GCNN (C4) | 98.00 %")


def test_macs_per_image_from_the_model_config():
    from gcnn.train import model_config

    c4 = {**_metrics(0.9), "model_config": model_config("gcnn", "C4")}
    cnn = {**_metrics(0.9), "model_config": model_config("cnn")}
    # The post's two models: about the same parameters, four times the compute for the G-CNN.
    assert D.macs_per_image(c4) == 89_395_360
    assert 22e6 < D.macs_per_image(cnn) < 23e6
    assert "| 89.4 M |" in D.metrics_table({"C4": c4})


def test_metrics_table_rejects_unfinished_runs():
    unfinished = _metrics(0.5)
    del unfinished["test_acc"]
    with pytest.raises(KeyError, match="finished"):
        D.metrics_table({"x": unfinished})
    with pytest.raises(ValueError):
        D.metrics_table({})


def test_mean_sd():
    assert D.mean_sd([0.981, 0.987, 0.984], digits=2) == "98.40 ± 0.30"
    assert D.mean_sd([0.5]) == "50.0"
    assert D.mean_sd([80.0, 100.0], scale=1, digits=0) == "90 ± 14"
    with pytest.raises(ValueError):
        D.mean_sd([])


def _seed(acc0: float, seed: int) -> dict:
    m = _metrics(acc0)
    m["config"] = {"epochs": 10, "seed": seed}
    return m


def test_seed_table_rows():
    table = D.seed_table({"CNN": [_seed(0.98, 0), _seed(0.99, 1), _seed(0.97, 2)],
                          "GCNN": _seed(0.9, 0)})
    lines = table.splitlines()
    assert len(lines) == 4
    assert lines[2] == "| CNN | 0, 1, 2 | 98.00 ± 1.00 | 49.0 ± 0.5 | 98.0 ± 1.0 | 123 ± 0 |"
    assert lines[3] == "| GCNN | 0 | 90.00 | 45.0 | 90.0 | 123 |"
    other = _seed(0.9, 1)
    other["config"]["epochs"] = 5
    with pytest.raises(ValueError, match="more than their seed"):
        D.seed_table({"GCNN": [_seed(0.9, 0), other]})
    with pytest.raises(ValueError):
        D.seed_table({"GCNN": []})


def test_accuracy_vs_angle_plot_of_seeds_draws_mean_and_range():
    low, high = _metrics(0.8), _metrics(0.9)
    fig = D.plot_accuracy_vs_angle({"GCNN": [low, high], "CNN": _metrics(0.5)})
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["GCNN (mean of 2 seeds, range)", "CNN"]
    mean_line = next(line for line in ax.lines if line.get_label() == labels[0])
    assert list(mean_line.get_ydata())[:2] == pytest.approx([0.85, 0.85])
    assert len(ax.collections) == 1     # one band, for the model with several seeds
    shifted = _metrics(0.7)
    sweep = shifted["accuracy_vs_angle"]
    sweep["angles"] = [a + 1 for a in sweep["angles"]]
    with pytest.raises(ValueError, match="different angles"):
        D.plot_accuracy_vs_angle({"x": [low, shifted]})


def test_accuracy_vs_angle_plot():
    fig = D.plot_accuracy_vs_angle({"CNN": _metrics(0.9), "GCNN": _metrics(0.8)})
    ax = fig.axes[0]
    data_lines = [line for line in ax.lines if line.get_label() in ("CNN", "GCNN")]
    assert len(data_lines) == 2
    assert list(data_lines[0].get_xdata())[:2] == [0.0, 5.0]
    vertical = [line for line in ax.lines if list(line.get_xdata()) in ([0, 0], [90, 90])]
    assert len(vertical) == 2  # 0° and 90° marked (and 180°, 270°, 360°)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["CNN", "GCNN"]
    assert "10,000 digits" in ax.get_ylabel()
    assert ax.get_legend()._ncols == 2                 # short labels: side by side
    long = {f"a schedule of five groups, number {i}": _metrics(0.8) for i in range(3)}
    assert D.plot_accuracy_vs_angle(long).axes[0].get_legend()._ncols == 2   # 38 chars: 2 fit


# -- feature maps ----------------------------------------------------------------------------------
def test_rotated_features_shapes_and_channel(models, digits):
    digit = digits[0][0]
    g = D.rotated_features(models["GCNN"], digit, [0, 90, 45], layer=1)
    c = D.rotated_features(models["CNN"], digit, [0, 90, 45], layer=-1, channel=2)
    assert g.maps.shape == (3, 4, SIZE - 4, SIZE - 4) and g.layer == 1
    assert c.maps.shape == (3, 1, SIZE - 6, SIZE - 6) and c.channel == 2
    assert g.images.shape == (3, 1, SIZE, SIZE)
    assert torch.allclose(g.images[1], torch.rot90(digit, 1, dims=(-1, -2)), atol=1e-5)
    assert float(g.maps[0].std()) > 0  # the busiest channel is not an all-zero one


def test_gcnn_maps_turn_and_roll_with_the_digit(models, digits):
    """A quarter turn of the digit turns the G-CNN's maps and rolls the group axis one step."""
    f = D.rotated_features(models["GCNN"], digits[0][1], [0, 90, 180, 270], layer=1)
    for k in range(4):
        expected = torch.rot90(f.maps[0], k, dims=(-1, -2)).roll(k, dims=0)
        assert torch.allclose(f.maps[k], expected, atol=1e-4), k
    c = D.rotated_features(models["CNN"], digits[0][1], [0, 90], layer=1).maps[:, 0]
    assert not torch.allclose(c[1], torch.rot90(c[0], 1, dims=(-1, -2)), atol=1e-3)


def test_rotated_features_errors(models, digits):
    digit = digits[0][0]
    with pytest.raises(IndexError, match="layer"):
        D.rotated_features(models["CNN"], digit, [0], layer=7)
    with pytest.raises(IndexError, match="channel"):
        D.rotated_features(models["CNN"], digit, [0], channel=99)
    with pytest.raises(ValueError, match="angle"):
        D.rotated_features(models["CNN"], digit, [])
    with pytest.raises(ValueError, match="one digit"):
        D.rotated_features(models["CNN"], digits[0], [0])


def test_plot_feature_maps_layout(models, digits):
    fig = D.plot_feature_maps(models, digits[0][0], angles=(0, 90, 180, 270), layer=1)
    assert len(fig.axes) == 4 * (1 + 1 + 4)  # rows: angles; columns: digit, CNN, 4 GCNN maps
    assert fig.axes[0].get_ylabel() == "0°" and fig.axes[6].get_ylabel() == "90°"
    assert set(fig.frames) == {"CNN", "GCNN"}
    assert "GCNN" in fig.axes[2].title.get_text() + fig.axes[2]._left_title.get_text()


def test_feature_map_animation_frames(models, digits):
    from gcnn.widgets import animation_html

    anim = D.feature_map_animation(models, digits[0][0], angles=[0, 45, 90], dpi=30)
    assert anim.angles == [0.0, 45.0, 90.0]
    assert anim.frames["GCNN"].maps.shape[:2] == (3, 4)
    html = animation_html(anim).data
    assert html.count("data:image/jpeg;base64") == 3


# -- predictions -----------------------------------------------------------------------------------
def test_digit_predictions_figure(models, digits):
    fig = D.plot_digit_predictions(models, digits[0][0], angle=30, label=3, dpi=40)
    assert set(fig.probabilities) == {"CNN", "GCNN"}
    for p in fig.probabilities.values():
        assert p.shape == (10,) and abs(float(p.sum()) - 1) < 1e-5
    titles = [ax.get_title() for ax in fig.axes[1:]]
    assert titles[0].startswith("CNN: ") and titles[1].startswith("GCNN: ")
    assert fig.axes[0].get_title() == "a 3, 30°"
    for ax, p in zip(fig.axes[1:], fig.probabilities.values()):
        heights = torch.tensor([bar.get_height() for bar in ax.patches])
        assert torch.allclose(heights, p, atol=1e-6)
        wrong = int(p.argmax()) != 3
        assert (ax.title.get_color() == "crimson") == wrong


def test_probability_animation_gcnn_is_invariant_to_quarter_turns(models, digits):
    anim = D.probability_animation(models, digits[0][2], label=4, angles=[0, 90, 180, 270, 45],
                                   dpi=30)
    g, c = anim.probabilities["GCNN"], anim.probabilities["CNN"]
    assert g.shape == (5, 10) and anim.frame_images.shape == (5, 1, SIZE, SIZE)
    assert torch.allclose(g[:4], g[:1].expand(4, -1), atol=1e-5)
    assert not torch.allclose(c[1], c[0], atol=1e-5)
    anim._func(4)  # drawing a later frame works


def test_probability_animation_needs_angles_and_models(models, digits):
    with pytest.raises(ValueError, match="angle"):
        D.probability_animation(models, digits[0][0], angles=[])
    with pytest.raises(ValueError, match="dict"):
        D.probability_animation({}, digits[0][0])


def test_digit_widget_updates(models, digits):
    pytest.importorskip("ipywidgets")
    images, labels = digits
    box = D.digit_widget(models, images, labels, index=2, angle=0, dpi=30)
    first_png, first = box.image.value, box.probabilities["CNN"].clone()
    assert first_png[:4] == b"\x89PNG"
    assert "is a <b>4</b>" in box.status.value
    box.slider.value = 90
    assert not torch.allclose(box.probabilities["CNN"], first, atol=1e-5)
    box.index.value = 5
    assert "is a <b>9</b>" in box.status.value and box.image.value != first_png
    with pytest.raises(ValueError, match="index"):
        D.digit_widget(models, images, labels, index=6)
    with pytest.raises(ValueError, match="labels"):
        D.digit_widget(models, images, labels[:2])
