"""Transforming images, kernels and feature maps by group elements.

Ways to move a picture by a group element ``g`` (``(L_g f)(p) = f(g⁻¹ p)``):

* **interpolate** (the post's way, any group): move the coordinate grid by ``g⁻¹`` with
  :meth:`Group.left_action_on_R2` and read the picture there with bilinear
  :func:`torch.nn.functional.grid_sample`. Points that fall between pixels are interpolated.
* **exact** (multiples of 90° and mirror flips only): permute the pixels with
  :func:`torch.rot90` and :func:`torch.flip`. No arithmetic, so no round-off.
* **steerable** (kernels only, any group): the kernel is a combination of band-limited functions
  ``psi(rho, phi) = tau(rho) cos(m phi)`` / ``tau(rho) sin(m phi)`` (circular harmonics times
  radial profiles, Weiler et al. 2018, Weiler & Cesa 2019) and the learned weight holds their
  coefficients. Turning the kernel by ``theta`` shifts the phase of each ``(cos, sin)`` pair by
  ``m theta``: an exact turn for every angle, which keeps the kernel's norm (see
  :func:`steerable_basis`).

For ``C4`` and ``D4`` both agree to float32 round-off (``align_corners=True`` puts the corner
pixels on ``±1``, so a 90° turn maps pixel centres onto pixel centres).

A layer's kernel bank is a *fixed linear function* of its learned weight, so
:func:`lifting_kernel_map` and :func:`group_kernel_map` work it out once, as a matrix, by
transforming a basis; a forward pass is then one small matrix product (a permutation matrix in
the exact case). Large maps (``|G|`` and ``k`` both large: C64 with 31x31 kernels would need about
970 GB) are not stored densely: :func:`build_kernel_map` keeps, for each transformed kernel
entry, the (at most four) entries of the learned kernel it reads, and
:func:`apply_kernel_map` gathers them.
"""

from __future__ import annotations

import functools
import math
from typing import Dict, Optional, Tuple

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
    "steerable_basis",
    "steerable_frequencies",
    "rotate_coefficients",
    "build_kernel_map",
    "apply_kernel_map",
]

METHODS = ("auto", "exact", "interpolate", "steerable")

#: Kernel maps up to this size (float32 bytes of the dense ``[n_in, n_out]`` matrix) are stored
#: dense, as the book shows them; larger ones are stored as taps (see :func:`build_kernel_map`).
DENSE_MAP_LIMIT_BYTES = 64 * 2**20
#: The most a kernel map may take in memory; more is refused with a ValueError.
MAX_MAP_BYTES = 2 * 2**30
#: The highest angular frequency of the steerable basis (see :func:`steerable_basis`).
STEERABLE_MAX_FREQUENCY = 2
#: The steerable basis lives on the disc of radius ``(k - 1) / 2 + STEERABLE_DISC_MARGIN`` pixels.
STEERABLE_DISC_MARGIN = 0.5


