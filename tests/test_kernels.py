"""Moving images, kernels and regular feature maps by group elements (gcnn.kernels)."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from gcnn import CyclicGroup, DihedralGroup, transform_images, transform_regular
from gcnn.kernels import group_kernel_map, lifting_kernel_map, resolve_method

SETTINGS = settings(max_examples=12, deadline=None, database=None)  # randomised: see conftest

C4, D4, C8 = CyclicGroup(4), DihedralGroup(4), CyclicGroup(8)
EXACT_GROUPS = [CyclicGroup(1), CyclicGroup(2), C4, DihedralGroup(1), DihedralGroup(2), D4]


def _name(group) -> str:
    return f"{type(group).__name__[0]}{group.n}"


def _rand(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# -- transform_images ----------------------------------------------------------------------------
@SETTINGS
@given(
    group=st.sampled_from([C4, D4]),
    size=st.integers(1, 12),  # odd and even sizes
    lead=st.lists(st.integers(1, 3), min_size=0, max_size=2),
    seed=st.integers(0, 2**16),
)
def test_exact_and_interpolate_agree(group, size, lead, seed):
    x = _rand(*lead, size, size, seed=seed)
    exact = transform_images(x, group, method="exact")
    interp = transform_images(x, group, method="interpolate")
    assert exact.shape == interp.shape == (group.order, *x.shape)
    assert (exact - interp).abs().max() < 1e-5


@pytest.mark.parametrize("size", [4, 5])
def test_exact_c4_is_rot90(size):
    x = _rand(2, 3, size, size)
    out = transform_images(x, C4, method="exact")
    for k in range(4):
        assert torch.equal(out[k], torch.rot90(x, k, dims=(-1, -2)))
    assert torch.equal(transform_images(x, C4), out)  # "auto" is exact for C4


@pytest.mark.parametrize("size", [4, 5])
def test_exact_d4_reflections_are_flips(size):
    x = _rand(2, size, size)
    out = transform_images(x, D4, method="exact")
    flipped = torch.flip(x, dims=(-1,))  # the mirror F: x -> -x, a left-right flip
    assert torch.equal(out[4], flipped)
    for k in range(4):
        assert torch.equal(out[k], torch.rot90(x, k, dims=(-1, -2)))
        assert torch.equal(out[4 + k], torch.rot90(flipped, k, dims=(-1, -2)))  # R(θ) F


def test_quarter_turn_is_clockwise_and_moves_points_as_the_matrix_says():
    """(L_g x)(p) = x(g⁻¹ p): a bright pixel at p ends up at g·p."""
    x = torch.zeros(5, 5)
    x[0, 2] = 1.0  # top centre: (x, y) = (0, -1)
    for method in ("exact", "interpolate"):
        out = transform_images(x, C4, C4.elements()[1:2], method)[0]
        expected = torch.zeros(5, 5)
        expected[2, 4] = 1.0  # right centre: (1, 0) = R(90°) (0, -1)
        assert torch.allclose(out, expected, atol=1e-6), method


@SETTINGS
@given(
    group=st.sampled_from(EXACT_GROUPS),
    size=st.integers(1, 7),
    seed=st.integers(0, 2**16),
    data=st.data(),
)
def test_transform_is_a_left_action(group, size, seed, data):
    """Moving by g, then by h, is moving by h·g (exactly, by permutation)."""
    g = data.draw(st.integers(0, group.order - 1), label="g")
    h = data.draw(st.integers(0, group.order - 1), label="h")
    x = _rand(2, size, size, seed=seed)
    el = group.elements()
    hg = group.cayley_table()[h, g]
    twice = transform_images(transform_images(x, group, el[g : g + 1])[0], group, el[h : h + 1])[0]
    assert torch.equal(twice, transform_images(x, group, el[hg : hg + 1])[0])


def test_pairwise_applies_element_i_to_slice_i():
    x = _rand(8, 2, 5, 5)
    out = transform_images(x, D4, pairwise=True)
    full = transform_images(x, D4)  # [8, 8, 2, 5, 5]
    for i in range(8):
        assert torch.equal(out[i], full[i, i])
    with pytest.raises(ValueError, match="8.*got 3"):
        transform_images(x[:3], D4, pairwise=True)


def test_interpolate_c8_half_turn_steps():
    """C8's 90° elements interpolate to the exact rot90; its 45° elements do not."""
    x = _rand(9, 9)
    out = transform_images(x, C8, method="interpolate")
    for k in range(4):
        assert (out[2 * k] - torch.rot90(x, k, dims=(-1, -2))).abs().max() < 1e-5
    assert (out[1] - torch.rot90(x, 1, dims=(-1, -2))).abs().max() > 1e-2


