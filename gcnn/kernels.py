"""Transforming images, kernels and feature maps by group elements.

Two ways to move a picture by a group element ``g`` (``(L_g f)(p) = f(g⁻¹ p)``):

* **interpolate** (the post's way, any group): move the coordinate grid by ``g⁻¹`` with
  :meth:`Group.left_action_on_R2` and read the picture there with bilinear
  :func:`torch.nn.functional.grid_sample`. Points that fall between pixels are interpolated.
* **exact** (multiples of 90° and mirror flips only): permute the pixels with
  :func:`torch.rot90` and :func:`torch.flip`. No arithmetic, so no round-off.

For ``C4`` and ``D4`` both agree to float32 round-off (``align_corners=True`` puts the corner
pixels on ``±1``, so a 90° turn maps pixel centres onto pixel centres).

A layer's kernel bank is a *fixed linear function* of its learned weight, so
:func:`lifting_kernel_map` and :func:`group_kernel_map` work it out once, as a matrix, by
transforming a basis; a forward pass is then one small matrix product (a permutation matrix in
the exact case).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .groups import Group, coordinate_grid

__all__ = [
    "resolve_method",
    "transform_images",
    "transform_regular",
    "lifting_kernel_map",
    "group_kernel_map",
]

METHODS = ("auto", "exact", "interpolate")


def resolve_method(group: Group, method: str) -> str:
    """Turn ``"auto"`` into ``"exact"`` when the group allows it, else ``"interpolate"``."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "auto":
        return "exact" if group.exact else "interpolate"
    if method == "exact" and not group.exact:
        raise ValueError(
            f"method='exact' needs a group whose rotations are multiples of 90 degrees "
            f"(C1, C2, C4, D1, D2, D4); {group!r} has to use method='interpolate'"
        )
    return method


def _exact_one(x: Tensor, matrix: Tensor) -> Tensor:
    """Transform ``x`` (``[..., H, W]``) exactly by the element with this 2x2 matrix."""
    a = matrix.round().to(torch.int64).tolist()
    # The element is R(kπ/2) F^m; F flips x (the width). Its determinant tells m.
    m = (a[0][0] * a[1][1] - a[0][1] * a[1][0]) < 0
    if m:  # remove the flip: R = A F  (F is its own inverse)
        a = [[-a[0][0], a[0][1]], [-a[1][0], a[1][1]]]
        x = torch.flip(x, dims=(-1,))
    k = {(1, 0): 0, (0, 1): 1, (-1, 0): 2, (0, -1): 3}[(a[0][0], a[1][0])]
    # R(θ) turns clockwise on screen (rows grow downwards): rotate from W towards H.
    return torch.rot90(x, k, dims=(-1, -2)) if k else x


def transform_images(
    x: Tensor,
    group: Group,
    elements: Optional[Tensor] = None,
    method: str = "auto",
    *,
    pairwise: bool = False,
) -> Tensor:
    """Transform images by group elements: ``(L_g x)(p) = x(g⁻¹ p)``.

    Args:
        x: ``[..., H, W]`` (any leading dimensions); with ``pairwise=True``, ``[n, ..., H, W]``.
        group: the group.
        elements: ``[n, *element_shape]`` elements to apply; all of the group's by default.
        method: ``"exact"``, ``"interpolate"`` or ``"auto"`` (exact when the group allows it).
        pairwise: apply element ``i`` to ``x[i]`` only, instead of every element to all of ``x``.

    Returns:
        ``[n, ..., H, W]``: slice ``i`` is ``x`` (or ``x[i]``) moved by element ``i``.
    """
    method = resolve_method(group, method)
    if elements is None:
        elements = group.elements()
    elements = group._as_batch(elements, "elements")
    n = elements.shape[0]
    if x.dim() < 2:
        raise ValueError(f"expected images [..., H, W], got shape {list(x.shape)}")
    if pairwise and x.shape[0] != n:
        raise ValueError(f"pairwise needs x.shape[0] == {n} elements, got {x.shape[0]}")
    xs = x if pairwise else x.unsqueeze(0).expand(n, *x.shape)
    mats = group.matrix_representation(elements)

    if method == "exact":
        if x.shape[-1] != x.shape[-2]:
            raise ValueError(
                f"method='exact' turns images by 90 degrees, so they must be square; got "
                f"{x.shape[-2]}x{x.shape[-1]} (use method='interpolate' or crop to a square)"
            )
        return torch.stack([_exact_one(xs[i], mats[i]) for i in range(n)])

    h, w = x.shape[-2:]
    grid = coordinate_grid(h, w, device=x.device, dtype=x.dtype)
    # Sample the picture at g⁻¹ p for every output point p.
    sample_at = group.left_action_on_R2(group.inverse(elements), grid)  # [n, H, W, 2]
    flat = xs.reshape(n, -1, h, w)
    out = F.grid_sample(flat, sample_at, mode="bilinear", padding_mode="zeros", align_corners=True)
    return out.reshape(xs.shape)


