"""Networks: the group-equivariant CNN of the post and its plain-CNN twin.

Both follow the same recipe (Amsterdam DL2 tutorial, Keydana's post): a first convolution, then
``num_hidden`` more, each followed by layer norm and ReLU; then the mean over space (and the group
axis), and a linear layer to the logits. Both take ``[B, C_in, H, W]`` and return
``[B, out_channels]``, batch size 1 included. ``norm`` (:data:`NORMS`) swaps the layer norm for
a batch norm (per channel, shared over the group axis for the G-CNN) or drops it.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Union

import torch.nn.functional as F
from torch import Tensor, nn

from .groups import Group, check_group_sequence
from .layers import (
    GroupBatchNorm,
    GroupConvolution,
    GroupLayerNorm,
    LiftingConvolution,
    Restriction,
    _check_dtype,
    _check_positive_int,
)

__all__ = ["NORMS", "GroupEquivariantCNN", "CNN"]

#: The normalisations after each convolution: ``"layer"`` (the post's: each sample over all its
#: channels, group elements and pixels, no learned scale), ``"batch"`` (per channel over the
#: batch, group elements and pixels, with a learned scale and shift:
#: :class:`~gcnn.layers.GroupBatchNorm`; :class:`torch.nn.BatchNorm2d` in the CNN), ``"none"``.
NORMS = ("layer", "batch", "none")


def _check_norm(norm) -> str:
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    return norm


def _group_norm(norm: str, channels: int) -> nn.Module:
    """The G-CNN's normalisation after a convolution with ``channels`` output channels."""
    if norm == "layer":
        return GroupLayerNorm(channels)
    return GroupBatchNorm(channels) if norm == "batch" else nn.Identity()


def _per_layer(name: str, value, count: int) -> List[int]:
    if isinstance(value, int):
        return [_check_positive_int(name, value)] * count
    values = list(value)
    if len(values) != count:
        raise ValueError(f"{name} needs {count} values (one per convolution), got {len(values)}")
    return [_check_positive_int(f"{name}[{i}]", v) for i, v in enumerate(values)]


def _check_cnn_padding(padding) -> Union[int, str]:
    if padding in ("same", "valid"):
        return padding
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(
            f"padding must be a non-negative int, 'same' or 'valid', got {padding!r}"
        )
    return padding


def _shrink(kernel_size: int, padding: Union[int, str]) -> int:
    """Pixels one convolution takes off each spatial side length (0 or less: none)."""
    if padding == "same":
        return 0
    return kernel_size - 1 - 2 * (0 if padding == "valid" else padding)


def _check_image(model: nn.Module, x: Tensor, padding: Union[int, str], n_convs: int) -> None:
    """Refuse, with a sentence, an input the model cannot take: dtype, shape, size."""
    name, c = type(model).__name__, model.in_channels
    _check_dtype(name, x, next(model.parameters()).dtype)
    if x.dim() != 4 or x.shape[1] != c:
        hint = ""
        if x.dim() == 3 and x.shape[0] == c:
            hint = "; one image [C, H, W]? x.unsqueeze(0) makes it a batch of one"
        raise ValueError(
            f"{name} expects images [B, C_in={c}, H, W], got shape {list(x.shape)}{hint}"
        )
    shrink = _shrink(model.kernel_size, padding)
    smallest = 1 + n_convs * max(shrink, 0)
    h, w = x.shape[-2:]
    if h < smallest or w < smallest:
        raise ValueError(
            f"{name} needs images of at least {smallest}x{smallest} pixels: its {n_convs} "
            f"convolutions of {model.kernel_size}x{model.kernel_size} with padding {padding!r} "
            f"each take {shrink} pixels off; got {h}x{w}. Resize or pad the input, or build the "
            f"model with padding='same'"
        )


