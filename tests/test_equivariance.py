"""Measuring equivariance (gcnn.equivariance)."""

from __future__ import annotations

import importlib
import inspect

import pytest
import torch
from torch import nn

import gcnn
from gcnn import (
    CyclicGroup,
    DihedralGroup,
    GroupConvolution,
    LiftingConvolution,
    equivariance_error,
    transform,
)

C4, C8, D4 = CyclicGroup(4), CyclicGroup(8), DihedralGroup(4)


def _rand(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


class GlobalMean(nn.Module):
    """An invariant map: images -> per-channel means."""

    def forward(self, x):
        return x.mean(dim=(-1, -2))


@pytest.mark.parametrize("group", [C4, D4, C8], ids=["C4", "D4", "C8"])
def test_returns_float64_per_element_with_zero_identity(group):
    torch.manual_seed(0)
    layer = LiftingConvolution(group, 3, 1, 2)
    err = equivariance_error(layer, _rand(2, 1, 11, 11))
    assert err.dtype == torch.float64
    assert err.shape == (group.order,)
    assert err[0] < 1e-5
    assert (err >= 0).all()
    assert torch.equal(err, layer.equivariance_error(_rand(2, 1, 11, 11)))


def test_default_input():
    torch.manual_seed(1)
    err = GroupConvolution(D4, 3, 2, 2).equivariance_error()  # a random 33x33 input
    assert err.shape == (8,) and err.max() < 1e-5


def test_c8_interpolation_error_is_reported():
    """C8 needs interpolation: 90° steps are (nearly) exact, 45° steps are not."""
    torch.manual_seed(2)
    layer = LiftingConvolution(C8, 5, 1, 4)
    x = _rand(2, 1, 33, 33)
    err = equivariance_error(layer, x)
    print("C8 lifting convolution, relative error per element:", [f"{e:.3g}" for e in err.tolist()])
    assert err[0::2].max() < 1e-5  # 0°, 90°, 180°, 270°
    assert err[1::2].min() > 1e-2  # 45°, 135°, ...: bilinear resampling of a random image


def test_explicit_group_and_kinds_on_plain_modules():
    x = _rand(2, 3, 9, 9)
    for group in (C4, D4, C8):
        err = equivariance_error(nn.Identity(), x, group=group, in_kind="image", out_kind="image")
        assert err.shape == (group.order,) and err.max() == 0
    assert equivariance_error(nn.ReLU(), x, group=D4, in_kind="image", out_kind="image").max() == 0
    err = equivariance_error(GlobalMean(), x, group=D4, in_kind="image", out_kind="invariant")
    assert err.max() < 1e-6


def test_non_equivariant_module_is_caught():
    torch.manual_seed(3)
    conv = nn.Conv2d(1, 2, 3)
    err = equivariance_error(conv, _rand(2, 1, 9, 9), group=C4, in_kind="image", out_kind="image")
    assert err[0] == 0
    assert err[1:].min() > 1e-2
    # and a wrong out_kind is caught too: a lifting convolution's output is not an image signal
    lift = LiftingConvolution(C4, 3, 1, 2)
    err = equivariance_error(lift, _rand(1, 1, 9, 9), in_kind="image", out_kind="image")
    assert err[1:].min() > 1e-2


def test_group_override():
    """A D4-invariant network is also invariant to C4 and C2 (image in, logits out)."""
    torch.manual_seed(4)
    model = gcnn.GroupEquivariantCNN(D4, 3, 1, 3, 1, 4).eval()
    x = _rand(1, 1, 9, 9)
    assert equivariance_error(model, x).shape == (8,)
    for group in (C4, CyclicGroup(2)):
        err = equivariance_error(model, x, group=group)
        assert err.shape == (group.order,) and err.max() < 1e-5


def test_errors():
    with pytest.raises(TypeError, match="Identity.*group="):
        equivariance_error(nn.Identity(), _rand(1, 1, 5, 5), in_kind="image", out_kind="image")
    with pytest.raises(ValueError, match="in_kind"):
        equivariance_error(nn.Identity(), _rand(1, 1, 5, 5), group=C4)
    with pytest.raises(ValueError, match="'vector'"):
        equivariance_error(nn.Identity(), _rand(1, 1, 5, 5), group=C4, in_kind="vector", out_kind="image")


def test_transform_kinds():
    x = _rand(2, 3, 5, 5)
    assert torch.equal(transform(x, C4, 1, "image"), torch.rot90(x, 1, dims=(-1, -2)))
    assert transform(x, C4, 1, "invariant") is x
    r = _rand(2, 3, 4, 5, 5)
    assert torch.equal(transform(r, C4, 1, "regular"), torch.roll(torch.rot90(r, 1, dims=(-1, -2)), 1, dims=2))
    with pytest.raises(ValueError, match="kind must be one of.*'bad'"):
        transform(x, C4, 1, "bad")
    with pytest.raises(ValueError, match=r"\[B, C, H, W\].*\[5, 5\]"):
        transform(x[0, 0], C4, 1, "image")


def test_public_api():
    # `from gcnn import *` gives exactly __all__, each name once, each the object a gcnn module
    # defines under that name: groups and layers are nn.Modules, functions are functions,
    # `data` is the module.
    assert len(gcnn.__all__) == len(set(gcnn.__all__))
    namespace = {}
    exec("from gcnn import *", namespace)
    assert set(namespace) - {"__builtins__"} == set(gcnn.__all__)
    for name in gcnn.__all__:
        obj = getattr(gcnn, name)
        if inspect.ismodule(obj):
            assert obj.__name__ == f"gcnn.{name}", name
            continue
        assert callable(obj) and obj.__module__.startswith("gcnn."), name
        if inspect.isclass(obj) or inspect.isfunction(obj):   # defined under the same name
            assert getattr(importlib.import_module(obj.__module__), obj.__name__) is obj, name
        assert inspect.isclass(obj) == name[0].isupper(), name
        if obj.__module__ in ("gcnn.groups", "gcnn.layers", "gcnn.models") and inspect.isclass(obj):
            assert issubclass(obj, nn.Module), name
    for name in ["Group", "CyclicGroup", "DihedralGroup", "LiftingConvolution",
                 "GroupConvolution", "Restriction", "GroupLayerNorm", "GroupEquivariantCNN",
                 "CNN", "equivariance_error", "transform", "rotate", "data"]:
        assert name in gcnn.__all__, name