def test_exact_with_c8_raises():
    with pytest.raises(ValueError, match="exact.*interpolate"):
        transform_images(_rand(5, 5), C8, method="exact")
    with pytest.raises(ValueError, match="exact"):
        lifting_kernel_map(C8, 3, method="exact")
    with pytest.raises(ValueError, match="exact"):
        group_kernel_map(C8, 3, method="exact")


def test_bad_method_name_raises():
    with pytest.raises(ValueError, match="'bilinear'"):
        transform_images(_rand(5, 5), C4, method="bilinear")
    with pytest.raises(ValueError, match="'nearest'"):
        lifting_kernel_map(C4, 3, method="nearest")


def test_resolve_method():
    assert resolve_method(C4, "auto") == "exact"
    assert resolve_method(D4, "auto") == "exact"
    assert resolve_method(C8, "auto") == "interpolate"
    assert resolve_method(DihedralGroup(3), "auto") == "interpolate"
    assert resolve_method(C4, "interpolate") == "interpolate"


def test_transform_images_needs_two_dims():
    with pytest.raises(ValueError, match=r"\[\.\.\., H, W\].*\[5\]"):
        transform_images(torch.zeros(5), C4)


# -- kernel maps ---------------------------------------------------------------------------------
@pytest.mark.parametrize("group", [C4, D4], ids=_name)
@pytest.mark.parametrize("k", [3, 5])
def test_lifting_kernel_map_exact_vs_interpolate(group, k):
    exact = lifting_kernel_map(group, k, "exact")
    interp = lifting_kernel_map(group, k, "interpolate")
    assert exact.shape == interp.shape == (k * k, group.order * k * k)
    assert exact.dtype == torch.float32
    assert (exact - interp).abs().max() < 1e-5
    # exact: a 0/1 matrix, each (element, pixel) column reads exactly one weight pixel
    assert set(exact.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(exact.sum(0), torch.ones(group.order * k * k))


@pytest.mark.parametrize("group", [C4, D4], ids=_name)
@pytest.mark.parametrize("k", [3, 5])
def test_group_kernel_map_exact_vs_interpolate(group, k):
    n = group.order
    exact = group_kernel_map(group, k, "exact")
    interp = group_kernel_map(group, k, "interpolate")
    assert exact.shape == interp.shape == (n * k * k, n * n * k * k)
    assert (exact - interp).abs().max() < 1e-5
    assert torch.equal(exact.sum(0), torch.ones(n * n * k * k))


def test_lifting_kernel_map_applies_the_group():
    w = _rand(6, 3, 3)  # [O*I, k, k]
    bank = (w.reshape(6, 9) @ lifting_kernel_map(D4, 3)).reshape(6, 8, 3, 3)
    assert torch.equal(bank.transpose(0, 1), transform_images(w, D4))


def test_group_kernel_map_is_twist_shift_for_c4():
    """w_g[h, p] = w[g⁻¹h, g⁻¹p]: for the generator, rotate and roll the group axis forward."""
    k = 3
    w = _rand(5, 4, k, k)  # [O*I, |G|, k, k]
    bank = (w.reshape(5, 4 * k * k) @ group_kernel_map(C4, k)).reshape(5, 4, 4, k, k)
    for g in range(4):
        expected = torch.roll(torch.rot90(w, g, dims=(-1, -2)), g, dims=1)
        assert torch.equal(bank[:, g], expected)


def test_group_kernel_map_d4_matches_transform_regular():
    k = 3
    w = _rand(2, 8, k, k)
    bank = (w.reshape(2, 8 * k * k) @ group_kernel_map(D4, k)).reshape(2, 8, 8, k, k)
    for g in range(8):
        assert torch.equal(bank[:, g], transform_regular(w, D4, g))


# -- transform_regular ---------------------------------------------------------------------------
def test_transform_regular_c4_generator_rolls_forward():
    x = _rand(2, 3, 4, 5, 5)
    out = transform_regular(x, C4, 1)
    assert torch.equal(out, torch.roll(torch.rot90(x, 1, dims=(-1, -2)), 1, dims=-3))


@SETTINGS
@given(group=st.sampled_from([C4, D4, DihedralGroup(2)]), data=st.data())
def test_transform_regular_is_a_left_action(group, data):
    g = data.draw(st.integers(0, group.order - 1), label="g")
    h = data.draw(st.integers(0, group.order - 1), label="h")
    x = _rand(2, group.order, 5, 5, seed=g * 31 + h)
    hg = int(group.cayley_table()[h, g])
    assert torch.equal(
        transform_regular(transform_regular(x, group, g), group, h), transform_regular(x, group, hg)
    )


def test_transform_regular_checks_group_axis():
    with pytest.raises(ValueError, match=r"\|G\|=4.*\[2, 3, 5, 5\]"):
        transform_regular(torch.zeros(2, 3, 5, 5), C4, 1)