class GroupEquivariantCNN(nn.Module):
    """A G-CNN: lifting convolution, ``num_hidden`` group convolutions, invariant pooling, linear.

    ``[B, C_in, H, W] -> [B, out_channels]``; the logits are invariant to the group (exactly, for
    90° rotations and flips).

    Args:
        group: one :class:`~gcnn.groups.Group` for every layer, or a sequence of
            ``num_hidden + 1`` groups (the lifting convolution's first), each a subgroup of the one
            before (``C8, C8, C4, C4, C1`` say). Between two different groups a parameter-free
            :class:`~gcnn.layers.Restriction` regroups the feature map, multiplying its channels by
            the index ``[G:H]``.
        kernel_size: kernel side of every convolution.
        in_channels: input image channels.
        out_channels: number of logits.
        num_hidden: number of group convolutions after the lifting one.
        hidden_channels: channels of each convolution's output (an int, or one per convolution).
        padding: zero padding of every convolution (int or ``"same"``).
        method: how kernels are moved (``"auto"``, ``"exact"``, ``"interpolate"``,
            ``"steerable"``).
        bias: learned biases in the convolutions (the tutorial has none: its GCNN has 102,970
            parameters for C4, 16 hidden channels).
        norm: the normalisation after each convolution (:data:`NORMS`): ``"layer"`` (the
            post's, :class:`~gcnn.layers.GroupLayerNorm`), ``"batch"``
            (:class:`~gcnn.layers.GroupBatchNorm`, 2 parameters per channel) or ``"none"``.
            All three keep the network equivariant.

    Example:
        >>> model = GroupEquivariantCNN(CyclicGroup(4), kernel_size=5, in_channels=1,
        ...                             out_channels=10, num_hidden=4, hidden_channels=16)
    """

    in_kind = "image"
    out_kind = "invariant"

    def __init__(
        self,
        group: Union[Group, Sequence[Group]],
        kernel_size: int,
        in_channels: int,
        out_channels: int,
        num_hidden: int,
        hidden_channels: Union[int, Sequence[int]],
        padding: Union[int, str] = 0,
        method: str = "auto",
        bias: bool = False,
        norm: str = "layer",
    ) -> None:
        super().__init__()
        self.norm = _check_norm(norm)
        if isinstance(num_hidden, bool) or not isinstance(num_hidden, int) or num_hidden < 0:
            raise ValueError(f"num_hidden must be a non-negative int, got {num_hidden!r}")
        n_convs = num_hidden + 1
        if isinstance(group, Group):
            groups = [group] * n_convs
        elif isinstance(group, (list, tuple)):
            if len(group) != n_convs:
                raise ValueError(
                    f"a sequence of groups needs one per convolution: num_hidden + 1 = {n_convs}, "
                    f"got {len(group)}"
                )
            groups = list(group)
        else:
            raise TypeError(
                f"group must be a gcnn Group or a list of them, got {type(group).__name__}"
            )
        groups = check_group_sequence(groups)
        channels = _per_layer("hidden_channels", hidden_channels, n_convs)
        self.in_channels = _check_positive_int("in_channels", in_channels)
        self.out_channels = _check_positive_int("out_channels", out_channels)
        self.kernel_size = kernel_size
        self.num_hidden = num_hidden

        self.lifting_conv = LiftingConvolution(
            groups[0], kernel_size, in_channels, channels[0], padding, bias, method
        )
        self.lifting_norm = _group_norm(norm, channels[0])
        self.restrictions = nn.ModuleList()
        self.gconvs = nn.ModuleList()
        self.norms = nn.ModuleList()
        c = channels[0]
        for i in range(1, n_convs):
            if groups[i] is groups[i - 1] or _same_elements(groups[i], groups[i - 1]):
                self.restrictions.append(nn.Identity())
            else:
                r = Restriction(groups[i - 1], groups[i])
                self.restrictions.append(r)
                c *= r.index_ratio
            self.gconvs.append(
                GroupConvolution(groups[i], kernel_size, c, channels[i], padding, bias, method)
            )
            self.norms.append(_group_norm(norm, channels[i]))
            c = channels[i]
        self.final_linear = nn.Linear(c, out_channels)

    def reset_parameters(self) -> None:
        """Draw every parameter afresh, as the constructor did (same order, same numbers for a
        seed): each layer's own ``reset_parameters``."""
        _reset_children(self)

    @property
    def group(self) -> Group:
        """The group of the last convolution: the whole network is equivariant to it."""
        return self.gconvs[-1].group if len(self.gconvs) else self.lifting_conv.group

    @property
    def layer_groups(self) -> List[Group]:
        """The group of each convolution, lifting first."""
        return [self.lifting_conv.group] + [g.group for g in self.gconvs]

    def features(self, x: Tensor) -> List[Tensor]:
        """Every convolution's output after norm and ReLU: a list of ``[B, C, |G|, H, W]``."""
        _check_image(self, x, self.lifting_conv.padding, 1 + len(self.gconvs))
        x = F.relu(self.lifting_norm(self.lifting_conv(x)))
        out = [x]
        for restrict, gconv, norm in zip(self.restrictions, self.gconvs, self.norms):
            x = F.relu(norm(gconv(restrict(x))))
            out.append(x)
        return out

    def forward(self, x: Tensor) -> Tensor:
        x = self.features(x)[-1]
        return self.final_linear(x.mean(dim=(2, 3, 4)))

    def equivariance_error(self, x: Optional[Tensor] = None, method: str = "auto") -> Tensor:
        """Relative change of the logits under each element of :attr:`group`."""
        from .equivariance import equivariance_error

        return equivariance_error(self, x, group=self.group, method=method)

    def extra_repr(self) -> str:
        names = " -> ".join(g.name for g in self.layer_groups)
        return f"groups: {names}"


