"""Lifting and group convolutions, restriction, layer and batch norm (gcnn.layers)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

import gcnn
from gcnn import (
    CyclicGroup,
    DihedralGroup,
    GroupConvolution,
    GroupLayerNorm,
    LiftingConvolution,
    Restriction,
    transform_images,
    transform_regular,
)

SETTINGS = settings(max_examples=10, deadline=None, database=None)  # randomised: see conftest

C1, C2, C4, C8 = CyclicGroup(1), CyclicGroup(2), CyclicGroup(4), CyclicGroup(8)
D4 = DihedralGroup(4)


def _name(group) -> str:
    return f"{type(group).__name__[0]}{group.n}"


def _rand(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _rot(x, k=1):
    return torch.rot90(x, k, dims=(-1, -2))


def _rel(a, b):
    return ((a.double() - b.double()).norm() / b.double().norm()).item()


# -- shapes --------------------------------------------------------------------------------------
def test_post_shapes():
    torch.manual_seed(0)
    lift = LiftingConvolution(C4, kernel_size=5, in_channels=3, out_channels=8)
    gconv = GroupConvolution(C4, kernel_size=5, in_channels=8, out_channels=16)
    y = lift(torch.randn(2, 3, 32, 32))
    assert y.shape == (2, 8, 4, 28, 28)
    assert gconv(y).shape == (2, 16, 4, 24, 24)
    assert lift.weight.shape == (8, 3, 5, 5)
    assert gconv.weight.shape == (16, 8, 4, 5, 5)
    assert lift.output_size(32) == 28


@pytest.mark.parametrize("group", [C4, D4, C8], ids=_name)
def test_padding_same_keeps_size_and_batch_one(group):
    lift = LiftingConvolution(group, 3, 2, 3, padding="same")
    gconv = GroupConvolution(group, 5, 3, 2, padding="same")
    y = lift(_rand(1, 2, 9, 11))
    assert y.shape == (1, 3, group.order, 9, 11)
    assert gconv(y).shape == (1, 2, group.order, 9, 11)


def test_float64():
    lift = LiftingConvolution(D4, 3, 2, 3).double()
    gconv = GroupConvolution(D4, 3, 3, 2).double()
    y = gconv(lift(_rand(2, 2, 9, 9, dtype=torch.float64)))
    assert y.dtype == torch.float64 and y.shape == (2, 2, 8, 5, 5)
    err = gconv.equivariance_error(lift(_rand(1, 2, 9, 9, dtype=torch.float64)))
    assert err.max() < 1e-12  # exact kernels, double precision


def test_bias_is_shared_over_the_group_axis():
    lift = LiftingConvolution(C4, 3, 1, 2)
    with torch.no_grad():
        lift.weight.zero_()
        lift.bias.copy_(torch.tensor([1.5, -2.0]))
    y = lift(_rand(1, 1, 5, 5))
    assert torch.equal(y[0, 0], torch.full((4, 3, 3), 1.5))
    assert torch.equal(y[0, 1], torch.full((4, 3, 3), -2.0))
    assert LiftingConvolution(C4, 3, 1, 2, bias=False).bias is None


# -- equivariance --------------------------------------------------------------------------------
LAYER_CASES = st.fixed_dictionaries(
    {
        "group": st.sampled_from([C4, D4]),
        "size": st.sampled_from([5, 7, 9, 11, 13]),
        "kernel": st.sampled_from([1, 3, 5]),
        "cin": st.integers(1, 3),
        "cout": st.integers(1, 3),
        "batch": st.integers(1, 3),
        "padding": st.sampled_from([0, "same"]),
        "bias": st.booleans(),
        "seed": st.integers(0, 2**16),
    }
)


@SETTINGS
@given(case=LAYER_CASES)
def test_lifting_equivariance(case):
    torch.manual_seed(case["seed"])
    g, k = case["group"], case["kernel"]
    layer = LiftingConvolution(g, k, case["cin"], case["cout"], case["padding"], case["bias"])
    x = torch.randn(case["batch"], case["cin"], case["size"], case["size"])
    err = layer.equivariance_error(x)
    assert err.shape == (g.order,) and err.dtype == torch.float64
    assert err.max() < 1e-5
    y = layer(x)
    if g is C4:  # by hand, the generator: rotate the input -> rotate the output, roll forward
        assert _rel(layer(_rot(x)), torch.roll(_rot(y), 1, dims=2)) < 1e-5
    # by hand, every element: move the image -> act regularly on the output
    for i in range(g.order):
        moved = transform_images(x, g, g.elements()[i : i + 1])[0]
        assert _rel(layer(moved), transform_regular(y, g, i)) < 1e-5


@SETTINGS
@given(case=LAYER_CASES)
def test_group_convolution_equivariance(case):
    torch.manual_seed(case["seed"])
    g, k = case["group"], case["kernel"]
    layer = GroupConvolution(g, k, case["cin"], case["cout"], case["padding"], case["bias"])
    x = torch.randn(case["batch"], case["cin"], g.order, case["size"], case["size"])
    err = layer.equivariance_error(x)
    assert err.shape == (g.order,) and err.dtype == torch.float64
    assert err.max() < 1e-5
    y = layer(x)
    if g is C4:  # by hand: the regular action of the generator is rotate + roll forward
        assert _rel(layer(torch.roll(_rot(x), 1, dims=2)), torch.roll(_rot(y), 1, dims=2)) < 1e-5
    # by hand, every element, via transform_regular
    for i in range(g.order):
        assert _rel(layer(transform_regular(x, g, i)), transform_regular(y, g, i)) < 1e-5


def test_equivariance_check_can_fail():
    """A lifting convolution whose kernel bank is broken is caught by equivariance_error."""
    torch.manual_seed(0)
    layer = LiftingConvolution(C4, 3, 1, 2)
    with torch.no_grad():
        layer.kernel_map[:, 9:18] = torch.eye(9)  # element 1 reuses the unrotated kernel
        layer.kernel_index[9:18] = torch.arange(9)  # (the exact path gathers by index)
    err = layer.equivariance_error(torch.randn(1, 1, 9, 9))
    assert err.max() > 1e-2


@pytest.mark.parametrize("group", [C4, D4], ids=_name)
@pytest.mark.parametrize("cls", [LiftingConvolution, GroupConvolution])
def test_interpolating_and_exact_layers_agree(group, cls):
    torch.manual_seed(1)
    exact = cls(group, 5, 2, 3, method="exact")
    interp = cls(group, 5, 2, 3, method="interpolate")
    interp.load_state_dict(exact.state_dict())
    shape = (2, 2, 11, 11) if cls is LiftingConvolution else (2, 2, group.order, 11, 11)
    x = torch.randn(*shape)
    assert (exact(x) - interp(x)).abs().max() < 1e-5


# -- eval-mode cache -----------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [LiftingConvolution, GroupConvolution])
def test_eval_cache(cls):
    torch.manual_seed(2)
    layer = cls(C4, 3, 2, 3)
    x = torch.randn(2, 2, 7, 7) if cls is LiftingConvolution else torch.randn(2, 2, 4, 7, 7)
    y_train = layer(x)
    layer.eval()
    with torch.no_grad():
        y_eval = layer(x)
        bank = layer.transformed_weight()
        assert layer.transformed_weight() is bank  # reused
        assert torch.equal(layer(x), y_eval)
    assert torch.equal(y_eval, y_train.detach())

    # an in-place update of the weight (an optimizer step) invalidates the cache
    opt = torch.optim.SGD(layer.parameters(), lr=0.1)
    layer(x).square().mean().backward()  # eval mode, grad enabled: recomputed, gradients flow
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
    opt.step()
    with torch.no_grad():
        bank2 = layer.transformed_weight()
        assert bank2 is not bank
        assert torch.equal(bank2, layer._expand())
        assert not torch.equal(layer(x), y_eval)

    # .train() drops the cache; back in eval mode it is rebuilt
    layer.train()
    assert layer._cache is None
    layer.eval()
    with torch.no_grad():
        assert layer.transformed_weight() is not bank2

    # replacing the weight also invalidates it
    with torch.no_grad():
        before = layer(x)
        layer.weight = nn.Parameter(torch.randn_like(layer.weight))
        after = layer(x)
        assert torch.equal(layer.transformed_weight(), layer._expand())
    assert not torch.equal(before, after)


def test_cached_outputs_match_train_mode_after_load_state_dict():
    torch.manual_seed(3)
    a, b = GroupConvolution(D4, 3, 2, 2).eval(), GroupConvolution(D4, 3, 2, 2).eval()
    x = torch.randn(1, 2, 8, 6, 6)
    with torch.no_grad():
        b(x)  # fill b's cache with its own weights
        b.load_state_dict(a.state_dict())  # an in-place copy
        assert torch.equal(b(x), a(x))


# -- export --------------------------------------------------------------------------------------
@pytest.mark.parametrize("group", [C4, D4, C8], ids=_name)
@pytest.mark.parametrize("cls", [LiftingConvolution, GroupConvolution])
def test_export(group, cls):
    torch.manual_seed(4)
    layer = cls(group, 3, 2, 3, padding=1)
    with torch.no_grad():
        layer.bias.normal_()
    shape = (2, 2, 7, 7) if cls is LiftingConvolution else (2, 2, group.order, 7, 7)
    x = torch.randn(*shape)
    plain = layer.export()
    assert isinstance(plain, nn.Sequential)
    assert not any(isinstance(m, (LiftingConvolution, GroupConvolution)) for m in plain.modules())
    with torch.no_grad():
        assert torch.allclose(plain(x), layer(x), atol=1e-6)


# -- restriction ---------------------------------------------------------------------------------
RESTRICTIONS = [(C8, C4), (D4, C4), (C4, C1), (C4, C2), (D4, DihedralGroup(2)), (D4, DihedralGroup(1))]


def _rid(case):
    return f"{_name(case[0])}->{_name(case[1])}"


@pytest.mark.parametrize("big, small", RESTRICTIONS, ids=[_rid(c) for c in RESTRICTIONS])
def test_restriction_shape_and_permutation(big, small):
    r = Restriction(big, small)
    ratio = big.order // small.order
    assert r.index_ratio == ratio
    x = _rand(2, 3, big.order, 5, 6)
    y = r(x)
    assert y.shape == (2, 3 * ratio, small.order, 5, 6)
    # a permutation: nothing lost, nothing repeated
    assert torch.equal(y.flatten().sort().values, x.flatten().sort().values)
    assert sorted(r.index.tolist()) == list(range(big.order))
    assert list(r.parameters()) == []


@pytest.mark.parametrize("big, small", RESTRICTIONS, ids=[_rid(c) for c in RESTRICTIONS])
def test_restriction_is_equivariant_to_the_subgroup(big, small):
    """restrict(L_h x) == L_h restrict(x) for h in H; on the input, h acts as an element of G."""
    r = Restriction(big, small)
    x = _rand(2, 2, big.order, 7, 7, seed=5)
    y = r(x)
    inclusion = small.embedding_into(big)  # index in G of each element of H
    for j in range(small.order):
        lhs = r(transform_regular(x, big, int(inclusion[j])))
        rhs = transform_regular(y, small, j)
        assert _rel(lhs, rhs) < 1e-5, (j, _rel(lhs, rhs))


def test_restriction_c8_to_c4_splits_even_and_odd():
    x = _rand(1, 1, 8, 3, 3)
    y = Restriction(C8, C4)(x)
    assert torch.equal(y[0, 0], x[0, 0, 0::2]) and torch.equal(y[0, 1], x[0, 0, 1::2])


def test_restriction_equivariance_error_api():
    r = Restriction(C8, C4)
    err = gcnn.equivariance_error(r, _rand(1, 2, 8, 7, 7), group=C4, in_kind="regular", out_kind="regular")
    assert err.shape == (4,) and err.max() < 1e-5
    for big, small in [(D4, C4), (C4, CyclicGroup(2)), (D4, DihedralGroup(2))]:
        restriction = Restriction(big, small)
        err = restriction.equivariance_error(_rand(1, 2, big.order, 7, 7))
        assert err.shape == (small.order,) and err.max() < 1e-5


def test_restriction_errors():
    with pytest.raises(ValueError, match="not a subgroup"):
        Restriction(C4, C8)
    with pytest.raises(ValueError, match="not a subgroup"):
        Restriction(C4, D4)
    with pytest.raises(TypeError, match="got int"):
        Restriction(C4, 2)
    with pytest.raises(ValueError, match=r"\|G\|=8.*\[1, 2, 4, 5, 5\]"):
        Restriction(C8, C4)(torch.zeros(1, 2, 4, 5, 5))
    with pytest.raises(ValueError, match=r"\[1, 8, 5, 5\]"):
        Restriction(C8, C4)(torch.zeros(1, 8, 5, 5))


# -- layer norm ----------------------------------------------------------------------------------
def test_repr_names_the_right_group():
    assert "group=D4," in LiftingConvolution(D4, 3, 1, 1).extra_repr()
    assert "D8" not in LiftingConvolution(D4, 3, 1, 1).extra_repr()
    assert Restriction(D4, C4).extra_repr() == "D4 -> C4"
    assert "D4 -> D4 -> C4" in repr(gcnn.GroupEquivariantCNN([D4, D4, C4], 3, 1, 2, 2, 2))


def test_group_layer_norm():
    x = _rand(2, 3, 4, 5, 5) * 3 + 1
    norm = GroupLayerNorm(3)
    y = norm(x)
    assert y.shape == x.shape
    assert torch.allclose(y.mean(dim=(1, 2, 3, 4)), torch.zeros(2), atol=1e-5)
    # it commutes with the regular action (it only sees whole-sample statistics)
    assert torch.equal(norm(transform_regular(x, C4, 1)), transform_regular(y, C4, 1))
    affine = GroupLayerNorm(3, affine=True)
    assert sum(p.numel() for p in affine.parameters()) == 6
    with pytest.raises(ValueError, match=r"C=3.*\[2, 4, 4, 5, 5\]"):
        norm(torch.zeros(2, 4, 4, 5, 5))


@pytest.mark.parametrize("group, element", [(C4, 1), (C4, 3), (D4, 5)], ids=["C4 r", "C4 r3", "D4"])
def test_group_batch_norm_commutes_with_the_group_in_training_and_eval(group, element):
    """One mean, variance, scale and shift per channel over batch, group and space: moving the
    feature map by a group element leaves them unchanged, so the layer commutes with it."""
    from gcnn.layers import GroupBatchNorm

    x = _rand(3, 2, group.order, 5, 5, dtype=torch.float64) * 3 + 1
    norm = GroupBatchNorm(2).double()
    with torch.no_grad():
        norm.weight.copy_(torch.tensor([2.0, 0.5]))
        norm.bias.copy_(torch.tensor([-1.0, 1.0]))
    y = norm(x)  # training: the batch's statistics
    assert torch.allclose(((y - norm.bias.view(1, -1, 1, 1, 1)) / norm.weight.view(1, -1, 1, 1, 1))
                          .mean(dim=(0, 2, 3, 4)), torch.zeros(2, dtype=torch.float64), atol=1e-12)
    moved = transform_regular(x, group, element)
    assert _rel(norm(moved), transform_regular(y, group, element)) < 1e-12
    assert int(norm.num_batches_tracked) == 2
    # the running statistics pool the group axis: the same after either batch
    mean = x.mean(dim=(0, 2, 3, 4))
    assert torch.allclose(norm.running_mean, 0.1 * mean + 0.09 * mean, atol=1e-12)
    norm.eval()
    y = norm(x)
    assert _rel(norm(moved), transform_regular(y, group, element)) < 1e-12
    # flattening the group axis into the channels (BatchNorm2d(C * |G|)), once trained (its
    # scales differ by group element), would not commute
    flat = nn.BatchNorm2d(2 * group.order).double()
    with torch.no_grad():
        flat.weight.copy_(torch.linspace(0.5, 2.0, 2 * group.order))

    def per_element(t):
        return flat(t.flatten(1, 2)).view_as(t)

    assert _rel(per_element(moved), transform_regular(per_element(x), group, element)) > 1e-3


def test_group_batch_norm_parameters_repr_and_errors():
    from gcnn.layers import GroupBatchNorm

    norm = GroupBatchNorm(3)
    assert [p.numel() for p in norm.parameters()] == [3, 3]
    assert sum(p.numel() for p in GroupBatchNorm(3, affine=False).parameters()) == 0
    assert norm.extra_repr() == "3, eps=1e-05, momentum=0.1, affine=True"
    norm(_rand(2, 3, 4, 5, 5) * 2 + 3)
    with torch.no_grad():
        norm.weight.add_(1.0)
    norm.reset_parameters()
    assert torch.equal(norm.running_mean, torch.zeros(3))
    assert torch.equal(norm.running_var, torch.ones(3))
    assert int(norm.num_batches_tracked) == 0 and torch.equal(norm.weight, torch.ones(3))
    with pytest.raises(ValueError, match=r"C=3.*\[2, 4, 4, 5, 5\]"):
        norm(torch.zeros(2, 4, 4, 5, 5))
    with pytest.raises(ValueError, match="more than one value per channel"):
        norm(torch.zeros(1, 3, 1, 1, 1))
    assert norm.eval()(torch.zeros(1, 3, 1, 1, 1)).shape == (1, 3, 1, 1, 1)
    with pytest.raises(TypeError, match=r"torch\.float64.*torch\.float32"):
        norm(torch.zeros(1, 3, 4, 3, 3, dtype=torch.float64))
    with pytest.raises(ValueError, match="momentum"):
        GroupBatchNorm(3, momentum=2.0)


# -- bad inputs ----------------------------------------------------------------------------------
@pytest.fixture
def no_conv(monkeypatch):
    """Make any convolution fail, to show that input errors come first."""

    def boom(*args, **kwargs):
        raise AssertionError("conv2d ran before the input was checked")

    monkeypatch.setattr(F, "conv2d", boom)


@pytest.mark.parametrize(
    "shape, pattern",
    [
        ((3, 32, 32), r"4 dimensions.*\[3, 32, 32\]"),
        ((2, 3, 4, 32, 32), r"4 dimensions.*\[2, 3, 4, 32, 32\]"),
        ((2, 1, 32, 32), r"C_in=3.*got 1"),
        ((2, 3, 4, 4), r"4x4.*5x5"),
        ((2, 3, 4, 40), r"4x40.*5x5"),
    ],
)
def test_lifting_bad_input(no_conv, shape, pattern):
    layer = LiftingConvolution(C4, 5, 3, 8)
    with pytest.raises(ValueError, match=pattern):
        layer(torch.zeros(*shape))


@pytest.mark.parametrize(
    "shape, pattern",
    [
        ((2, 8, 32, 32), r"5 dimensions.*\[2, 8, 32, 32\]"),
        ((2, 7, 4, 32, 32), r"C_in=8.*got 7"),
        ((2, 8, 8, 32, 32), r"\|G\|=4.*got 8"),
        ((2, 8, 4, 3, 32), r"3x32.*5x5"),
    ],
)
def test_group_convolution_bad_input(no_conv, shape, pattern):
    layer = GroupConvolution(C4, 5, 8, 16)
    with pytest.raises(ValueError, match=pattern):
        layer(torch.zeros(*shape))


def test_no_conv_fixture_is_effective(no_conv):
    with pytest.raises(AssertionError, match="conv2d ran"):
        LiftingConvolution(C4, 3, 1, 1)(torch.zeros(1, 1, 5, 5))


def test_padding_allows_small_inputs():
    assert LiftingConvolution(C4, 5, 1, 1, padding=2)(torch.zeros(1, 1, 1, 1)).shape == (1, 1, 4, 1, 1)


@pytest.mark.parametrize("cls", [LiftingConvolution, GroupConvolution])
def test_constructor_errors(cls):
    with pytest.raises(TypeError, match="Group.*got int"):
        cls(4, 5, 3, 8)
    with pytest.raises(TypeError, match="Group.*got str"):
        cls("C4", 5, 3, 8)
    with pytest.raises(ValueError, match="kernel_size must be at least 1, got 0"):
        cls(C4, 0, 3, 8)
    with pytest.raises(TypeError, match="kernel_size must be an int, got float"):
        cls(C4, 3.0, 3, 8)
    with pytest.raises(ValueError, match="in_channels must be at least 1, got 0"):
        cls(C4, 3, 0, 8)
    with pytest.raises(ValueError, match="out_channels must be at least 1, got -1"):
        cls(C4, 3, 3, -1)
    with pytest.raises(ValueError, match="odd kernel_size, got 4"):
        cls(C4, 4, 3, 8, padding="same")
    with pytest.raises(ValueError, match="'same', got -1"):
        cls(C4, 3, 3, 8, padding=-1)
    with pytest.raises(ValueError, match="'valid'"):
        cls(C4, 3, 3, 8, padding="valid")
    with pytest.raises(ValueError, match="exact"):
        cls(C8, 3, 3, 8, method="exact")
    with pytest.raises(ValueError, match="'cubic'"):
        cls(C4, 3, 3, 8, method="cubic")


@pytest.mark.parametrize("cls", [CyclicGroup, DihedralGroup])
def test_group_order_errors_name_expected_and_actual(cls):
    with pytest.raises(ValueError, match="at least 1, got 0"):
        cls(0)
    with pytest.raises(TypeError, match="int, got float"):
        cls(4.5)


@pytest.mark.parametrize("make", [lambda: LiftingConvolution(C4, 3, 2, 3),
                                  lambda: GroupConvolution(C4, 3, 2, 3)], ids=["lift", "gconv"])
def test_wrong_input_dtype_is_a_type_error_with_what_to_do(no_conv, make):
    layer = make()
    shape = (1, 2, 9, 9) if isinstance(layer, LiftingConvolution) else (1, 2, 4, 9, 9)
    with pytest.raises(TypeError, match=r"torch\.uint8.*torch\.float32.*x\.float\(\)"):
        layer(torch.zeros(shape, dtype=torch.uint8))
    with pytest.raises(TypeError, match=r"torch\.float64.*torch\.float32.*x\.float\(\).*"
                                        r"\.double\(\)"):
        layer(torch.zeros(shape, dtype=torch.float64))


def test_group_layer_norm_refuses_integers():
    with pytest.raises(TypeError, match=r"torch\.int64.*float"):
        GroupLayerNorm(2)(torch.zeros(1, 2, 4, 3, 3, dtype=torch.int64))
    norm = GroupLayerNorm(2, affine=True)
    with pytest.raises(TypeError, match=r"torch\.float64.*torch\.float32"):
        norm(torch.zeros(1, 2, 4, 3, 3, dtype=torch.float64))
    assert norm.double()(torch.zeros(1, 2, 4, 3, 3, dtype=torch.float64)).dtype == torch.float64


# -- initialisation ------------------------------------------------------------------------------
@pytest.mark.parametrize("group", [C4, D4, C8], ids=_name)
@pytest.mark.parametrize("cls", [LiftingConvolution, GroupConvolution])
def test_initialisation_is_conv2d_kaiming_and_reset_parameters_redraws_it(cls, group):
    # The weight is drawn as nn.Conv2d draws it over the flattened input channels
    # (C_in * |G_in| of them), so a seed gives the same numbers as before reset_parameters().
    n_in = 1 if cls is LiftingConvolution else group.order
    torch.manual_seed(3)
    expected = torch.empty(4, 2 * n_in, 3, 3)
    nn.init.kaiming_uniform_(expected, a=5 ** 0.5)
    after = torch.rand(1)
    torch.manual_seed(3)
    layer = cls(group, 3, 2, 4)
    assert torch.equal(layer.weight.reshape(expected.shape), expected)
    assert torch.equal(torch.rand(1), after)  # nothing else drew from the generator
    assert torch.equal(layer.bias, torch.zeros(4))
    with torch.no_grad():
        layer.bias.fill_(1.0)
    layer.eval()
    cached = layer.transformed_weight().clone()
    torch.manual_seed(3)
    layer.reset_parameters()
    assert torch.equal(layer.weight.reshape(expected.shape), expected)
    assert torch.equal(layer.bias, torch.zeros(4))
    torch.manual_seed(4)
    layer.reset_parameters()
    assert not torch.equal(layer.transformed_weight(), cached)  # the eval cache follows


def test_group_layer_norm_reset_parameters():
    norm = GroupLayerNorm(3, affine=True)
    with torch.no_grad():
        norm.weight.fill_(2.0)
        norm.bias.fill_(1.0)
    norm.reset_parameters()
    assert torch.equal(norm.weight, torch.ones(3)) and torch.equal(norm.bias, torch.zeros(3))
    GroupLayerNorm(3).reset_parameters()  # nothing to reset
