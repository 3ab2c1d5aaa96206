"""Group-equivariant layers: lifting and group convolution, restriction, layer and batch norm.

Shapes: images are ``[B, C, H, W]``; feature maps on a group ``G`` are ``[B, C, |G|, H, W]``
(the group axis is dimension 2). Rotating a layer's input by the generator ``r`` of ``C_N``
rotates its output by ``r`` and rolls the group axis *forward* by one step
(``torch.roll(out, 1, dims=2)``); :mod:`gcnn.equivariance` checks this for any element.

Each convolution keeps one learned weight and a fixed matrix (a buffer, see
:mod:`gcnn.kernels`) that expands it into the bank of ``|G|`` transformed kernels, which then
runs as a single :func:`torch.nn.functional.conv2d`. With ``method="steerable"`` the weight holds
the coefficients of a steerable basis (``[..., B]`` instead of ``[..., k, k]``), turned exactly.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .groups import Group
from .kernels import apply_kernel_map, build_kernel_map, resolve_method, steerable_frequencies

__all__ = ["LiftingConvolution", "GroupConvolution", "Restriction", "GroupLayerNorm",
           "GroupBatchNorm"]

Padding = Union[int, str]


def _check_positive_int(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, got {value}")
    return value


def _check_group(group) -> Group:
    if not isinstance(group, Group):
        raise TypeError(
            f"group must be a gcnn Group such as CyclicGroup(order=4), got {type(group).__name__}"
        )
    return group


_TO_DTYPE = {torch.float32: "float", torch.float64: "double", torch.float16: "half",
             torch.bfloat16: "bfloat16"}


def _convert(what: str, dtype: torch.dtype) -> str:
    """How to convert ``what`` (``"x"`` or ``"model"``) to ``dtype``: ``x.float()`` say."""
    method = _TO_DTYPE.get(dtype)
    return f"{what}.{method}()" if method else f"{what}.to({dtype})"


def _autocast_enabled(x: Tensor) -> bool:
    try:
        return torch.is_autocast_enabled(x.device.type)
    except TypeError:  # torch < 2.4 has one flag per device kind
        return torch.is_autocast_enabled() or torch.is_autocast_cpu_enabled()


def _check_dtype(name: str, x: Tensor, dtype: torch.dtype) -> None:
    """Refuse an input whose dtype the weights (``dtype``) cannot meet, saying what to do.

    Under ``torch.autocast`` mixed precisions are expected, so only integer input is refused.
    """
    if not isinstance(x, Tensor):
        raise TypeError(f"{name} expects a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(
            f"{name} got input of dtype {x.dtype}, but its weights are {dtype}: convert the "
            f"input to floating point, {_convert('x', dtype)} / 255 for 8-bit pixels in "
            f"[0, 255] (gcnn.data gives images in [0, 1])"
        )
    if x.dtype != dtype and not _autocast_enabled(x):
        raise TypeError(
            f"{name} got input of dtype {x.dtype}, but its weights are {dtype}: convert the "
            f"input with {_convert('x', dtype)}, or the model with {_convert('model', x.dtype)}"
        )


def _resolve_padding(padding: Padding, kernel_size: int) -> int:
    if padding == "same":
        if kernel_size % 2 == 0:
            raise ValueError(f"padding='same' needs an odd kernel_size, got {kernel_size}")
        return kernel_size // 2
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding must be a non-negative int or 'same', got {padding!r}")
    return padding


class _GroupConvBase(nn.Module):
    """What the lifting and the group convolution share: checks, the kernel bank, its cache."""

    in_kind = "image"
    out_kind = "regular"

    def __init__(self, group, kernel_size, in_channels, out_channels, padding, bias, method):
        super().__init__()
        self.group = _check_group(group)
        self.kernel_size = _check_positive_int("kernel_size", kernel_size)
        self.in_channels = _check_positive_int("in_channels", in_channels)
        self.out_channels = _check_positive_int("out_channels", out_channels)
        self.padding = _resolve_padding(padding, self.kernel_size)
        self.method = resolve_method(group, method)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self._cache: Optional[Tuple[tuple, Tensor]] = None

    def reset_parameters(self) -> None:
        """Draw the weight afresh and zero the bias (called by ``__init__``).

        The weight is drawn as :class:`torch.nn.Conv2d` draws its own (Kaiming-uniform,
        ``a=√5``) over the flattened input channels, fan-in ``C_in * |G_in| * k * k``
        (steerable: ``C_in * |G_in| * B`` coefficients); the bias, one per output channel shared
        by the group axis, starts at zero.
        """
        shape = self._spatial_shape()  # (k, k), or (B,) steerable coefficients
        nn.init.kaiming_uniform_(self.weight.view(self.out_channels, -1, *shape), a=math.sqrt(5))
        if self.bias is not None:
            nn.init.zeros_(self.bias)

    # -- the kernel bank -------------------------------------------------------------------
    def _expand(self) -> Tensor:
        raise NotImplementedError

    _MAP_BUFFERS = ("kernel_map", "kernel_index", "kernel_tap_weight", "kernel_spatial_map",
                    "kernel_group_index")

    def _spatial_shape(self) -> Tuple[int, ...]:
        """The per-kernel shape of the weight: ``(k, k)``, or ``(B,)`` coefficients (steerable)."""
        if self.method == "steerable":
            return (steerable_frequencies(self.kernel_size).numel(),)
        return (self.kernel_size, self.kernel_size)

    def _register_kernel_map(self, kind: str) -> None:
        # A dense matrix (an exact one also as a gather index) when small, else the sparse taps
        # (each moved entry reads at most four entries): see gcnn.kernels.build_kernel_map.
        maps = build_kernel_map(self.group, self.kernel_size, self.method, kind)
        for name in self._MAP_BUFFERS:
            self.register_buffer(name, maps[name], persistent=False)

    def _apply_map(self, flat_weight: Tensor) -> Tensor:
        """``[O*I, n_in]`` weights -> ``[O*I, n_out]`` entries of the transformed kernels."""
        return apply_kernel_map(flat_weight, *(getattr(self, n) for n in self._MAP_BUFFERS))

    def dense_kernel_map(self) -> Tensor:
        """The kernel map as one dense ``[n_in, n_out]`` matrix, however it is stored."""
        n_in = self.weight[0, 0].numel()
        eye = torch.eye(n_in, dtype=self.weight.dtype, device=self.weight.device)
        return self._apply_map(eye)

    def transformed_weight(self) -> Tensor:
        """The bank of transformed kernels, ``[C_out * |G|, C_in * |G_in|, k, k]``.

        Row ``o * |G| + i`` is output channel ``o`` for group element ``g_i``. In ``eval()`` mode
        it is computed once and reused until the weight changes (in place or replaced), the
        module returns to ``train()``, or moves to another device or dtype. When autograd needs
        gradients for the weight (grad mode on and ``weight.requires_grad``), it is recomputed so
        that the gradients stay right.
        """
        w = self.weight
        if self.training or (torch.is_grad_enabled() and w.requires_grad):
            self._cache = None
            return self._expand()
        maps = tuple(getattr(self, n) for n in self._MAP_BUFFERS)
        key = (w.data_ptr(), w._version, w.device, w.dtype) + tuple(
            m.data_ptr() if m is not None else None for m in maps)
        if self._cache is None or self._cache[0] != key:
            with torch.no_grad():
                self._cache = (key, self._expand())
        return self._cache[1]

    def train(self, mode: bool = True):
        self._cache = None
        return super().train(mode)

    def _conv(self, x: Tensor) -> Tensor:
        bias = None
        if self.bias is not None:  # one bias per output channel, shared by all group elements
            bias = self.bias.repeat_interleave(self.group.order)
        return F.conv2d(x, self.transformed_weight(), bias, padding=self.padding)

    def export(self) -> nn.Sequential:
        """A plain-PyTorch copy for inference: the kernel bank frozen into an ``nn.Conv2d``.

        The result maps the same input shape to the same output shape and values, with no group
        machinery left (as escnn's ``export``).
        """
        with torch.no_grad():
            weight = self._expand().detach().clone()
        conv = nn.Conv2d(
            weight.shape[1], weight.shape[0], self.kernel_size, padding=self.padding,
            bias=self.bias is not None, device=weight.device, dtype=weight.dtype,
        )
        with torch.no_grad():
            conv.weight.copy_(weight)
            if self.bias is not None:
                conv.bias.copy_(self.bias.repeat_interleave(self.group.order))
        layers = [] if self.in_kind == "image" else [nn.Flatten(1, 2)]
        layers += [conv, nn.Unflatten(1, (self.out_channels, self.group.order))]
        return nn.Sequential(*layers).train(self.training)

    def _check_spatial(self, x: Tensor) -> None:
        h, w = x.shape[-2:]
        smallest = self.kernel_size - 2 * self.padding
        if h < smallest or w < smallest:
            raise ValueError(
                f"{type(self).__name__}: input of {h}x{w} pixels is smaller than the kernel "
                f"({self.kernel_size}x{self.kernel_size} with padding {self.padding})"
            )

    def output_size(self, size: int) -> int:
        """Spatial output size for an input of ``size`` pixels."""
        return size + 2 * self.padding - self.kernel_size + 1

    def equivariance_error(self, x: Optional[Tensor] = None, method: str = "auto") -> Tensor:
        """Relative equivariance error under each group element (see :mod:`gcnn.equivariance`)."""
        from .equivariance import equivariance_error

        return equivariance_error(self, x, method=method)

    def extra_repr(self) -> str:
        s = (
            f"group={self.group.name}, "
            f"in_channels={self.in_channels}, out_channels={self.out_channels}, "
            f"kernel_size={self.kernel_size}, padding={self.padding}, method={self.method!r}"
        )
        return s + ("" if self.bias is not None else ", bias=False")


class LiftingConvolution(_GroupConvBase):
    """Lift an image to a feature map on the group: ``[B, C_in, H, W] -> [B, C_out, |G|, H', W']``.

    One learned kernel per (out, in) channel pair; output slice ``[:, o, i]`` is the input
    correlated with that kernel moved by group element ``g_i``. ``H' = H + 2 padding - k + 1``.

    Args:
        group: a :class:`~gcnn.groups.Group`, e.g. ``CyclicGroup(order=4)``.
        kernel_size: side ``k`` of the square kernel.
        in_channels, out_channels: channel counts ``C_in`` and ``C_out``.
        padding: zero padding (an int) or ``"same"`` (odd ``k``).
        bias: add one learned bias per output channel (shared over the group axis).
        method: how kernels are moved: ``"exact"`` (90° steps and flips, by permutation),
            ``"interpolate"`` (any angle, bilinear), ``"steerable"`` (any angle, exactly: the
            weight holds ``B`` coefficients of a band-limited basis per kernel, ``[C_out, C_in,
            B]``, see :func:`gcnn.kernels.steerable_basis`), or ``"auto"`` (exact when
            possible, else interpolate).

    Example: ``LiftingConvolution(CyclicGroup(4), kernel_size=5, in_channels=3, out_channels=8)``
    maps ``[2, 3, 32, 32]`` to ``[2, 8, 4, 28, 28]``.
    """

    in_kind = "image"

    def __init__(
        self,
        group: Group,
        kernel_size: int,
        in_channels: int,
        out_channels: int,
        padding: Padding = 0,
        bias: bool = True,
        method: str = "auto",
    ) -> None:
        super().__init__(group, kernel_size, in_channels, out_channels, padding, bias, method)
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *self._spatial_shape()))
        self.reset_parameters()
        self._register_kernel_map("lifting")

    def _expand(self) -> Tensor:
        o, i, k, n = self.out_channels, self.in_channels, self.kernel_size, self.group.order
        bank = self._apply_map(self.weight.reshape(o * i, -1))
        # [O, I, |G|, k, k] -> [O, |G|, I, k, k]
        return bank.reshape(o, i, n, k, k).transpose(1, 2).reshape(o * n, i, k, k)

    def forward(self, x: Tensor) -> Tensor:
        _check_dtype(type(self).__name__, x, self.weight.dtype)
        if x.dim() != 4:
            raise ValueError(
                f"LiftingConvolution expects images [B, C_in={self.in_channels}, H, W] "
                f"(4 dimensions), got shape {list(x.shape)}"
            )
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"LiftingConvolution expects C_in={self.in_channels} input channels, "
                f"got {x.shape[1]} (input shape {list(x.shape)})"
            )
        self._check_spatial(x)
        y = self._conv(x)
        return y.reshape(x.shape[0], self.out_channels, self.group.order, *y.shape[-2:])


class GroupConvolution(_GroupConvBase):
    """Convolution on the group: ``[B, C_in, |G|, H, W] -> [B, C_out, |G|, H', W']``.

    The learned kernel lives on ``G x R²`` (``[C_out, C_in, |G|, k, k]``). For output element
    ``g`` it is moved spatially by ``g`` and its group axis is permuted by ``h -> g⁻¹ h`` (for
    ``C_N``, a cyclic shift): the "twist-shift". All ``|G|`` copies run as one ``conv2d`` over
    the flattened ``C_in * |G|`` input channels.

    Example: ``GroupConvolution(CyclicGroup(4), kernel_size=5, in_channels=8, out_channels=16)``
    maps ``[2, 8, 4, 28, 28]`` to ``[2, 16, 4, 24, 24]``. Arguments as in
    :class:`LiftingConvolution`.
    """

    in_kind = "regular"

    def __init__(
        self,
        group: Group,
        kernel_size: int,
        in_channels: int,
        out_channels: int,
        padding: Padding = 0,
        bias: bool = True,
        method: str = "auto",
    ) -> None:
        super().__init__(group, kernel_size, in_channels, out_channels, padding, bias, method)
        n, shape = group.order, self._spatial_shape()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, n, *shape))
        self.reset_parameters()  # fan-in C_in * |G| * k * k (steerable: * B), as a Conv2d
        self._register_kernel_map("group")

    def _expand(self) -> Tensor:
        o, i, k, n = self.out_channels, self.in_channels, self.kernel_size, self.group.order
        bank = self._apply_map(self.weight.reshape(o * i, -1))
        # [O, I, |G|_out, |G|_in, k, k] -> [O, |G|_out, I, |G|_in, k, k]
        return bank.reshape(o, i, n, n, k, k).transpose(1, 2).reshape(o * n, i * n, k, k)

    def forward(self, x: Tensor) -> Tensor:
        n = self.group.order
        _check_dtype(type(self).__name__, x, self.weight.dtype)
        if x.dim() != 5:
            raise ValueError(
                f"GroupConvolution expects feature maps [B, C_in={self.in_channels}, |G|={n}, H, W] "
                f"(5 dimensions), got shape {list(x.shape)}"
            )
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"GroupConvolution expects C_in={self.in_channels} input channels, "
                f"got {x.shape[1]} (input shape {list(x.shape)})"
            )
        if x.shape[2] != n:
            raise ValueError(
                f"GroupConvolution expects a group axis of size |G|={n} (dimension 2), "
                f"got {x.shape[2]} (input shape {list(x.shape)})"
            )
        self._check_spatial(x)
        y = self._conv(x.flatten(1, 2))
        return y.reshape(x.shape[0], self.out_channels, n, *y.shape[-2:])


class Restriction(nn.Module):
    """Regroup a feature map on ``G`` as feature maps on a subgroup ``H`` (no parameters).

    ``[B, C, |G|, H, W] -> [B, C * [G:H], |H|, H, W]``. Picking right-coset representatives
    ``c_1, ..., c_m`` (``m = [G:H] = |G| / |H|``), new channel ``(c, j)`` holds the old group
    channel ``h_j · c_c``. Every value is kept (it is a permutation), and the result is a regular
    feature map of ``H``: acting with ``h ∈ H`` before or after gives the same. For ``C8 -> C4``
    the 8-long group axis becomes 2 channels of a 4-long axis (even and odd rotations).
    """

    in_kind = "regular"
    out_kind = "regular"

    def __init__(self, group: Group, subgroup: Group) -> None:
        super().__init__()
        self.group = _check_group(group)
        self.subgroup = _check_group(subgroup)
        if not subgroup.is_subgroup_of(group):
            raise ValueError(f"{subgroup!r} is not a subgroup of {group!r}")
        inclusion = subgroup.embedding_into(group)  # index in G of each element of H
        table = group.cayley_table()
        reps, covered = [], set()
        for c in range(group.order):  # right cosets H c
            if c in covered:
                continue
            coset = table[inclusion, c]
            covered.update(coset.tolist())
            reps.append(coset)
        index = torch.stack(reps)  # [m, |H|]: index[c, j] = idx(h_j c)
        self.index_ratio = index.shape[0]
        self.register_buffer("index", index.reshape(-1), persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        n = self.group.order
        if x.dim() != 5 or x.shape[2] != n:
            raise ValueError(
                f"Restriction expects [B, C, |G|={n}, H, W], got shape {list(x.shape)}"
            )
        b, c, _, h, w = x.shape
        y = x.index_select(2, self.index)  # [B, C, m * |H|, H, W]
        return y.reshape(b, c * self.index_ratio, self.subgroup.order, h, w)

    def equivariance_error(self, x: Optional[Tensor] = None, method: str = "auto") -> Tensor:
        """Relative equivariance error under each element of the subgroup."""
        from .equivariance import equivariance_error

        return equivariance_error(self, x, method=method)

    def extra_repr(self) -> str:
        return f"{self.group.name} -> {self.subgroup.name}"


class GroupLayerNorm(nn.Module):
    """Layer norm over ``[C, |G|, H, W]`` with (optional) one scale and shift per channel.

    ``torch.nn.LayerNorm([C, |G|, H, W])`` learns a separate scale for every group element and
    pixel, which breaks equivariance once trained; sharing them per channel keeps it exact and
    lets the layer take any spatial size.
    """

    def __init__(self, channels: int, affine: bool = False, eps: float = 1e-5) -> None:
        super().__init__()
        self.channels = _check_positive_int("channels", channels)
        self.eps = eps
        self.weight = nn.Parameter(torch.empty(channels)) if affine else None
        self.bias = nn.Parameter(torch.empty(channels)) if affine else None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Scale 1 and shift 0 (with ``affine``; nothing to do without)."""
        if self.weight is not None:
            nn.init.ones_(self.weight)
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        dtype = self.weight.dtype if self.weight is not None else None
        if dtype is None and isinstance(x, Tensor) and x.is_floating_point():
            dtype = x.dtype  # no weights: any floating dtype will do
        _check_dtype(type(self).__name__, x, dtype or torch.get_default_dtype())
        if x.dim() < 3 or x.shape[1] != self.channels:
            raise ValueError(
                f"GroupLayerNorm expects [B, C={self.channels}, ...], got shape {list(x.shape)}"
            )
        y = F.layer_norm(x, x.shape[1:], eps=self.eps)
        if self.weight is not None:
            shape = (1, -1) + (1,) * (x.dim() - 2)
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y

    def extra_repr(self) -> str:
        return f"{self.channels}, affine={self.weight is not None}, eps={self.eps}"


class GroupBatchNorm(nn.Module):
    """Batch norm per channel over ``[B, |G|, H, W]``: statistics and scale shared by the group.

    ``[B, C, |G|, H, W] -> [B, C, |G|, H, W]`` (or any ``[B, C, ...]``). In training each channel
    is normalised by the mean and variance of all its values in the batch, on every group element
    and pixel; in ``eval()`` mode by running averages of them (``momentum``, as
    :class:`torch.nn.BatchNorm3d`). ``torch.nn.BatchNorm3d(C * |G|)`` on the flattened group axis
    would keep one mean, variance and scale per group element, which breaks equivariance once
    trained; shared per channel, a group element moving the feature map (rolling the group axis
    and turning the pixels) leaves every statistic unchanged, so the layer commutes with it, in
    training and in eval mode.

    Args:
        channels: ``C``.
        eps: added to the variance.
        momentum: weight of the newest batch in the running averages.
        affine: a learned scale and shift per channel (starting at 1 and 0).
    """

    def __init__(self, channels: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True) -> None:
        super().__init__()
        self.channels = _check_positive_int("channels", channels)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"momentum must be in [0, 1], got {momentum!r}")
        if not eps > 0:
            raise ValueError(f"eps must be positive, got {eps!r}")
        self.eps, self.momentum = float(eps), float(momentum)
        self.weight = nn.Parameter(torch.empty(channels)) if affine else None
        self.bias = nn.Parameter(torch.empty(channels)) if affine else None
        self.register_buffer("running_mean", torch.zeros(channels))
        self.register_buffer("running_var", torch.ones(channels))
        self.register_buffer("num_batches_tracked", torch.zeros((), dtype=torch.long))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Running mean 0 and variance 1, no batch seen; scale 1 and shift 0 (with ``affine``)."""
        self.running_mean.zero_()
        self.running_var.fill_(1.0)
        self.num_batches_tracked.zero_()
        if self.weight is not None:
            nn.init.ones_(self.weight)
            nn.init.zeros_(self.bias)

    def forward(self, x: Tensor) -> Tensor:
        _check_dtype(type(self).__name__, x, self.running_mean.dtype)
        if x.dim() < 3 or x.shape[1] != self.channels:
            raise ValueError(
                f"GroupBatchNorm expects [B, C={self.channels}, |G|, H, W] (or [B, C, ...]), "
                f"got shape {list(x.shape)}"
            )
        if self.training:
            if x.shape[0] * x[0, 0].numel() < 2:
                raise ValueError(
                    f"GroupBatchNorm needs more than one value per channel in training, got "
                    f"shape {list(x.shape)}; use a larger batch or input, or eval() mode"
                )
            self.num_batches_tracked.add_(1)
        # F.batch_norm treats every dimension after the channel one alike: the group axis is
        # pooled with batch and space, so each channel has one mean, variance, scale and shift.
        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                            self.training, self.momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.channels}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.weight is not None}")