def _reset_children(model: nn.Module) -> None:
    for module in model.modules():
        if module is not model and hasattr(module, "reset_parameters"):
            module.reset_parameters()


def _same_elements(a: Group, b: Group) -> bool:
    return type(a) is type(b) and a.order == b.order


class CNN(nn.Module):
    """The plain CNN baseline with the same recipe: conv, ``num_hidden`` convs, pooling, linear.

    ``[B, C_in, H, W] -> [B, out_channels]``. With ``hidden_channels=32`` it has 103,690
    parameters, about as many as the C4 ``GroupEquivariantCNN`` with 16 (102,970). ``norm``
    (:data:`NORMS`): layer norm over ``[C, H, W]`` (the post's), :class:`torch.nn.BatchNorm2d`,
    or none.
    """

    in_kind = "image"
    out_kind = "invariant"

    def __init__(
        self,
        kernel_size: int,
        in_channels: int,
        out_channels: int,
        num_hidden: int,
        hidden_channels: int,
        padding: Union[int, str] = 0,
        norm: str = "layer",
    ) -> None:
        super().__init__()
        self.norm = _check_norm(norm)
        self.kernel_size = _check_positive_int("kernel_size", kernel_size)
        self.padding = _check_cnn_padding(padding)
        self.in_channels = _check_positive_int("in_channels", in_channels)
        self.out_channels = _check_positive_int("out_channels", out_channels)
        _check_positive_int("hidden_channels", hidden_channels)
        if isinstance(num_hidden, bool) or not isinstance(num_hidden, int) or num_hidden < 0:
            raise ValueError(f"num_hidden must be a non-negative int, got {num_hidden!r}")
        self.first_conv = nn.Conv2d(in_channels, hidden_channels, kernel_size, padding=padding)
        self.convs = nn.ModuleList(
            nn.Conv2d(hidden_channels, hidden_channels, kernel_size, padding=padding)
            for _ in range(num_hidden)
        )
        # The post's layer norm has no parameters and stays a function (the module tree and
        # state dict of the post's CNN are unchanged); batch norm is one module per convolution.
        self.norms = nn.ModuleList(
            nn.BatchNorm2d(hidden_channels) for _ in range(num_hidden + 1 if norm == "batch" else 0)
        )
        self.final_linear = nn.Linear(hidden_channels, out_channels)

    def reset_parameters(self) -> None:
        """Draw every parameter afresh, as the constructor did (same order, same numbers for a
        seed): each layer's own ``reset_parameters``."""
        _reset_children(self)

    def _normalise(self, i: int, x: Tensor) -> Tensor:
        if self.norm == "layer":
            return F.layer_norm(x, x.shape[1:])
        return self.norms[i](x) if self.norm == "batch" else x

    def features(self, x: Tensor) -> List[Tensor]:
        """Every convolution's output after norm and ReLU: a list of ``[B, C, H, W]``."""
        _check_image(self, x, self.padding, 1 + len(self.convs))
        out = []
        for i, conv in enumerate([self.first_conv, *self.convs]):
            x = conv(x)
            x = F.relu(self._normalise(i, x))
            out.append(x)
        return out

    def forward(self, x: Tensor) -> Tensor:
        return self.final_linear(self.features(x)[-1].mean(dim=(2, 3)))
