"""Pictures of results (gcnn.viz.results, gcnn.viz.plot_digit_grid): accuracy plots,
confusions, predictions. Tiny untrained models on small random "digits": no MNIST needed.
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gcnn import viz as D  # noqa: E402

from tiny import fake_metrics as _metrics  # noqa: E402
from tiny import SIZE  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


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


def test_accuracy_vs_angle_plot_zooms_and_drops_the_chance_line_out_of_view():
    fig = D.plot_accuracy_vs_angle({"GCNN": _metrics(0.9)}, ylim=(0.75, 1.0))
    ax = fig.axes[0]
    assert ax.get_ylim() == (0.75, 1.0)
    assert not [t for t in ax.texts if t.get_text() == "chance"]
    full = D.plot_accuracy_vs_angle({"GCNN": _metrics(0.9)}).axes[0]
    assert [t.get_text() for t in full.texts] == ["chance"]
    with pytest.raises(ValueError, match="ylim"):
        D.plot_accuracy_vs_angle({"GCNN": _metrics(0.9)}, ylim=(1.0, 0.5))


def test_accuracy_vs_angle_plot_draws_an_orbit_average_dashed_in_its_models_colour():
    from gcnn.tables import with_orbit_average

    run = _metrics(0.9)
    run["orbit_average"] = {**_metrics(0.95), "angles": [0.0, 45.0], "forward_passes": 2}
    curves = {label: ms for label, _, ms in with_orbit_average("new", [run])}
    curves["other"] = _metrics(0.5)
    ax = D.plot_accuracy_vs_angle(curves).axes[0]
    lines = {line.get_label(): line for line in ax.lines}
    one, averaged = lines["new"], lines["new, averaged over 0°, 45°"]
    assert averaged.get_color() == one.get_color() != lines["other"].get_color()
    assert (one.get_linestyle(), averaged.get_linestyle()) == ("-", "--")


# -- training curves -------------------------------------------------------------------------------
def _history(losses, vals):
    return [{"epoch": i + 1, "train_loss": x, "train_acc": 0.5, "val_acc": v, "seconds": 1.0}
            for i, (x, v) in enumerate(zip(losses, vals))]


def test_training_curves_draw_every_epoch_and_ring_the_kept_one():
    a = {"history": _history([1.0, 0.5, 0.3], [0.6, 0.9, 0.8]), "best_epoch": 2}
    b = {"history": _history([2.0, 1.0], [0.3, 0.7])}           # no best_epoch: the best val
    fig = D.plot_training_curves({"a": a, "b": b})
    ax_loss, ax_val = fig.axes
    assert fig.best_epochs == {"a": 2, "b": 2}
    assert ax_loss.get_yscale() == "log"
    # per run: the curve, then the ring on the kept epoch
    curve, ring = ax_val.lines[0], ax_val.lines[1]
    assert list(curve.get_xdata()) == [1, 2, 3] and list(curve.get_ydata()) == [0.6, 0.9, 0.8]
    assert list(ring.get_xdata()) == [2] and list(ring.get_ydata()) == [0.9]
    assert list(ax_loss.lines[3].get_ydata()) == [1.0]           # b's ring: loss at epoch 2
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["a", "b", "kept epoch (best validation)"]
    texts = [ax_loss.xaxis.label, ax_loss.yaxis.label, *fig.legends[0].get_texts(),
             *ax_val.get_xticklabels()]
    assert min(t.get_fontsize() for t in texts) >= 9


def test_training_curves_errors_name_the_problem():
    with pytest.raises(ValueError, match="non-empty dict"):
        D.plot_training_curves({})
    with pytest.raises(ValueError, match="no training history"):
        D.plot_training_curves({"a": _metrics(0.9)})
    with pytest.raises(ValueError, match="lacks"):
        D.plot_training_curves({"a": {"history": [{"epoch": 1, "train_loss": 1.0}]}})
    with pytest.raises(ValueError, match="best_epoch 7"):
        D.plot_training_curves({"a": {"history": _history([1.0], [0.5]), "best_epoch": 7}})


# -- feature maps ----------------------------------------------------------------------------------
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


def test_plots_return_figures():
    cm = torch.randint(0, 50, (10, 10))
    ax = D.plot_confusion(cm, title="test")
    assert ax.get_title() == "test"
    y = torch.tensor([6, 9, 6, 9, 1])
    fig = D.plot_six_nine(torch.rand(5, 1, 8, 8), y, count=2)
    assert len(fig.axes) == 8
    with pytest.raises(ValueError, match="need 3"):
        D.plot_six_nine(torch.rand(5, 1, 8, 8), y, count=3)
    import matplotlib.pyplot as plt

    plt.close("all")


def test_plot_costs_puts_each_model_and_its_average_at_their_macs():
    import numpy as np

    import gcnn
    from gcnn.tables import macs_per_image
    from gcnn.viz import plot_costs
    from gcnn.viz.style import MIN_TEXT_PX, smallest_text

    runs = {name: gcnn.seed_metrics(name) for name in ("cnn", "gcnn-c4-bn-cosine")}
    fig = plot_costs(runs)
    upright, turned = fig.axes[:2]
    # four points per panel (cnn; the C4 model alone and averaged), each an errorbar container
    xs = sorted(round(float(c.lines[0].get_xdata()[0]), 3) for c in upright.containers)
    single = [macs_per_image(runs[name][0]) / 1e6 for name in runs]
    assert xs == sorted(round(x, 3) for x in (single[0], single[1], 2 * single[1]))
    ys = sorted(float(c.lines[0].get_ydata()[0]) for c in turned.containers)
    assert abs(ys[-1] - 100 * np.mean([m["orbit_average"]["rotated_test_acc"]
                                       for m in runs["gcnn-c4-bn-cosine"]])) < 1e-9
    assert smallest_text(fig)[0] >= MIN_TEXT_PX
    with pytest.raises(ValueError, match="at least one model"):
        plot_costs({})