def transform_regular(x: Tensor, group: Group, index: int, method: str = "auto") -> Tensor:
    """Act with element ``index`` on a regular feature map ``x`` of shape ``[..., |G|, H, W]``.

    ``(L_g f)(h, p) = f(g⁻¹ h, g⁻¹ p)``: the picture of every group channel moves by ``g`` and the
    group axis is permuted (for ``C_N`` and the generator, rolled forward by one step).
    """
    if x.dim() < 3 or x.shape[-3] != group.order:
        raise ValueError(
            f"expected a regular feature map [..., |G|={group.order}, H, W], got {list(x.shape)}"
        )
    g = group.elements()[index]
    # new[j] = old[idx(g⁻¹ g_j)]
    src = group.index_of(group.left_action_on_H(group.inverse(g), group.elements())[0])
    permuted = x.index_select(-3, src.to(x.device))
    return transform_images(permuted, group, g.unsqueeze(0), method)[0]


def _basis(n: int, *shape: int, dtype=torch.float64) -> Tensor:
    return torch.eye(n, dtype=dtype).reshape(n, *shape)


def lifting_kernel_map(group: Group, kernel_size: int, method: str = "auto") -> Tensor:
    """The matrix that turns a lifting kernel into its ``|G|`` transformed copies.

    Returns ``M`` of shape ``[k*k, |G|*k*k]``: for a weight ``w`` of shape ``[O, I, k, k]``,
    ``(w.reshape(O*I, k*k) @ M).reshape(O, I, |G|, k, k)[:, :, i]`` is ``L_{g_i} w``.
    """
    k = kernel_size
    basis = _basis(k * k, k, k)  # [k², k, k]
    moved = transform_images(basis, group, group.elements(torch.float64), method)  # [|G|, k², k, k]
    return moved.permute(1, 0, 2, 3).reshape(k * k, group.order * k * k).float()


def group_kernel_map(group: Group, kernel_size: int, method: str = "auto") -> Tensor:
    """The matrix that turns a group-convolution kernel into its ``|G|`` transformed copies.

    A kernel ``w[h, p]`` on ``G x R²`` becomes, for output element ``g``,
    ``w_g[h, p] = w[g⁻¹ h, g⁻¹ p]``: spatially moved by ``g`` and permuted along the group axis
    (the "twist-shift"). Returns ``M`` of shape ``[|G|*k*k, |G|*|G|*k*k]`` so that
    ``(w.reshape(O*I, |G|*k*k) @ M).reshape(O, I, |G|_out, |G|_in, k, k)``.
    """
    k, n = kernel_size, group.order
    basis = _basis(n * k * k, n, k, k)  # [n k², |G|_in, k, k]
    table = group.cayley_table()
    inv = group.inverse_indices()
    elements = group.elements(torch.float64)
    out = []
    for gi in range(n):
        src = table[inv[gi]]  # position j -> index of g⁻¹ h_j
        permuted = basis[:, src]
        moved = transform_images(permuted, group, elements[gi : gi + 1], method)[0]
        out.append(moved)
    # out: |G|_out x [n k², |G|_in, k, k] -> [n k², |G|_out * |G|_in * k * k]
    return torch.stack(out, 1).reshape(n * k * k, n * n * k * k).float()
