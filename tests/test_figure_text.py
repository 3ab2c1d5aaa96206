"""Every text of the book's pictures is at least 12 CSS pixels (9 pt) as a reader sees it.

The book's text column is 752 CSS pixels wide (Chromium at 1280x800); a wider picture is shown
scaled down to it, text and all. Figures go to the page as the inline backend saves them (at
their dpi, cropped to their tight box), animation frames uncropped at the figure's dpi.
:func:`gcnn.viz.style.rendered_text` measures that; these calls use inputs the size of the
book's (no notebook is executed).
"""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from tiny import fake_metrics, fake_seed  # noqa: E402

import gcnn  # noqa: E402
from gcnn import CyclicGroup, DihedralGroup, Restriction  # noqa: E402
from gcnn import viz  # noqa: E402
from gcnn.viz.style import MIN_TEXT_PX, legible, rendered_text, smallest_text  # noqa: E402
from gcnn.widgets import rotation_animation  # noqa: E402

C4, C8, D4 = CyclicGroup(order=4), CyclicGroup(order=8), DihedralGroup(order=4)


def check(fig, *, frames: bool = False):
    """Fail if a text of ``fig`` is under 12 CSS pixels (``frames``: an animation's)."""
    kwargs = dict(bbox_inches=None) if frames else dict(bbox_inches="tight", dpi=fig.dpi)
    texts, info = rendered_text(fig, **kwargs)
    plt.close(fig)
    small = [(round(px, 1), text) for px, text in texts if px < MIN_TEXT_PX]
    assert not small, (f"text under {MIN_TEXT_PX} px in a figure {info['natural_px'][0]:.0f} "
                       f"px wide (shown at {info['scale']:.2f}): {small[:5]}")


def anim_fig(anim):
    anim._init_draw()  # as the first frame saved
    return anim._fig


def test_measure_sees_the_scaling_and_hidden_text():
    fig, ax = plt.subplots(figsize=(15.04, 2), dpi=100)  # twice the column: half size
    ax.set_axis_off()  # hidden tick labels are not counted
    ax.set_title("title", fontsize=18)
    px, text = smallest_text(fig)
    assert text == "title" and px == pytest.approx(18 * 100 / 72 / 2)
    assert smallest_text(fig, dpi=50)[0] == pytest.approx(18 * 50 / 72)  # 752 px: fits
    legible(fig, bbox_inches=None)
    assert smallest_text(fig)[0] >= MIN_TEXT_PX and fig.get_size_inches()[0] <= 7.52
    plt.close(fig)


def test_images_and_groups():
    goat = viz.load_image(None, 128)
    check(viz.show_images([goat, goat[:1]], ["the goat", "one channel"], size=3,
                          caption=viz.GOAT_CREDIT))
    check(viz.show_images([goat] * 4, [f"turned goat, kernel r{i}" for i in range(4)],
                          size=2.6, cmap="RdBu_r", colorbar=True))
    check(viz.show_images([goat] * 8, [f"{45 * i}°" for i in range(8)], ncols=8, size=1.5,
                          caption=viz.GOAT_CREDIT))
    check(viz.show_images(gcnn.transform_images(viz.letter_f(), D4), D4.element_names(),
                          ncols=8, interpolation="nearest", size=1.3))
    check(viz.plot_digit_grid(torch.rand(16, 1, 28, 28), torch.arange(16) % 10,
                              [15.0 * i for i in range(16)], ncols=8))
    check(viz.plot_cayley_table(D4))
    check(viz.plot_grid_points(C4, size=5))
    check(anim_fig(rotation_animation(goat, angles=[0, 15], caption=viz.GOAT_CREDIT)),
          frames=True)


def test_kernels_and_layers():
    torch.manual_seed(0)
    lift = gcnn.LiftingConvolution(C4, 5, 1, 2)
    gconv = gcnn.GroupConvolution(C8, 5, 2, 2)
    x = torch.rand(1, 1, 33, 33)
    check(viz.plot_kernel_grid(C8, 5, index=1).figure)
    check(viz.plot_kernel_bank(gconv, title="C8, a random kernel, all eight rows"))
    check(viz.plot_kernel_bank(torch.rand(8, 5, 5), names=C8.element_names(), title="C8"))
    check(anim_fig(viz.kernel_bank_animation(gconv)), frames=True)
    check(viz.plot_equivariance(lift, x, index=1))
    feat = lift(x).detach()
    check(viz.plot_group_feature_maps(feat[0], names=C4.element_names(), title="lifted"))
    feat8 = torch.rand(1, 2, 8, 15, 15)
    check(viz.plot_restriction(feat8, Restriction(C8, C4)))
    check(anim_fig(viz.lifting_animation(lift, x, angles=[0, 15])), frames=True)
    check(anim_fig(viz.conv_move_animation(torch.nn.Identity(), x, shifts=1, turns=1)),
          frames=True)
    check(anim_fig(viz.group_action_animation(viz.letter_f(), [C4, D4], name="F")),
          frames=True)


def test_steerable():
    check(viz.plot_steerable_basis(5))
    check(viz.plot_steerable_basis(5, angle=22.5))
    n = torch.ones(16, dtype=torch.float64)
    check(viz.plot_kernel_methods({"interpolate": {"norm": 0.6 * n, "network": 0.4 * n},
                                   "steerable": {"norm": n, "network": 0.1 * n}},
                                  title="C16: kernels turned by each method"))


def test_results(models, digits):
    images, labels = digits
    runs = {f"model {i}": fake_metrics(0.9) for i in range(3)}
    for run in runs.values():
        run["history"] = [{"epoch": e, "train_loss": 1 / e, "val_acc": 0.9} for e in (1, 2, 3)]
        run["best_epoch"] = 3
    check(viz.plot_accuracy_vs_angle(runs))
    check(viz.plot_accuracy_vs_angle({"cnn": [fake_seed(0.9, s) for s in (1, 2, 3)]}))
    check(viz.plot_training_curves(runs))
    cm = torch.randint(0, 50, (10, 10)) + 900 * torch.eye(10, dtype=torch.long)
    ax = viz.plot_confusion(cm, title="cnn, rotated test set (first 5,000)")
    check(ax.figure)
    fig, axes = plt.subplots(1, 2, figsize=(9.6, 4.2), constrained_layout=True)
    for ax in axes:
        viz.plot_confusion(cm, ax=ax, title="gcnn-c8c8c4c4c1, rotated test set (first 5,000)")
    check(fig)
    check(viz.plot_six_nine(torch.rand(60, 1, 28, 28), torch.arange(60) % 10, count=6))
    check(viz.plot_feature_maps(models, images[0]))
    check(anim_fig(viz.feature_map_animation(models, images[0], angles=[0, 15], dpi=100)),
          frames=True)
    check(viz.plot_digit_predictions(models, images[0], 30.0, label=3))
    family = {f"gcnn-c{n}": models["GCNN"] for n in (1, 4, 8, 16)}
    check(anim_fig(viz.probability_animation(family, images[0], 3, angles=[0, 15], dpi=80)),
          frames=True)
    check(anim_fig(viz.probability_animation(models, images[0], 3, angles=[0, 15], dpi=100)),
          frames=True)
