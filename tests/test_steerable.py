"""Steerable kernels (method="steerable"): exact turns by any angle, norm kept (issue #17)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

import gcnn.kernels as K
from gcnn import CyclicGroup, DihedralGroup, GroupConvolution, LiftingConvolution
from gcnn.equivariance import smooth_disc_input
from gcnn.metrics import compare_kernel_methods
from gcnn.kernels import (
    group_kernel_map,
    lifting_kernel_map,
    resolve_method,
    rotate_coefficients,
    steerable_basis,
    steerable_frequencies,
    transform_images,
)

C4, C8, C16, D4, D8 = (CyclicGroup(4), CyclicGroup(8), CyclicGroup(16), DihedralGroup(4),
                       DihedralGroup(8))


def _rand(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# -- the basis -----------------------------------------------------------------------------------
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5, 7, 9])
def test_basis_is_orthonormal_at_every_angle(k):
    b0 = steerable_basis(k)
    n = b0.shape[0]
    assert n == steerable_frequencies(k).numel() and 0 < n <= k * k
    for angle in [0.0, 0.3, math.pi / 8, math.pi / 4, 2.0, -1.0]:
        for reflect in (False, True):
            b = steerable_basis(k, angle, reflect).reshape(n, -1)
            assert (b @ b.T - torch.eye(n, dtype=torch.float64)).abs().max() < 1e-12


def test_basis_sizes_and_frequencies():
    assert steerable_basis(3).shape == (9, 3, 3)  # every 3x3 kernel is steerable
    assert steerable_basis(5).shape == (17, 5, 5)
    assert steerable_basis(7).shape == (28, 7, 7)
    f = steerable_frequencies(5)
    assert f.max() == 2 and f.min() == 0
    assert steerable_basis(5, max_frequency=1).shape[0] < 17
    # the corners of the square are not used (they would turn onto missing pixels)
    assert steerable_basis(5)[:, [0, 0, -1, -1], [0, -1, 0, -1]].abs().max() == 0


@pytest.mark.parametrize("k", [3, 5, 6, 7])
@pytest.mark.parametrize("angle", [0.0, 0.4, math.pi / 4, math.pi / 2, 3.0])
@pytest.mark.parametrize("reflect", [False, True])
def test_turning_is_rotating_the_coefficients(k, angle, reflect):
    """c @ basis(angle) == rotate_coefficients(c, angle) @ basis(0): a phase shift m * angle."""
    c = _rand(3, steerable_frequencies(k).numel(), dtype=torch.float64)
    b0 = steerable_basis(k).flatten(1)
    turned = c @ steerable_basis(k, angle, reflect).flatten(1)
    assert (turned - rotate_coefficients(c, angle, k, reflect) @ b0).abs().max() < 1e-12
    # so the turned kernel keeps its norm exactly
    assert torch.allclose(turned.norm(dim=1), (c @ b0).norm(dim=1), rtol=1e-13, atol=0)


def test_quarter_turns_and_mirror_are_pixel_permutations():
    b = steerable_basis(5)
    for j in range(4):
        assert torch.equal(steerable_basis(5, j * math.pi / 2), torch.rot90(b, j, dims=(-1, -2)))
    assert torch.equal(steerable_basis(5, 0.0, reflect=True), torch.flip(b, dims=(-1,)))


def test_turn_direction_matches_interpolation():
    """A smooth kernel turned by 45 degrees the steerable way is close to the interpolated turn,
    and far from the turn the other way: both methods turn the same way."""
    k = 9
    b = steerable_basis(k).flatten(1)
    x, y = torch.meshgrid(torch.linspace(-1, 1, k), torch.linspace(-1, 1, k), indexing="xy")
    smooth = (x * y * torch.exp(-(x**2 + y**2) / 0.3)).double().flatten()  # m = 2
    c = b @ smooth
    kernel = (c @ b).reshape(k, k)
    interp = transform_images(kernel, C8, C8.elements()[1:2], "interpolate")[0]
    steer = (c @ steerable_basis(k, math.pi / 4).flatten(1)).reshape(k, k)
    wrong = (c @ steerable_basis(k, -math.pi / 4).flatten(1)).reshape(k, k)
    assert (steer - interp).norm() < 0.3 * (wrong - interp).norm()


def test_basis_argument_errors():
    with pytest.raises(ValueError, match="kernel_size"):
        steerable_basis(0)
    with pytest.raises(ValueError, match="max_frequency"):
        steerable_basis(3, max_frequency=-1)
    with pytest.raises(ValueError, match="17 coefficients.*got.*25"):
        rotate_coefficients(torch.zeros(25), 0.1, 5)
    with pytest.raises(ValueError, match="steerable.*images"):
        transform_images(torch.zeros(5, 5), C8, method="steerable")


# -- maps and layers -----------------------------------------------------------------------------
def test_resolve_method():
    assert resolve_method(C8, "steerable") == "steerable"
    assert resolve_method(C4, "steerable") == "steerable"
    assert resolve_method(C8, "auto") == "interpolate"  # the default does not change
    assert LiftingConvolution(C8, 3, 1, 1).method == "interpolate"


@pytest.mark.parametrize("group", [C8, C16, D8], ids=lambda g: g.name)
@pytest.mark.parametrize("k", [3, 5, 7])
def test_layer_kernels_keep_their_norm_under_every_element(group, k):
    torch.manual_seed(0)
    lift = LiftingConvolution(group, k, 2, 3, method="steerable")
    bank = lift.transformed_weight().detach().reshape(3, group.order, 2 * k * k)
    norms = bank.norm(dim=2)  # [O, |G|]
    assert torch.allclose(norms, norms[:, :1].expand_as(norms), rtol=1e-5, atol=0)
    gconv = GroupConvolution(group, k, 2, 2, method="steerable").double()
    bank = gconv.transformed_weight().detach().reshape(2, group.order, -1)
    norms = bank.norm(dim=2)  # (the map is stored in float32, as the other methods' maps)
    assert torch.allclose(norms, norms[:, :1].expand_as(norms), rtol=1e-6, atol=0)


@pytest.mark.parametrize("group", [C4, D4], ids=lambda g: g.name)
@pytest.mark.parametrize("cls", [LiftingConvolution, GroupConvolution])
def test_exact_groups_are_exactly_equivariant(group, cls):
    torch.manual_seed(1)
    layer = cls(group, 5, 2, 3, padding="same", method="steerable").double()
    shape = (2, 2, 11, 11) if cls is LiftingConvolution else (2, 2, group.order, 11, 11)
    x = torch.randn(*shape, dtype=torch.float64)
    assert layer.equivariance_error(x).max() < 1e-13
    layer = layer.float()
    assert layer.equivariance_error(x.float()).max() < 1e-5


@pytest.mark.parametrize("group", [C8, C16], ids=lambda g: g.name)
def test_quarter_turns_of_finer_groups_are_exact(group):
    torch.manual_seed(2)
    layer = nn.Sequential(LiftingConvolution(group, 5, 1, 2, method="steerable"),
                          GroupConvolution(group, 5, 2, 2, method="steerable"))
    from gcnn import equivariance_error

    err = equivariance_error(layer, smooth_disc_input(), group=group, in_kind="image",
                             out_kind="regular")
    quarter = group.order // 4
    assert err[::quarter].max() < 1e-5
    assert err.max() < 1.0


def test_steerable_weight_shapes_and_init():
    torch.manual_seed(3)
    lift = LiftingConvolution(C8, 5, 3, 4, method="steerable")
    gconv = GroupConvolution(C8, 5, 4, 6, method="steerable")
    assert lift.weight.shape == (4, 3, 17)
    assert gconv.weight.shape == (6, 4, 8, 17)
    assert lift.kernel_map.shape == (17, 8 * 25)
    assert gconv.kernel_map.shape == (8 * 17, 8 * 8 * 25)
    # the basis is orthonormal, so the kernels have the energy of Kaiming-initialised ones
    ref = LiftingConvolution(C8, 5, 3, 4, method="interpolate")
    ratio = lift.transformed_weight()[::8].norm() / ref.weight.norm()
    assert 0.6 < ratio < 1.6
    x = torch.randn(2, 3, 12, 12)
    assert gconv(lift(x)).shape == (2, 6, 8, 4, 4)


def test_dense_maps_match_the_basis():
    k = 5
    m = lifting_kernel_map(C8, k, "steerable")
    basis = torch.stack([steerable_basis(k, t) for t in C8.elements(torch.float64).tolist()], 1)
    assert (m - basis.reshape(17, 8 * k * k)).abs().max() < 1e-7
    g = group_kernel_map(C4, 3, "steerable")
    assert g.shape == (4 * 9, 16 * 9)


@pytest.mark.parametrize("group", [C8, D4], ids=lambda g: g.name)
@pytest.mark.parametrize("cls", [LiftingConvolution, GroupConvolution])
def test_sparse_storage_gives_the_same_bank(monkeypatch, group, cls):
    torch.manual_seed(4)
    dense = cls(group, 5, 2, 2, method="steerable")
    monkeypatch.setattr(K, "DENSE_MAP_LIMIT_BYTES", 0)
    factored = cls(group, 5, 2, 2, method="steerable")
    factored.load_state_dict(dense.state_dict())
    with torch.no_grad():
        assert (dense.transformed_weight() - factored.transformed_weight()).abs().max() < 1e-6
    if cls is GroupConvolution:
        assert factored.kernel_map is None and factored.kernel_spatial_map is not None


def test_too_large_is_refused_with_the_size():
    with pytest.raises(ValueError, match=r"(?s)C256.*63x63.*GiB.*interpolate"):
        LiftingConvolution(CyclicGroup(256), 63, 1, 1, method="steerable")


@pytest.mark.parametrize("cls", [LiftingConvolution, GroupConvolution])
def test_dtype_export_cache_and_gradients(cls):
    torch.manual_seed(5)
    group = CyclicGroup(8)  # its own: casting a layer casts its group (issue #18, item 2)
    layer = cls(group, 3, 2, 2, padding=1, method="steerable")
    shape = (2, 2, 7, 7) if cls is LiftingConvolution else (2, 2, 8, 7, 7)
    x = torch.randn(*shape)
    y = layer(x)
    assert y.dtype == torch.float32
    y.square().sum().backward()
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
    plain = layer.export()
    with torch.no_grad():
        assert torch.allclose(plain(x), layer(x), atol=1e-6)
    layer.eval()
    with torch.no_grad():
        assert layer.transformed_weight() is layer.transformed_weight()
    d = layer.double()
    assert d(x.double()).dtype == torch.float64
    if hasattr(torch, "bfloat16"):
        b = cls(CyclicGroup(8), 3, 2, 2, padding=1, method="steerable").to(torch.bfloat16)
        assert b(x.to(torch.bfloat16)).dtype == torch.bfloat16
    assert "method='steerable'" in repr(layer)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda():
    layer = GroupConvolution(C8, 3, 2, 2, method="steerable").cuda()
    y = layer(torch.randn(1, 2, 8, 6, 6, device="cuda"))
    assert y.device.type == "cuda"
    assert all(b.device.type == "cuda" for b in layer.buffers())


# -- the comparison the chapter shows ------------------------------------------------------------
def test_compare_kernel_methods_c8():
    r = compare_kernel_methods(C8)
    assert set(r) == {"interpolate", "steerable"}
    for method in r:
        for key in ("norm", "lifting", "network"):
            assert r[method][key].shape == (8,) and r[method][key].dtype == torch.float64
        assert r[method]["lifting"][0::2].max() < 1e-5  # quarter turns: exact
    assert torch.allclose(r["steerable"]["norm"], torch.ones(8, dtype=torch.float64), atol=1e-6)
    assert r["interpolate"]["norm"][1::2].max() < 0.8  # interpolation loses norm at 45 degrees
    # steerable kernels turn better: smaller errors at 45 degrees, for this seed and input
    assert (r["steerable"]["lifting"][1::2] < r["interpolate"]["lifting"][1::2]).all()


def test_models_take_the_method():
    from gcnn import GroupEquivariantCNN, equivariance_error

    torch.manual_seed(6)
    model = GroupEquivariantCNN(DihedralGroup(4), 5, 1, 10, 2, 4, method="steerable").eval()
    assert model(torch.randn(2, 1, 28, 28)).shape == (2, 10)
    assert equivariance_error(model, torch.randn(2, 1, 28, 28)).max() < 1e-5  # D4-invariant
