"""Tests for gcnn.viz.conv (and plot_group_feature_maps): the pictures draw what they say."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from gcnn import (  # noqa: E402
    CyclicGroup,
    DihedralGroup,
    GroupConvolution,
    LiftingConvolution,
    Restriction,
)
from gcnn.viz import (  # noqa: E402
    KernelBankPanel,
    kernel_bank_animation,
    plot_equivariance,
    plot_group_feature_maps,
    plot_kernel_bank,
    plot_kernel_grid,
    plot_restriction,
    toy_image,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _image_axes(fig):
    return [ax for ax in fig.axes if ax.images]


# -- the test picture ----------------------------------------------------------------------------
def test_toy_image_shape_range_and_no_symmetry():
    img = toy_image(29)
    assert img.shape == (1, 1, 29, 29)
    assert 0 <= float(img.min()) and float(img.max()) <= 1
    for k in (1, 2, 3):
        assert not torch.allclose(torch.rot90(img, k, dims=(-1, -2)), img, atol=1e-2)
    assert not torch.allclose(torch.flip(img, dims=(-1,)), img, atol=1e-2)
    assert not torch.allclose(torch.flip(img, dims=(-2,)), img, atol=1e-2)


def test_toy_image_fits_in_the_inscribed_disk():
    img = toy_image(41)[0, 0]
    yy, xx = torch.meshgrid(torch.linspace(-1, 1, 41), torch.linspace(-1, 1, 41), indexing="ij")
    outside = (xx**2 + yy**2) > 0.95**2
    assert float(img[outside].max()) < 5e-3  # only the soft edge's far tail


def test_toy_image_rejects_bad_arguments():
    with pytest.raises(ValueError, match="size"):
        toy_image(3)
    with pytest.raises(ValueError, match="softness"):
        toy_image(9, softness=0)


# -- kernels -------------------------------------------------------------------------------------
def test_plot_kernel_grid_draws_both_point_sets():
    ax = plot_kernel_grid(CyclicGroup(8), 5, index=1)
    assert len(ax.collections) == 2
    moved = ax.collections[1].get_offsets()
    assert moved.shape == (25, 2)


def test_plot_kernel_bank_lifting_row_matches_the_bank():
    torch.manual_seed(0)
    layer = LiftingConvolution(CyclicGroup(4), 5, 2, 3)
    fig = plot_kernel_bank(layer, out_channel=2, in_channel=1)
    axes = _image_axes(fig)
    assert len(axes) == 4
    bank = layer.transformed_weight().detach().reshape(3, 4, 2, 5, 5)
    for i, ax in enumerate(axes):
        assert torch.allclose(torch.as_tensor(ax.images[0].get_array()), bank[2, i, 1])
    assert [ax.get_title() for ax in axes] == CyclicGroup(4).element_names()


def test_plot_kernel_bank_group_conv_is_a_grid_with_sources():
    torch.manual_seed(0)
    layer = GroupConvolution(CyclicGroup(4), 3, 1, 1)
    fig = plot_kernel_bank(layer)
    axes = _image_axes(fig)
    assert len(axes) == 16
    # row g = r1, column h = e comes from slice g⁻¹h = r3
    assert axes[4].get_xlabel() == "ψ[r3]"


def test_kernel_bank_panel_shows_the_twisted_and_shifted_kernel():
    torch.manual_seed(0)
    layer = GroupConvolution(CyclicGroup(4), 3, 2, 3)
    w = layer.weight.detach()[1, 0]                                 # [|G|, k, k]: ψ(., h)
    panel = KernelBankPanel(layer, out_channel=1, in_channel=0)
    for g in range(4):
        panel.show(g)
        for h in range(4):  # Ψ_g(., h) is ψ(., g⁻¹h) turned g quarter turns
            expected = torch.rot90(w[(h - g) % 4], g, dims=(-1, -2))
            assert torch.equal(torch.as_tensor(panel.shown[h].get_array()), expected)
            assert panel.sources[h].get_text() == f"from ψ[{panel.names[(h - g) % 4]}]"
    assert panel.title.get_text().startswith("g = r3")
    with pytest.raises(IndexError, match="4 elements"):
        panel.show(4)
    with pytest.raises(TypeError, match="GroupConvolution"):
        KernelBankPanel(LiftingConvolution(CyclicGroup(4), 3, 1, 1))


def test_kernel_bank_animation_has_a_frame_per_element():
    layer = GroupConvolution(DihedralGroup(4), 3, 1, 1)
    anim = kernel_bank_animation(layer, dpi=40)
    assert anim.names == DihedralGroup(4).element_names()
    assert len(list(anim.new_frame_seq())) == 8
    anim._func(5)  # a later frame draws


def test_plot_kernel_bank_accepts_tensors_and_rejects_others():
    assert len(_image_axes(plot_kernel_bank(torch.randn(3, 5, 5)))) == 3
    assert len(_image_axes(plot_kernel_bank(torch.randn(2, 3, 5, 5)))) == 6
    with pytest.raises(ValueError, match=r"\[n, k, k\]"):
        plot_kernel_bank(torch.randn(5, 5))
    with pytest.raises(TypeError, match="LiftingConvolution"):
        plot_kernel_bank(nn.Conv2d(1, 1, 3))
    with pytest.raises(IndexError, match="out_channels"):
        plot_kernel_bank(LiftingConvolution(CyclicGroup(4), 3, 1, 1), out_channel=1)


# -- feature maps --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape, panels", [((4, 6, 6), 4), ((3, 4, 6, 6), 12), ((2, 3, 4, 6, 6), 12)]
)
def test_plot_group_feature_maps_shapes(shape, panels):
    fig = plot_group_feature_maps(torch.randn(shape), names=CyclicGroup(4).element_names())
    assert len(_image_axes(fig)) == panels


def test_plot_group_feature_maps_channel_selection_and_errors():
    fig = plot_group_feature_maps(torch.randn(5, 4, 6, 6), channels=[1, 3])
    assert len(_image_axes(fig)) == 8
    with pytest.raises(ValueError, match=r"\[\|G\|, H, W\]"):
        plot_group_feature_maps(torch.randn(6, 6))


@pytest.mark.parametrize("group", [CyclicGroup(4), DihedralGroup(4)])
def test_plot_equivariance_lifting(group):
    torch.manual_seed(0)
    layer = LiftingConvolution(group, 5, 1, 2)
    fig = plot_equivariance(layer, toy_image(21), index=1)
    n = group.order
    assert len(_image_axes(fig)) == 2 + 3 * n
    assert "e-0" in fig._suptitle.get_text()  # a tiny error, printed as 1.2e-07 or so
    # the f(g·x) column equals the g·f(x) column
    axes = _image_axes(fig)[2:]
    for r in range(n):
        a, b = axes[3 * r + 1].images[0].get_array(), axes[3 * r + 2].images[0].get_array()
        assert torch.allclose(torch.as_tensor(a), torch.as_tensor(b), atol=1e-5)


def test_plot_equivariance_group_conv_and_plain_function():
    torch.manual_seed(0)
    g = CyclicGroup(4)
    lift, gconv = LiftingConvolution(g, 3, 1, 2), GroupConvolution(g, 3, 2, 2)
    fig = plot_equivariance(gconv, lift(toy_image(15)), index=3)
    assert len(_image_axes(fig)) == 2 + 3 * 4
    fig = plot_equivariance(lambda x: gconv(lift(x)), toy_image(15), group=g, out_kind="regular")
    assert len(_image_axes(fig)) == 2 + 3 * 4


def test_plot_restriction_labels_cosets():
    x = torch.randn(1, 2, 8, 7, 7)
    fig = plot_restriction(x, Restriction(CyclicGroup(8), CyclicGroup(4)), channel=1)
    axes = _image_axes(fig)
    assert len(axes) == 8 + 2 * 4
    assert [ax.get_title() for ax in axes[8:12]] == ["from e", "from r2", "from r4", "from r6"]
    assert [ax.get_title() for ax in axes[12:]] == ["from r1", "from r3", "from r5", "from r7"]
    assert torch.equal(torch.as_tensor(axes[13].images[0].get_array()), x[0, 1, 3])
    with pytest.raises(ValueError, match=r"\|G\|=8"):
        plot_restriction(torch.randn(1, 2, 4, 7, 7), Restriction(CyclicGroup(8), CyclicGroup(4)))


# -- MACs ----------------------------------------------------------------------------------------
