"""Finite groups of rotations and reflections of the plane.

A group here is a :class:`torch.nn.Module` (so it shows in a model's printout) whose elements
are a constant: a plain tensor on the CPU, made once in the default dtype. Groups are shared by
the layers and models built from them, so nothing a model does (``.half()``, ``.to(device)``,
``load_state_dict``) changes them; :meth:`Group.elements` gives them afresh in another precision
or on another device, and every method that meets a tensor elsewhere moves what it needs.
Elements are tensors, not integers:

* :class:`CyclicGroup` ``C_N``: rotation angles ``0, 2π/N, ..., 2π(N-1)/N``; an element is a
  0-d tensor (the angle) and a batch of elements has shape ``[n]``.
* :class:`DihedralGroup` ``D_N``: ``N`` rotations and ``N`` reflections; an element is a pair
  ``(m, θ)`` (``m`` = 1 for a reflection) and a batch has shape ``[n, 2]``. It acts on the plane
  as ``R(θ) F^m``, where ``F`` mirrors the x axis (``x -> -x``, a left-right flip of an image).

Convention for images: coordinates are ``(x, y)`` with ``x`` along the width and ``y`` along the
height, both in ``[-1, 1]`` as :func:`torch.nn.functional.grid_sample` expects. Rows grow
downwards, so the rotation matrix ``R(θ) = [[cos θ, -sin θ], [sin θ, cos θ]]`` turns a picture
*clockwise* on screen for a positive ``θ``; the exact 90° rotation of an image by element ``k`` of
``C4`` is ``torch.rot90(x, k, dims=(-1, -2))``.
"""

from __future__ import annotations

import math
from typing import List, Optional, Sequence

import torch
from torch import Tensor, nn

__all__ = ["Group", "CyclicGroup", "DihedralGroup", "coordinate_grid"]


def coordinate_grid(height: int, width: int | None = None, *, device=None, dtype=None) -> Tensor:
    """The ``[2, H, W]`` grid of ``(x, y)`` pixel coordinates in ``[-1, 1]``.

    ``grid[0]`` is ``x`` (it varies along the width, dimension ``W``), ``grid[1]`` is ``y`` (it
    varies along the height). Corners sit on ``±1`` (``align_corners=True`` in ``grid_sample``).
    """
    width = height if width is None else width
    if height < 1 or width < 1:
        raise ValueError(f"coordinate_grid needs positive sizes, got height={height}, width={width}")
    dtype = dtype or torch.get_default_dtype()
    ys = torch.linspace(-1.0, 1.0, height, device=device, dtype=dtype) if height > 1 else \
        torch.zeros(1, device=device, dtype=dtype)
    xs = torch.linspace(-1.0, 1.0, width, device=device, dtype=dtype) if width > 1 else \
        torch.zeros(1, device=device, dtype=dtype)
    y, x = torch.meshgrid(ys, xs, indexing="ij")
    return torch.stack([x, y])


