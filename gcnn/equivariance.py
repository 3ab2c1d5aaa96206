"""Measure how equivariant a layer or a network is, for any input, under each group element.

``equivariance_error(module, x)`` returns, for every element ``g`` of the group, the relative
error ``‖f(g·x) − g·f(x)‖ / ‖f(x)‖``. What ``g·`` means depends on the kind of signal:

* ``"image"``  ``[B, C, H, W]``: the picture is moved by ``g``;
* ``"regular"`` ``[B, C, |G|, H, W]``: moved by ``g`` and the group axis permuted
  (``h -> g⁻¹h``);
* ``"invariant"`` (logits, pooled features): nothing changes.

A module says its kinds with ``in_kind`` / ``out_kind`` and its group with ``group`` (every layer
and model of :mod:`gcnn` does); pass them explicitly for anything else.
"""

from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .groups import Group
from .kernels import transform_images, transform_regular

__all__ = ["transform", "equivariance_error", "equivariance_group", "smooth_disc_input"]

KINDS = ("image", "regular", "invariant")


def transform(x: Tensor, group: Group, index: int, kind: str, method: str = "auto") -> Tensor:
    """Act on a signal of the given ``kind`` with element ``group.elements()[index]``."""
    if kind == "image":
        if x.dim() < 3:
            raise ValueError(f"an image signal needs [B, C, H, W], got shape {list(x.shape)}")
        # float64 signals are moved by float64 elements (a group keeps its own in float32)
        dtype = torch.float64 if x.dtype == torch.float64 else None
        return transform_images(x, group, group.elements(dtype)[index : index + 1], method)[0]
    if kind == "regular":
        return transform_regular(x, group, index, method)
    if kind == "invariant":
        return x
    raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")


def equivariance_group(module: nn.Module) -> Group:
    """The group a module is equivariant to (a restriction's subgroup; a model's last group)."""
    group = getattr(module, "subgroup", None) or getattr(module, "group", None)
    if isinstance(group, Group):
        return group
    raise TypeError(f"{type(module).__name__} has no gcnn group; pass group= explicitly")


def _default_input(module: nn.Module, group: Group, kind: str) -> Tensor:
    gen = torch.Generator().manual_seed(0)
    c = getattr(module, "in_channels", 1)
    size = 33  # odd, so the centre of rotation is a pixel
    shape = [2, c, group.order, size, size] if kind == "regular" else [2, c, size, size]
    p = next(iter(module.parameters()), None)
    x = torch.randn(shape, generator=gen)
    return x.to(p.device, p.dtype) if p is not None else x


@torch.no_grad()
def equivariance_error(
    module: nn.Module,
    x: Optional[Tensor] = None,
    group: Optional[Group] = None,
    in_kind: Optional[str] = None,
    out_kind: Optional[str] = None,
    method: str = "auto",
    in_group: Optional[Group] = None,
) -> Tensor:
    """Relative equivariance error of ``module`` under each element of ``group``.

    Args:
        module: the layer or network ``f`` (put it in ``eval()`` mode if it has dropout etc.).
        x: an input; a random one of odd spatial size (33x33) when omitted.
        group: the group to test; the module's own by default.
        in_kind, out_kind: ``"image"``, ``"regular"`` or ``"invariant"``; the module's own
            ``in_kind``/``out_kind`` by default.
        method: how inputs and outputs are moved (``"auto"``: exactly when the group allows it;
            interpolation for other angles, whose error is then reported, not hidden).
        in_group: the group whose regular feature map the input is, when it is larger than
            ``group`` (a :class:`~gcnn.layers.Restriction` from ``G`` to ``H``: the input is acted
            on by ``H``'s elements seen inside ``G``). By default ``module.group`` for a
            restriction, else ``group``.

    Returns:
        A float64 tensor ``[|G|]``: ``‖f(g·x) − g·f(x)‖ / ‖f(x)‖`` for each element ``g``
        (0 for the identity, up to round-off).
    """
    group = group if group is not None else equivariance_group(module)
    in_kind = in_kind or getattr(module, "in_kind", None)
    out_kind = out_kind or getattr(module, "out_kind", None)
    if in_kind is None or out_kind is None:
        raise ValueError("pass in_kind= and out_kind= for a module that does not declare them")
    if in_group is None:
        in_group = module.group if isinstance(getattr(module, "subgroup", None), Group) else group
    # element i of `group` is element in_index[i] of `in_group`
    in_index = group.embedding_into(in_group).tolist() if in_group is not group else None
    if x is None:
        x = _default_input(module, in_group, in_kind)
    fx = module(x)
    scale = fx.double().norm().clamp_min(torch.finfo(torch.float64).tiny)
    errors = []
    for i in range(group.order):
        j = i if in_index is None else in_index[i]
        lhs = module(transform(x, in_group, j, in_kind, method))
        rhs = transform(fx, group, i, out_kind, method)
        errors.append((lhs.double() - rhs.double()).norm() / scale)
    return torch.stack(errors).cpu()


def smooth_disc_input(
    size: int = 41, channels: int = 1, batch: int = 1, radius: float = 15.0, blur: float = 2.0,
    seed: int = 0, dtype: torch.dtype = torch.float32,
) -> Tensor:
    """A smooth random image that is zero outside a disc, ``[B, C, size, size]``.

    Blurred white noise (Gaussian, ``blur`` pixels) under a soft disc mask of ``radius`` pixels:
    turning it by any angle loses nothing at the borders and resamples little, so what an
    equivariance error then measures is the layer, not the resampling of the input.
    """
    gen = torch.Generator().manual_seed(seed)
    noise = torch.randn(batch * channels, 1, size, size, generator=gen, dtype=torch.float64)
    r = int(math.ceil(3 * blur))
    t = torch.arange(-r, r + 1, dtype=torch.float64)
    g = torch.exp(-(t**2) / (2 * blur**2))
    g = g / g.sum()
    smooth = F.conv2d(noise, g.view(1, 1, 1, -1), padding=(0, r))
    smooth = F.conv2d(smooth, g.view(1, 1, -1, 1), padding=(r, 0))
    c = (size - 1) / 2
    yy, xx = torch.meshgrid(torch.arange(size) - c, torch.arange(size) - c, indexing="ij")
    rho = (xx.double() ** 2 + yy.double() ** 2).sqrt()
    mask = torch.sigmoid((radius - rho) / 1.0)
    return (smooth[:, 0] * mask).reshape(batch, channels, size, size).to(dtype)