def resolve_method(group: Group, method: str) -> str:
    """Turn ``"auto"`` into ``"exact"`` when the group allows it, else ``"interpolate"``.

    ``"steerable"`` works for every group (and is never chosen by ``"auto"``).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "auto":
        return "exact" if group.exact else "interpolate"
    if method == "exact" and not group.exact:
        raise ValueError(
            f"method='exact' needs a group whose rotations are multiples of 90 degrees "
            f"(C1, C2, C4, D1, D2, D4); {group!r} has to use method='interpolate' "
            f"or method='steerable'"
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
    if method == "steerable":
        raise ValueError(
            "method='steerable' applies to kernels built from a steerable basis (the layers' "
            "method), not to images; move images with method='exact' or 'interpolate'"
        )
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
    method = resolve_method(group, method)
    if method == "steerable":
        n_in = steerable_frequencies(k).numel()
        _check_dense_size(group, k, n_in, group.order * k * k, "lifting")
        return _steerable_spatial(group, k).reshape(n_in, group.order * k * k).float()
    _check_dense_size(group, k, k * k, group.order * k * k, "lifting")
    basis = _basis(k * k, k, k)  # [k², k, k]
    moved = transform_images(basis, group, group.elements(torch.float64), method)  # [|G|, k², k, k]
    return moved.permute(1, 0, 2, 3).reshape(k * k, group.order * k * k).float()


def group_kernel_map(group: Group, kernel_size: int, method: str = "auto") -> Tensor:
    """The matrix that turns a group-convolution kernel into its ``|G|`` transformed copies.

    A kernel ``w[h, p]`` on ``G x R²`` becomes, for output element ``g``,
    ``w_g[h, p] = w[g⁻¹ h, g⁻¹ p]``: spatially moved by ``g`` and permuted along the group axis
    (the "twist-shift"). Returns ``M`` of shape ``[|G|*k*k, |G|*|G|*k*k]`` so that
    ``(w.reshape(O*I, |G|*k*k) @ M).reshape(O, I, |G|_out, |G|_in, k, k)``. With
    ``method="steerable"`` the weight holds ``B`` coefficients per input group channel
    (``[O, I, |G|, B]``) and ``M`` is ``[|G|*B, |G|*|G|*k*k]``.

    The dense matrix has ``|G|³ k⁴`` entries; a ValueError says so when that is more than
    ``MAX_MAP_BYTES`` (the layers then store it as taps, see :func:`build_kernel_map`).
    """
    k, n = kernel_size, group.order
    method = resolve_method(group, method)
    table = group.cayley_table()
    inv = group.inverse_indices()
    if method == "steerable":
        b = steerable_frequencies(k).numel()
        _check_dense_size(group, k, n * b, n * n * k * k, "group")
        spatial = _steerable_spatial(group, k).reshape(b, n, k * k)  # [B, |G|_out, k²]
        out = torch.zeros(n, b, n, n, k * k, dtype=torch.float64)  # [|G|_in, B, out, in, k²]
        for gi in range(n):
            src = table[inv[gi]]
            for hj in range(n):
                out[src[hj], :, gi, hj] = spatial[:, gi]
        return out.reshape(n * b, n * n * k * k).float()
    _check_dense_size(group, k, n * k * k, n * n * k * k, "group")
    basis = _basis(n * k * k, n, k, k)  # [n k², |G|_in, k, k]
    elements = group.elements(torch.float64)
    out = []
    for gi in range(n):
        src = table[inv[gi]]  # position j -> index of g⁻¹ h_j
        permuted = basis[:, src]
        moved = transform_images(permuted, group, elements[gi : gi + 1], method)[0]
        out.append(moved)
    # out: |G|_out x [n k², |G|_in, k, k] -> [n k², |G|_out * |G|_in * k * k]
    return torch.stack(out, 1).reshape(n * k * k, n * n * k * k).float()


# -- sizes -----------------------------------------------------------------------------------------
def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.3g} GiB"


def _check_dense_size(group: Group, k: int, n_in: int, n_out: int, kind: str) -> None:
    nbytes = 4 * n_in * n_out
    if nbytes > MAX_MAP_BYTES:
        raise ValueError(
            f"the dense {kind} kernel map of {group.name} with {k}x{k} kernels is a "
            f"[{n_in}, {n_out}] float32 matrix, {_gib(nbytes)} (it grows as |G|^"
            f"{3 if kind == 'group' else 1} k^4), more than gcnn.kernels.MAX_MAP_BYTES = "
            f"{_gib(MAX_MAP_BYTES)}; the layers store it sparse (build_kernel_map), use that, or a "
            f"smaller group or kernel"
        )


# -- steerable kernels -----------------------------------------------------------------------------
@functools.lru_cache(maxsize=16)
def _shells(k: int):
    """Pixels of a ``k x k`` kernel grouped by distance to the centre.

    Returns ``(shell [k*k] long, phi [k*k] float64, counts [S] long, r2 [S] long)``: the shell of
    each pixel (shells sorted by radius), its angle ``atan2(y, x)`` (``x`` along the width, ``y``
    down the rows, as :func:`~gcnn.groups.coordinate_grid`), the pixels per shell and the squared
    radius of each shell in half-pixel units (``(2x)² + (2y)²``, exact integers).
    """
    d = 2 * torch.arange(k, dtype=torch.int64) - (k - 1)  # doubled offsets from the centre
    yy, xx = torch.meshgrid(d, d, indexing="ij")
    r2 = (xx * xx + yy * yy).reshape(-1)
    values, shell = torch.unique(r2, sorted=True, return_inverse=True)
    counts = torch.bincount(shell, minlength=values.numel())
    phi = torch.atan2(yy.double(), xx.double()).reshape(-1)
    return shell, phi, counts, values


def _shell_moments(k: int, d: int) -> Tensor:
    """``sigma_d(s) = sum over the pixels p of shell s of cos(d phi_p)``, ``[S]`` float64."""
    shell, phi, counts, _ = _shells(k)
    out = torch.zeros(counts.numel(), dtype=torch.float64)
    out.index_add_(0, shell, torch.cos(d * phi))
    out[out.abs() < 1e-9] = 0.0
    return out


def _isotropic(q: Tensor, radius_order: Optional[Tensor] = None) -> Tensor:
    """Columns spanning a largest subspace on which the symmetric form ``q`` vanishes."""
    if radius_order is not None:  # q is diagonal over shells: pair neighbouring shells
        diag = q.diagonal()
        cols, open_pos, open_neg = [], [], []
        for s in radius_order.tolist():
            v = float(diag[s])
            if v == 0.0:
                col = torch.zeros(q.shape[0], dtype=torch.float64)
                col[s] = 1.0
                cols.append(col)
                continue
            mine, other = (open_pos, open_neg) if v > 0 else (open_neg, open_pos)
            if other:
                t = other.pop()
                col = torch.zeros(q.shape[0], dtype=torch.float64)
                col[s], col[t] = 1.0 / math.sqrt(abs(v)), 1.0 / math.sqrt(abs(float(diag[t])))
                cols.append(col)
            else:
                mine.append(s)
        return torch.stack(cols, 1) if cols else torch.zeros(q.shape[0], 0, dtype=torch.float64)
    vals, vecs = torch.linalg.eigh(q)
    tol = 1e-9 * max(1.0, float(vals.abs().max())) if vals.numel() else 0.0
    zero = [vecs[:, i] for i in range(vals.numel()) if abs(float(vals[i])) <= tol]
    pos = [i for i in range(vals.numel()) if vals[i] > tol]
    neg = [i for i in range(vals.numel()) if vals[i] < -tol]
    pairs = [vecs[:, i] / vals[i].sqrt() + vecs[:, j] / (-vals[j]).sqrt() for i, j in zip(pos, neg)]
    cols = zero + pairs
    return torch.stack(cols, 1) if cols else torch.zeros(q.shape[0], 0, dtype=torch.float64)


@functools.lru_cache(maxsize=16)
def _steerable_profiles(k: int, max_frequency: int):
    """Radial profiles (values per shell) of the steerable basis, one list per frequency.

    Sampled on the pixel grid, ``tau(rho) e^{i m phi}`` and ``tau'(rho) e^{i m' phi}`` are not
    orthogonal when ``m - m'`` is a nonzero multiple of 4 (the grid has only 4-fold symmetry), and
    then the norm of a turned kernel would change with the angle. Frequencies are added from low
    to high and each one keeps only the profiles for which all such grid sums vanish: no condition
    for ``m = 0, 1``; for ``m = 2`` the profiles pair a shell where ``cos 4 phi`` sums positive with
    a neighbouring shell where it sums negative; beyond, little is left. Profiles are orthonormal
    for the inner product weighted by the pixels per shell.
    """
    shell, _, counts, r2 = _shells(k)
    n_shells = counts.numel()
    # the support is a disc: the corners of the square would turn onto pixels that do not exist
    limit = (2 * ((k - 1) / 2 + STEERABLE_DISC_MARGIN)) ** 2 + 1e-9
    w = counts.double()
    chosen: Dict[int, Tensor] = {}
    for m in range(max_frequency + 1):
        allowed = [s for s in range(n_shells)
                   if (m == 0 or int(r2[s]) > 0) and int(r2[s]) <= limit]
        space = torch.eye(n_shells, dtype=torch.float64)[:, allowed]  # [S, a]
        constraints = []
        for mp, tp in chosen.items():
            for d in {m - mp, m + mp}:
                if d > 0 and d % 4 == 0 and tp.shape[1]:
                    constraints.append((tp * _shell_moments(k, d)[:, None]).T @ space)
        constrained = bool(constraints)
        if constrained:
            c = torch.cat(constraints, 0)
            _, sv, vh = torch.linalg.svd(c, full_matrices=True)
            rank = int((sv > 1e-9 * max(1.0, float(sv.max()))).sum()) if sv.numel() else 0
            space = space @ vh[rank:].T
        if m > 0 and (2 * m) % 4 == 0 and space.shape[1]:
            q = space.T @ (_shell_moments(k, 2 * m)[:, None] * space)
            order = None
            if not constrained:  # space is a set of shell indicators, in radius order
                order = torch.arange(space.shape[1])
            space = space @ _isotropic(q, order)
        if space.shape[1]:  # orthonormal for <a, b> = sum_s counts_s a_s b_s
            gram = space.T @ (w[:, None] * space)
            chol = torch.linalg.cholesky(gram)
            space = torch.linalg.solve_triangular(chol, space.T, upper=False).T
        chosen[m] = space
    return shell, chosen


def steerable_frequencies(kernel_size: int, max_frequency: Optional[int] = None) -> Tensor:
    """The angular frequency ``m`` of each function of :func:`steerable_basis`, ``[B]`` long."""
    max_frequency = STEERABLE_MAX_FREQUENCY if max_frequency is None else max_frequency
    _, chosen = _steerable_profiles(kernel_size, max_frequency)
    out = []
    for m, space in chosen.items():
        out += [m] * (space.shape[1] * (1 if m == 0 else 2))
    return torch.tensor(out, dtype=torch.int64)


def _steerable_at(k: int, theta: float, max_frequency: int) -> Tensor:
    """The basis turned by ``theta`` (radians), sampled: ``[B, k, k]`` float64."""
    shell, chosen = _steerable_profiles(k, max_frequency)
    _, phi, _, _ = _shells(k)
    rows = []
    for m, space in chosen.items():
        for j in range(space.shape[1]):
            tau = space[shell, j]  # [k²]
            if m == 0:
                rows.append(tau)
            else:  # psi(R(theta)^-1 p): the angle of the point goes back by theta
                a = m * (phi - theta) if theta else m * phi
                rows += [math.sqrt(2) * tau * torch.cos(a), math.sqrt(2) * tau * torch.sin(a)]
    if not rows:
        return torch.zeros(0, k, k, dtype=torch.float64)
    return torch.stack(rows).reshape(-1, k, k)


_QUARTER = {0: [[1, 0], [0, 1]], 1: [[0, -1], [1, 0]], 2: [[-1, 0], [0, -1]], 3: [[0, 1], [-1, 0]]}
_FLIP = torch.tensor([[-1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)


def _turned(k: int, theta: float, max_frequency: int) -> Tensor:
    """``L_{R(theta)} psi`` for every basis function: quarter turns by permutation, the rest of the
    angle (in ``[0, 90°)``) by the phase shift, so that turns by 90° are exact permutations."""
    q = (theta % (2 * math.pi)) / (math.pi / 2)
    j = round(q)
    if abs(q - j) < 1e-9:
        rest = 0.0
    else:
        j = math.floor(q)
        rest = theta % (2 * math.pi) - j * math.pi / 2
    base = _steerable_at(k, rest, max_frequency)
    j %= 4
    if j == 0:
        return base
    return _exact_one(base, torch.tensor(_QUARTER[j], dtype=torch.float64))


def steerable_basis(
    kernel_size: int, angle: float = 0.0, reflect: bool = False,
    max_frequency: Optional[int] = None,
) -> Tensor:
    """The steerable kernel basis, sampled on the ``k x k`` grid (optionally turned): ``[B, k, k]``.

    Each function is ``psi(rho, phi) = tau(rho) cos(m phi)`` or ``tau(rho) sin(m phi)`` (``m = 0``:
    ``tau(rho)`` only), with ``m <= max_frequency`` (2 by default) and the radial profile ``tau``
    given by its values on the rings of pixels at equal distance from the centre, within the disc
    of radius ``(k - 1) / 2 + 0.5`` (the corners of the square are left out: turned, they would
    land on pixels that do not exist). The sampled
    functions are orthonormal, and the profiles are chosen (see ``_steerable_profiles``) so that
    they stay orthonormal after any turn: a kernel ``sum_b c_b psi_b`` turned by any angle (or
    mirrored) is ``sum_b c'_b psi_b`` with rotated coefficients (:func:`rotate_coefficients`) and
    keeps its norm exactly, ``|c'| = |c|``. Turns by multiples of 90° are pixel permutations.

    Args:
        kernel_size: ``k``.
        angle: turn the functions by this angle (radians, clockwise on screen as the groups):
            ``psi(R(angle)⁻¹ p)``.
        reflect: mirror them first (``x -> -x``): the element ``R(angle) F`` of a dihedral group.
        max_frequency: highest ``m``; ``STEERABLE_MAX_FREQUENCY`` by default.

    Returns:
        float64 ``[B, k, k]``; ``B`` is 9 for ``k = 3`` (all 9 pixels), 17 for ``k = 5``, 28 for
        ``k = 7``.
    """
    if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1:
        raise ValueError(f"kernel_size must be a positive int, got {kernel_size!r}")
    mf = STEERABLE_MAX_FREQUENCY if max_frequency is None else max_frequency
    if isinstance(mf, bool) or not isinstance(mf, int) or mf < 0:
        raise ValueError(f"max_frequency must be a non-negative int, got {mf!r}")
    if not math.isfinite(angle):
        raise ValueError(f"angle must be a finite number of radians, got {angle!r}")
    if reflect:  # L_{R F} = L_R L_F = L_F L_{R^-1}
        return _exact_one(_turned(kernel_size, -angle, mf), _FLIP)
    return _turned(kernel_size, angle, mf)


def rotate_coefficients(
    coefficients: Tensor, angle: float, kernel_size: int, reflect: bool = False,
    max_frequency: Optional[int] = None,
) -> Tensor:
    """Turn (and mirror) a steerable kernel by acting on its coefficients ``[..., B]``.

    Each ``(cos, sin)`` pair of frequency ``m`` is rotated by ``m * angle`` (a phase shift);
    mirroring first maps ``(a, b)`` to ``(-1)^m (a, -b)``. The result describes the same kernel
    as :func:`steerable_basis` turned by ``angle``: ``c @ basis(angle) == rotate(c) @ basis(0)``.
    """
    freqs = steerable_frequencies(kernel_size, max_frequency).to(coefficients.device)
    if coefficients.shape[-1] != freqs.numel():
        raise ValueError(
            f"a {kernel_size}x{kernel_size} steerable kernel has {freqs.numel()} coefficients, "
            f"got a last dimension of {coefficients.shape[-1]}"
        )
    c = coefficients.clone()
    pair = freqs > 0
    idx = torch.nonzero(pair).flatten()[0::2]  # the cos of each pair; its sin follows
    m = freqs[idx].to(c.dtype)
    a, b = c[..., idx], c[..., idx + 1]
    if reflect:
        sign = 1 - 2 * (freqs[idx] % 2).to(c.dtype)
        a, b = sign * a, -sign * b
        zero = torch.nonzero(~pair).flatten()
        c[..., zero] = coefficients[..., zero]
    cos, sin = torch.cos(m * angle), torch.sin(m * angle)
    c[..., idx] = a * cos - b * sin
    c[..., idx + 1] = a * sin + b * cos
    return c


def _element_angles(group: Group):
    """``(theta, reflect)`` of every element, as ``R(theta) F^reflect`` (float64 angles)."""
    mats = group.matrix_representation(group.elements(torch.float64)).cpu()
    out = []
    for a in mats:
        reflect = bool(torch.linalg.det(a) < 0)
        r = a @ _FLIP if reflect else a  # R = A F
        out.append((math.atan2(float(r[1, 0]), float(r[0, 0])), reflect))
    return out


def _steerable_spatial(group: Group, k: int) -> Tensor:
    """``[B, |G|, k, k]`` float64: every basis function moved by every element."""
    return torch.stack(
        [steerable_basis(k, t, reflect) for t, reflect in _element_angles(group)], 1
    )


# -- taps: the sparse form of a kernel map ---------------------------------------------------------
def _spatial_taps(group: Group, k: int, method: str) -> Tuple[Tensor, Optional[Tensor]]:
    """Which pixels of the original kernel each entry of the ``|G|`` moved kernels reads.

    Returns ``(index [T, |G|*k*k] long, weight [T, |G|*k*k] float32 or None)``: moved entry ``c``
    is ``sum_t w[index[t, c]] * weight[t, c]``. Exact: ``T = 1`` and no weights. Interpolate:
    ``T = 4``, the bilinear weights of :func:`torch.nn.functional.grid_sample`
    (``align_corners=True``, zeros outside), computed as it does in float64.
    """
    n = group.order
    if method == "exact":
        ids = torch.arange(k * k, dtype=torch.float64).reshape(k, k)
        moved = transform_images(ids, group, group.elements(torch.float64), "exact")
        return moved.round().long().reshape(1, n * k * k), None
    grid = coordinate_grid(k, k, dtype=torch.float64)
    elements = group.elements(torch.float64)
    at = group.left_action_on_R2(group.inverse(elements), grid).cpu()  # [n, k, k, 2]
    scale = (k - 1) / 2
    x, y = (at[..., 0] + 1) * scale, (at[..., 1] + 1) * scale  # pixel coordinates
    x0, y0 = x.floor(), y.floor()
    east, south = x - x0, y - y0  # distances to the west and north neighbours
    west, north = 1 - east, 1 - south
    corners = [(x0, y0, north * west), (x0 + 1, y0, north * east),
               (x0, y0 + 1, south * west), (x0 + 1, y0 + 1, south * east)]
    index, weight = [], []
    for cx, cy, wt in corners:
        inside = (cx >= 0) & (cx <= k - 1) & (cy >= 0) & (cy <= k - 1)
        index.append(torch.where(inside, cy * k + cx, torch.zeros_like(cx)).long().reshape(-1))
        weight.append(torch.where(inside, wt, torch.zeros_like(wt)).reshape(-1))
    return torch.stack(index), torch.stack(weight).float()


def build_kernel_map(group: Group, kernel_size: int, method: str, kind: str) -> Dict[str, Tensor]:
    """Everything a layer needs to expand its weight into the bank of moved kernels.

    ``kind`` is ``"lifting"`` (weight ``[O, I, k, k]``, or ``[O, I, B]`` steerable) or
    ``"group"`` (``[O, I, |G|, k, k]`` / ``[O, I, |G|, B]``). Returns a dict of tensors (or
    ``None``) to register as buffers, consumed by :func:`apply_kernel_map`:

    * ``kernel_map``: the dense ``[n_in, n_out]`` matrix of :func:`lifting_kernel_map` /
      :func:`group_kernel_map`, when it takes at most ``DENSE_MAP_LIMIT_BYTES`` (and always
      for a steerable lifting layer, whose map is dense by nature); for ``exact`` also
      ``kernel_index``, the column-to-row permutation, applied as a gather.
    * otherwise the factored form: ``kernel_index`` ``[T, |G| k²]`` and ``kernel_tap_weight``
      (the taps of the spatial move, see ``_spatial_taps``) or ``kernel_spatial_map``
      ``[B, |G| k²]`` (steerable), and for a group convolution ``kernel_group_index``
      ``[|G|²]``, the twist of the group axis. C64 with 31x31 kernels: 3 MB (interpolate,
      lifting or group; steerable: 112 MB) instead of 236 MB (lifting) and 968 GB (group).

    Raises ValueError, saying how big, when even the factored form exceeds
    ``MAX_MAP_BYTES``.
    """
    if kind not in ("lifting", "group"):
        raise ValueError(f"kind must be 'lifting' or 'group', got {kind!r}")
    method = resolve_method(group, method)
    k, n = kernel_size, group.order
    per = steerable_frequencies(k).numel() if method == "steerable" else k * k
    n_in = per * (n if kind == "group" else 1)
    n_out = n * k * k * (n if kind == "group" else 1)
    out: Dict[str, Optional[Tensor]] = {
        "kernel_map": None, "kernel_index": None, "kernel_tap_weight": None,
        "kernel_spatial_map": None, "kernel_group_index": None,
    }
    dense_bytes = 4 * n_in * n_out
    if method == "steerable":
        spatial_bytes = 4 * per * n * k * k
        if spatial_bytes > MAX_MAP_BYTES:
            raise ValueError(
                f"the steerable kernel map of {group.name} with {k}x{k} kernels is a [{per}, "
                f"{n * k * k}] float32 matrix ({per} basis functions turned by {n} elements), "
                f"{_gib(spatial_bytes)}, more than gcnn.kernels.MAX_MAP_BYTES = "
                f"{_gib(MAX_MAP_BYTES)}; use method='interpolate' (sparse, 4 taps per entry) or a "
                f"smaller group or kernel"
            )
    if dense_bytes <= DENSE_MAP_LIMIT_BYTES or (method == "steerable" and kind == "lifting"):
        build = lifting_kernel_map if kind == "lifting" else group_kernel_map
        out["kernel_map"] = build(group, k, method)
        if method == "exact":  # a permutation matrix: one 1 per column, a gather does the same
            out["kernel_index"] = out["kernel_map"].argmax(0)
        return out
    if method == "steerable":
        out["kernel_spatial_map"] = _steerable_spatial(group, k).reshape(per, n * k * k).float()
    else:
        out["kernel_index"], out["kernel_tap_weight"] = _spatial_taps(group, k, method)
    if kind == "group":
        table, inv = group.cayley_table(), group.inverse_indices()
        src = table[inv]  # src[g, h] = index of g⁻¹ h
        g = torch.arange(n)[:, None].expand(n, n)
        # rows of the spatially moved input channels, [|G|_in, |G|_out], for (out g, in h)
        out["kernel_group_index"] = (src * n + g).reshape(-1).cpu()
    return out


def apply_kernel_map(
    flat_weight: Tensor,
    kernel_map: Optional[Tensor] = None,
    kernel_index: Optional[Tensor] = None,
    kernel_tap_weight: Optional[Tensor] = None,
    kernel_spatial_map: Optional[Tensor] = None,
    kernel_group_index: Optional[Tensor] = None,
) -> Tensor:
    """``[R, n_in]`` weights -> ``[R, n_out]`` entries of the moved kernels (see
    :func:`build_kernel_map` for the arguments, which are its output)."""
    if kernel_map is not None:
        if kernel_index is not None:
            return flat_weight.index_select(1, kernel_index)
        return flat_weight @ kernel_map.to(flat_weight.dtype)
    rows = flat_weight.shape[0]
    x = flat_weight
    n = None
    if kernel_group_index is not None:  # move every input group channel spatially, then twist
        n = math.isqrt(kernel_group_index.numel())
        x = x.reshape(rows * n, -1)
    if kernel_spatial_map is not None:
        y = x @ kernel_spatial_map.to(x.dtype)
    elif kernel_tap_weight is None:
        y = x.index_select(1, kernel_index[0])
    else:
        w = kernel_tap_weight.to(x.dtype)
        y = x.index_select(1, kernel_index[0]) * w[0]
        for t in range(1, kernel_index.shape[0]):
            y = y + x.index_select(1, kernel_index[t]) * w[t]
    if n is None:
        return y
    # y: [R * |G|_in, |G|_out * k²] -> [R, |G|_in * |G|_out, k²] -> pick (src[g, h], g)
    y = y.reshape(rows, n * n, -1).index_select(1, kernel_group_index)
    return y.reshape(rows, -1)