class Group(nn.Module):
    """A finite group acting on the plane (an abstract base class).

    Subclasses set ``_elements`` (a plain tensor of shape ``[|G|, *element_shape]``, not a
    buffer: see the module docstring) and implement :meth:`product`, :meth:`inverse`,
    :meth:`matrix_representation` and :meth:`normalize_group_elements`. Everything else (the
    Cayley table, looking elements up, subgroups, the actions) is derived here from the 2x2
    matrices, so a new group needs only those.
    """

    #: Whether every element maps the pixel grid onto itself (multiples of 90°, axis flips), so
    #: images and kernels can be transformed exactly by index permutation.
    exact: bool = False

    def __init__(self) -> None:
        super().__init__()

    # -- the elements -----------------------------------------------------------------------
    def elements(self, dtype: Optional[torch.dtype] = None, device=None) -> Tensor:
        """All elements, ``[|G|, *element_shape]``; the identity comes first.

        By default the group's own constant tensor (on the CPU, in the dtype the group was made
        in). With ``dtype`` (for example ``torch.float64``) they are computed afresh in that
        precision; with ``device`` they are copied there.
        """
        elements = self._elements if dtype is None else self._make_elements(dtype)
        return elements if device is None else elements.to(device)

    def _make_elements(self, dtype: torch.dtype) -> Tensor:
        raise NotImplementedError

    @property
    def order(self) -> int:
        """The number of elements ``|G|``."""
        return self._elements.shape[0]

    def __len__(self) -> int:
        return self.order

    def _apply(self, fn, recurse=True):
        # ``.to()``, ``.half()``, ``.cuda()`` of a model reach every submodule through here. The
        # elements are a constant shared with every other layer built from this group, so they
        # stay as they are (they are no buffer, so torch would not move them anyway).
        return self

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys,
                              unexpected_keys, error_msgs) -> None:
        # Files written by gcnn 0.1.0 (the shipped pretrained models among them) saved the
        # elements as a buffer, PREFIX._elements. They are fixed by the group's type and order,
        # so the saved copy is not loaded; its size still tells a file made with another group.
        key = prefix + "_elements"
        if key in state_dict:
            saved = state_dict[key]
            if tuple(saved.shape) != tuple(self._elements.shape):
                error_msgs.append(
                    f"{prefix.rstrip('.')}: the file was saved with a group of {saved.shape[0]} "
                    f"elements (shape {list(saved.shape)}), this model's is {self!r} "
                    f"({self.order} elements); build the model with the file's group"
                )
            state_dict = {k: v for k, v in state_dict.items() if k != key}
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)

    @property
    def name(self) -> str:
        """A short name such as ``"C4"`` or ``"D4"`` (``D4`` has 8 elements)."""
        return f"{type(self).__name__[0]}{getattr(self, 'n', self.order)}"

    @property
    def identity(self) -> Tensor:
        """The identity element."""
        return self._elements[0]

    def element_names(self) -> List[str]:
        """Short human-readable names of the elements, in the order of :meth:`elements`."""
        raise NotImplementedError

    # -- the group law ------------------------------------------------------------------------
    def product(self, h: Tensor, h2: Tensor) -> Tensor:
        """The product ``h · h2`` (element-wise over matching batches)."""
        raise NotImplementedError

    def inverse(self, h: Tensor) -> Tensor:
        """The inverse ``h⁻¹`` of each element in ``h``."""
        raise NotImplementedError

    def matrix_representation(self, h: Tensor) -> Tensor:
        """The 2x2 orthogonal matrix of each element: ``[..., 2, 2]``."""
        raise NotImplementedError

    def determinant(self, h: Tensor) -> Tensor:
        """``+1`` for rotations, ``-1`` for reflections."""
        return torch.linalg.det(self.matrix_representation(h))

    def normalize_group_elements(self, h: Tensor) -> Tensor:
        """Map elements to ``[-1, 1]`` (the group axis of a kernel grid for ``grid_sample``).

        Shown in chapter 2; the layers of this package do not use it (they move kernels by the
        fixed linear map of :mod:`gcnn.kernels`).
        """
        raise NotImplementedError

    # -- actions ------------------------------------------------------------------------------
    def left_action_on_H(self, h_batch: Tensor, h2_batch: Tensor) -> Tensor:
        """Each element of ``h_batch`` applied to each element of ``h2_batch``.

        Returns ``[len(h_batch), len(h2_batch), *element_shape]`` with entry ``[i, j] = h_i · h2_j``.
        """
        es = self._element_shape
        h = self._as_batch(h_batch, "h_batch")
        h2 = self._as_batch(h2_batch, "h2_batch")
        n, m = h.shape[0], h2.shape[0]
        hh = h[:, None].expand(n, m, *es).reshape(n * m, *es)
        hh2 = h2[None, :].expand(n, m, *es).reshape(n * m, *es)
        return self.product(hh, hh2).reshape(n, m, *es)

    def left_action_on_R2(self, h_batch: Tensor, grid: Tensor) -> Tensor:
        """Move the points of a ``[2, H, W]`` grid by each element of ``h_batch``.

        Returns ``[len(h_batch), H, W, 2]``: the ``(x, y)`` points ``g · p``, laid out as
        :func:`torch.nn.functional.grid_sample` expects its sampling grid.
        """
        if grid.dim() != 3 or grid.shape[0] != 2:
            raise ValueError(f"grid must have shape [2, H, W], got {list(grid.shape)}")
        h = self._as_batch(h_batch, "h_batch")
        mats = self.matrix_representation(h).to(grid.device, grid.dtype)  # [n, 2, 2]
        return torch.einsum("nij,jhw->nhwi", mats, grid)

    # -- derived structure --------------------------------------------------------------------
    def index_of(self, h: Tensor) -> Tensor:
        """The position in :meth:`elements` of each element in ``h`` (a long tensor)."""
        h = self._as_batch(h, "h")
        mats = self.matrix_representation(h).reshape(-1, 4)
        table = self.matrix_representation(self._elements).reshape(-1, 4).to(mats.dtype)
        dist = torch.cdist(mats.double(), table.double())
        best = dist.argmin(dim=1)
        if (dist.gather(1, best[:, None]) > 1e-4).any():
            raise ValueError(f"some elements are not in {self!r}")
        return best

    def cayley_table(self) -> Tensor:
        """``[|G|, |G|]`` long tensor whose entry ``[i, j]`` is the index of ``g_i · g_j``."""
        prods = self.left_action_on_H(self._elements, self._elements)
        return self.index_of(prods.reshape(-1, *self._element_shape)).reshape(self.order, self.order)

    def inverse_indices(self) -> Tensor:
        """``[|G|]`` long tensor: the index of ``g_i⁻¹``."""
        return self.index_of(self.inverse(self._elements))

    def is_subgroup_of(self, other: "Group") -> bool:
        """Whether every element of this group, as a 2x2 matrix, is an element of ``other``."""
        if not isinstance(other, Group):
            raise TypeError(f"expected a Group, got {type(other).__name__}")
        mine = self.matrix_representation(self._elements).reshape(-1, 4).double().cpu()
        theirs = other.matrix_representation(other._elements).reshape(-1, 4).double().cpu()
        return bool((torch.cdist(mine, theirs).min(dim=1).values < 1e-4).all())

    def embedding_into(self, other: "Group") -> Tensor:
        """Indices in ``other.elements()`` of this group's elements (a subgroup's inclusion map)."""
        if not self.is_subgroup_of(other):
            raise ValueError(f"{self!r} is not a subgroup of {other!r}")
        return other.index_of(self._to_matrices_as(other))

    def _to_matrices_as(self, other: "Group") -> Tensor:
        # Find, for each of our elements, the element of `other` with the same matrix.
        mats = self.matrix_representation(self._elements).reshape(-1, 4).double().cpu()
        theirs = other.matrix_representation(other._elements).reshape(-1, 4).double().cpu()
        idx = torch.cdist(mats, theirs).argmin(dim=1)
        return other._elements[idx.to(other._elements.device)]

    # -- helpers ------------------------------------------------------------------------------
    @property
    def _element_shape(self) -> torch.Size:
        return self._elements.shape[1:]

    def _as_batch(self, h: Tensor, name: str) -> Tensor:
        h = torch.as_tensor(h, device=self._elements.device)
        es = self._element_shape
        if tuple(h.shape) == tuple(es):
            h = h.unsqueeze(0)
        if h.dim() != len(es) + 1 or tuple(h.shape[1:]) != tuple(es):
            raise ValueError(
                f"{name} must be a batch of {type(self).__name__} elements of shape "
                f"[n{''.join(', ' + str(s) for s in es)}], got {list(h.shape)}"
            )
        return h


