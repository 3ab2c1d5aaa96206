"""Kernel maps of large groups and kernels are stored sparsely (issue #18, item 9).

The dense map of a group convolution has ``|G| k² x |G|² k²`` entries (C64 with 31x31 kernels:
about 970 GB in float32); every transformed kernel entry reads at most four entries of the
learned kernel, so the layer keeps only those taps.
"""

from __future__ import annotations

import pytest
import torch

import gcnn.kernels as K
from gcnn import CyclicGroup, DihedralGroup, GroupConvolution, LiftingConvolution

C4, C8, D4 = CyclicGroup(4), CyclicGroup(8), DihedralGroup(4)


def _buffer_bytes(module) -> int:
    return sum(b.numel() * b.element_size() for b in module.buffers())


def test_c64_with_31x31_kernels_builds_without_the_dense_map():
    group = CyclicGroup(64)
    layer = GroupConvolution(group, 31, 1, 1, padding=15, method="interpolate")
    assert layer.kernel_map is None  # no dense map
    assert _buffer_bytes(layer) < 64 * 2**20
    lift = LiftingConvolution(group, 31, 1, 1)
    assert lift.kernel_map is None and _buffer_bytes(lift) < 64 * 2**20
    # and it runs: the bank has |G| x |G| turned 31x31 kernels
    y = layer(lift(torch.randn(1, 1, 33, 33)))
    assert y.shape == (1, 1, 64, 3, 3)


def _force_sparse(monkeypatch):
    monkeypatch.setattr(K, "DENSE_MAP_LIMIT_BYTES", 0)


@pytest.mark.parametrize("method", ["exact", "interpolate"])
@pytest.mark.parametrize("group", [C4, D4, C8, CyclicGroup(6), DihedralGroup(3)],
                         ids=lambda g: g.name)
@pytest.mark.parametrize("cls", [LiftingConvolution, GroupConvolution])
@pytest.mark.parametrize("k", [3, 4, 5])
def test_sparse_bank_equals_dense_bank(monkeypatch, method, group, cls, k):
    if method == "exact" and not group.exact:
        pytest.skip("exact needs 90-degree groups")
    torch.manual_seed(0)
    dense = cls(group, k, 2, 3, method=method)
    assert dense.kernel_map is not None
    _force_sparse(monkeypatch)
    sparse = cls(group, k, 2, 3, method=method)
    assert sparse.kernel_map is None
    sparse.load_state_dict(dense.state_dict())
    with torch.no_grad():
        a, b = dense.transformed_weight(), sparse.transformed_weight()
    assert a.shape == b.shape
    if method == "exact":
        assert torch.equal(a, b)
    else:
        assert (a - b).abs().max() < 1e-6
    # the taps themselves reproduce the dense map exactly
    assert torch.equal(sparse.dense_kernel_map(), dense.kernel_map)


def test_sparse_layer_gradients_match_dense(monkeypatch):
    torch.manual_seed(1)
    dense = GroupConvolution(C8, 5, 2, 2)
    _force_sparse(monkeypatch)
    sparse = GroupConvolution(C8, 5, 2, 2)
    sparse.load_state_dict(dense.state_dict())
    x = torch.randn(2, 2, 8, 9, 9)
    dense(x).square().sum().backward()
    sparse(x).square().sum().backward()
    assert torch.allclose(dense.weight.grad, sparse.weight.grad, rtol=1e-5, atol=1e-5)


def test_sparse_layer_moves_with_dtype(monkeypatch):
    _force_sparse(monkeypatch)
    layer = GroupConvolution(C8, 3, 1, 2).double()
    y = layer(torch.randn(1, 1, 8, 7, 7, dtype=torch.float64))
    assert y.dtype == torch.float64


def test_dense_map_functions_refuse_what_cannot_fit():
    with pytest.raises(ValueError, match=r"(?s)C64.*31x31.*GiB.*sparse"):
        K.group_kernel_map(CyclicGroup(64), 31, "interpolate")


def test_existing_layers_keep_the_dense_map():
    """Small maps stay dense, so shipped models reproduce bit for bit."""
    assert LiftingConvolution(C4, 5, 1, 8).kernel_map.shape == (25, 100)
    assert GroupConvolution(C4, 5, 8, 8).kernel_map.shape == (100, 400)
    assert GroupConvolution(CyclicGroup(16), 5, 8, 8).kernel_map is not None