def _check_order(order: int) -> int:
    if isinstance(order, bool) or not isinstance(order, int):
        raise TypeError(f"order must be an int, got {type(order).__name__}")
    if order < 1:
        raise ValueError(f"order must be at least 1, got {order}")
    return order


class CyclicGroup(Group):
    """The cyclic group ``C_N`` of rotations by multiples of ``2π/N``.

    Elements are angles in radians, shape ``[]`` each, ``[n]`` for a batch.

    >>> C4 = CyclicGroup(order=4)
    >>> C4.elements()
    tensor([0.0000, 1.5708, 3.1416, 4.7124])
    """

    def __init__(self, order: int) -> None:
        super().__init__()
        self.n = _check_order(order)
        self._elements = self._make_elements(torch.get_default_dtype())
        self.exact = 4 % self.n == 0  # C1, C2, C4: every angle is a multiple of 90°

    def _make_elements(self, dtype: torch.dtype) -> Tensor:
        return (torch.arange(self.n, dtype=torch.float64) * (2 * math.pi / self.n)).to(dtype)

    def element_names(self) -> List[str]:
        return [f"r{k}" if k else "e" for k in range(self.n)]

    def product(self, h: Tensor, h2: Tensor) -> Tensor:
        return torch.remainder(torch.as_tensor(h) + torch.as_tensor(h2), 2 * math.pi)

    def inverse(self, h: Tensor) -> Tensor:
        return torch.remainder(-torch.as_tensor(h), 2 * math.pi)

    def matrix_representation(self, h: Tensor) -> Tensor:
        h = torch.as_tensor(h)
        c, s = torch.cos(h), torch.sin(h)
        return torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)

    def determinant(self, h: Tensor) -> Tensor:
        return torch.ones_like(torch.as_tensor(h))

    def normalize_group_elements(self, h: Tensor) -> Tensor:
        largest = 2 * math.pi * (self.n - 1) / self.n
        if self.n == 1:
            return torch.zeros_like(torch.as_tensor(h))
        return 2 * torch.as_tensor(h) / largest - 1

    def extra_repr(self) -> str:
        return f"order={self.n}"


class DihedralGroup(Group):
    """The dihedral group ``D_N``: ``N`` rotations and ``N`` reflections (``2N`` elements).

    An element is a pair ``(m, θ)``, shape ``[2]`` (a batch: ``[n, 2]``), acting on the plane as
    ``R(θ) F^m`` with ``F = diag(-1, 1)`` (a left-right mirror). The first ``N`` elements are the
    rotations (the subgroup ``C_N``), the next ``N`` the reflections ``R(θ) F``.
    """

    def __init__(self, order: int) -> None:
        super().__init__()
        self.n = _check_order(order)
        self._elements = self._make_elements(torch.get_default_dtype())
        self.exact = 4 % self.n == 0

    def _make_elements(self, dtype: torch.dtype) -> Tensor:
        angles = torch.arange(self.n, dtype=torch.float64) * (2 * math.pi / self.n)
        m = torch.cat([torch.zeros(self.n), torch.ones(self.n)]).double()
        return torch.stack([m, angles.repeat(2)], -1).to(dtype)

    def element_names(self) -> List[str]:
        rot = [f"r{k}" if k else "e" for k in range(self.n)]
        return rot + [f"r{k}f" if k else "f" for k in range(self.n)]

    def product(self, h: Tensor, h2: Tensor) -> Tensor:
        h, h2 = torch.as_tensor(h), torch.as_tensor(h2)
        m1, t1 = h[..., 0], h[..., 1]
        m2, t2 = h2[..., 0], h2[..., 1]
        sign = 1 - 2 * m1  # F R(θ) = R(-θ) F
        m = torch.remainder(m1 + m2, 2)
        t = torch.remainder(t1 + sign * t2, 2 * math.pi)
        return torch.stack([m, t], -1)

    def inverse(self, h: Tensor) -> Tensor:
        h = torch.as_tensor(h)
        m, t = h[..., 0], h[..., 1]
        # (R(θ))⁻¹ = R(-θ); (R(θ)F)⁻¹ = R(θ)F (a reflection is its own inverse)
        t_inv = torch.where(m > 0.5, t, torch.remainder(-t, 2 * math.pi))
        return torch.stack([m, t_inv], -1)

    def matrix_representation(self, h: Tensor) -> Tensor:
        h = torch.as_tensor(h)
        m, t = h[..., 0], h[..., 1]
        c, s = torch.cos(t), torch.sin(t)
        f = 1 - 2 * m  # -1 for a reflection: R(θ) diag(f, 1)
        return torch.stack([torch.stack([c * f, -s], -1), torch.stack([s * f, c], -1)], -2)

    def normalize_group_elements(self, h: Tensor) -> Tensor:
        h = torch.as_tensor(h)
        m, t = h[..., 0], h[..., 1]
        largest = 2 * math.pi * (self.n - 1) / self.n
        t = torch.zeros_like(t) if self.n == 1 else 2 * t / largest - 1
        return torch.stack([2 * m - 1, t], -1)

    def extra_repr(self) -> str:
        return f"order={self.n}"


def check_group_sequence(groups: Sequence[Group]) -> List[Group]:
    """Check that each group is a subgroup of the one before it; return them as a list."""
    groups = list(groups)
    if not groups:
        raise ValueError("expected at least one group, got an empty sequence")
    for i, g in enumerate(groups):
        if not isinstance(g, Group):
            raise TypeError(f"groups[{i}] must be a gcnn Group, got {type(g).__name__}")
    for i in range(1, len(groups)):
        if not groups[i].is_subgroup_of(groups[i - 1]):
            raise ValueError(
                f"groups[{i}] = {groups[i]!r} is not a subgroup of groups[{i - 1}] = "
                f"{groups[i - 1]!r}; each layer's group must lie inside the previous one's"
            )
    return groups
