"""Models from plain data: group names, model configs and group schedules.

* :func:`parse_group`, :func:`parse_groups`, :func:`parse_schedule`: the one reader of group
  names: ``"C4"`` -> ``CyclicGroup(4)``, ``"D4"`` -> ``DihedralGroup(4)``, ``"C8,C8,C4,C4,C1"``
  -> one group per convolution (lifting first).
* :func:`model_config`, :func:`build_model_from_config`, :func:`build_model`: the post's CNN or
  G-CNN from a small dictionary that checkpoints store (the recipe's defaults are the constants
  below).
* :func:`schedule_channels`, :func:`build_schedule`: a G-CNN with one group per convolution,
  each a subgroup of the one before ("flexible at the bottom, restrained at the top"), with
  hidden channels chosen so that ``hidden_channels x |G|`` stays near a budget;
  :func:`schedule_report` builds one and measures it (or says why it cannot be built).
"""

from __future__ import annotations

import math
from typing import Dict, List, NamedTuple, Optional, Sequence, Union

import torch
from torch import Tensor, nn

from .equivariance import equivariance_error
from .groups import CyclicGroup, DihedralGroup, Group, check_group_sequence
from .metrics import count_macs, count_parameters
from .models import CNN, NORMS, GroupEquivariantCNN

__all__ = [
    "MODELS",
    "DEFAULT_KERNEL_SIZE",
    "DEFAULT_NUM_HIDDEN",
    "DEFAULT_HIDDEN_CHANNELS",
    "DEFAULT_CHANNEL_BUDGET",
    "DEFAULT_NORM",
    "GROUP_CHOICES",
    "parse_group",
    "parse_groups",
    "parse_schedule",
    "model_config",
    "build_model_from_config",
    "build_model",
    "schedule_channels",
    "build_schedule",
    "ScheduleReport",
    "schedule_report",
]

MODELS = ("cnn", "gcnn")
#: The post's recipe: kernel side of every convolution, and convolutions after the first.
DEFAULT_KERNEL_SIZE = 5
DEFAULT_NUM_HIDDEN = 4
#: Hidden channels of the post's recipe: about the same parameter count (103k) for both.
DEFAULT_HIDDEN_CHANNELS = {"gcnn": 16, "cnn": 32}
#: ``hidden_channels x |G|`` of the C4 G-CNN (16 x 4): the width a schedule's layers aim at.
DEFAULT_CHANNEL_BUDGET = 64
#: The post's normalisation after each convolution (see :data:`gcnn.models.NORMS`).
DEFAULT_NORM = "layer"
#: The groups offered for each layer of a schedule (the schedule widget's dropdowns).
GROUP_CHOICES = ("C1", "C2", "C4", "C8", "C16", "D1", "D2", "D4")

GroupSpec = Union[str, Sequence[Union[str, Group]]]


# -- group names -------------------------------------------------------------------------------
def parse_group(name: str) -> Group:
    """``"C4"`` -> ``CyclicGroup(4)``, ``"D8"`` -> ``DihedralGroup(8)`` (C1..C16, D1..D8 and up)."""
    text = str(name).strip().upper()
    if len(text) < 2 or text[0] not in "CD" or not text[1:].isdigit() or int(text[1:]) < 1:
        raise ValueError(
            f"a group name is C<N> or D<N> (C: rotations, e.g. C4; D: rotations and flips, "
            f"e.g. D4) with N >= 1, got {name!r}"
        )
    n = int(text[1:])
    return CyclicGroup(order=n) if text[0] == "C" else DihedralGroup(order=n)


def _group_names(spec: GroupSpec) -> List[Union[str, Group]]:
    """``"C8, C8,c4"`` or a list -> ``["C8", "C8", "C4"]`` (groups in a list are kept)."""
    items = spec.replace(" ", "").split(",") if isinstance(spec, str) else list(spec)
    return [g if isinstance(g, Group) else str(g).strip().upper() for g in items if g != ""]


def _group_spec(spec: GroupSpec) -> str:
    """The canonical text of a group spec, ``"C8,C8,C4"``, after checking every name."""
    names = _group_names(spec)
    for n in names:
        parse_group(n)  # validate
    if not names:
        raise ValueError("a group spec needs at least one group, e.g. 'C4'")
    return ",".join(names)


def parse_groups(spec: GroupSpec) -> Union[Group, List[Group]]:
    """``"C4"`` -> one group; ``"C8,C8,C4,C4,C1"`` -> one per convolution (lifting first)."""
    names = _group_spec(spec).split(",")
    if len(names) == 1:
        return parse_group(names[0])
    made: Dict[str, Group] = {}
    return [made.setdefault(n, parse_group(n)) for n in names]


def parse_schedule(schedule: GroupSpec) -> List[Group]:
    """``"C8,C8,C4,C4,C1"`` (or a list of names or groups) -> a list of groups, lifting first.

    Only the names are checked here; :func:`build_schedule` also checks that each group is a
    subgroup of the one before.
    """
    groups = [g if isinstance(g, Group) else parse_group(g) for g in _group_names(schedule)]
    if not groups:
        raise ValueError("a schedule needs at least one group")
    return groups


# -- the post's models -------------------------------------------------------------------------
def model_config(
    name: str,
    group: Union[str, Sequence[str], None] = "C4",
    kernel_size: int = DEFAULT_KERNEL_SIZE,
    num_hidden: int = DEFAULT_NUM_HIDDEN,
    hidden_channels: Union[int, Sequence[int], None] = None,
    method: str = "auto",
    in_channels: int = 1,
    out_channels: int = 10,
    norm: str = DEFAULT_NORM,
) -> dict:
    """The plain-data description of a model that :func:`build_model_from_config` rebuilds.

    ``hidden_channels=None`` takes the recipe's value (:data:`DEFAULT_HIDDEN_CHANNELS`). For the
    CNN the group and method are not used and are stored as ``None``. ``norm`` is stored only
    when it is not the post's (:data:`DEFAULT_NORM`), so every config written before the
    setting existed still describes its model, and the post's models keep their configs.
    """
    if name not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {name!r}")
    if norm not in NORMS:
        raise ValueError(f"norm must be one of {NORMS}, got {norm!r}")
    if hidden_channels is None:
        hidden_channels = DEFAULT_HIDDEN_CHANNELS[name]
    elif not isinstance(hidden_channels, int):
        hidden_channels = [int(c) for c in hidden_channels]
        if name == "cnn":
            raise ValueError("the CNN takes a single hidden_channels value, got a list")
    cfg = {
        "model": name,
        "group": None,
        "method": None,
        "kernel_size": int(kernel_size),
        "num_hidden": int(num_hidden),
        "hidden_channels": hidden_channels,
        "in_channels": int(in_channels),
        "out_channels": int(out_channels),
    }
    if name == "gcnn":
        if group is None:
            raise ValueError("the gcnn model needs a group, e.g. group='C4'")
        cfg["group"] = _group_spec(group)
        cfg["method"] = method
    if norm != DEFAULT_NORM:
        cfg["norm"] = norm
    return cfg


def build_model_from_config(cfg: dict) -> nn.Module:
    """Build a freshly initialised model from a :func:`model_config` dictionary.

    A config without ``"norm"`` has the post's layer norm (:data:`DEFAULT_NORM`).
    """
    need = {"model", "group", "method", "kernel_size", "num_hidden", "hidden_channels",
            "in_channels", "out_channels"}
    if not isinstance(cfg, dict) or not need <= set(cfg):
        missing = sorted(need - set(cfg)) if isinstance(cfg, dict) else sorted(need)
        raise ValueError(f"a model config needs the keys {sorted(need)}; missing {missing}")
    common = dict(
        kernel_size=cfg["kernel_size"], in_channels=cfg["in_channels"],
        out_channels=cfg["out_channels"], num_hidden=cfg["num_hidden"],
        hidden_channels=cfg["hidden_channels"], norm=cfg.get("norm", DEFAULT_NORM),
    )
    if cfg["model"] == "cnn":
        model = CNN(**common)
    elif cfg["model"] == "gcnn":
        model = GroupEquivariantCNN(parse_groups(cfg["group"]), method=cfg["method"], **common)
    else:
        raise ValueError(f"model must be one of {MODELS}, got {cfg['model']!r}")
    model.config = dict(cfg)
    return model


def build_model(name: str, group="C4", kernel_size: int = DEFAULT_KERNEL_SIZE,
                num_hidden: int = DEFAULT_NUM_HIDDEN, hidden_channels=None,
                method: str = "auto", in_channels: int = 1, out_channels: int = 10,
                norm: str = DEFAULT_NORM) -> nn.Module:
    """The post's CNN (``"cnn"``) or G-CNN (``"gcnn"``), with the recipe's defaults.

    Takes ``[B, 1, 28, 28]`` images in ``[0, 1]`` and returns ``[B, 10]`` logits. The plain-data
    config is kept on the model as ``model.config``.

    >>> build_model("gcnn", group="C4")          # 102,970 parameters
    >>> build_model("gcnn", group="C8,C8,C4,C4,C1")  # one group per convolution
    >>> build_model("cnn")                         # 103,690 parameters
    """
    return build_model_from_config(model_config(
        name, group, kernel_size, num_hidden, hidden_channels, method, in_channels, out_channels,
        norm))


# -- schedules: one group per convolution ------------------------------------------------------
def schedule_channels(groups: Sequence[Group], budget: int = DEFAULT_CHANNEL_BUDGET) -> List[int]:
    """Hidden channels per layer so that ``channels x |G|`` is about ``budget`` (at least 1).

    ``C8, C8, C4, C4, C1`` with ``budget=64`` gives ``8, 8, 16, 16, 64``: every convolution then
    runs a ``conv2d`` about 64 channels wide, like the ``C4`` network with 16 channels.
    """
    if budget < 1:
        raise ValueError(f"budget must be positive, got {budget}")
    return [max(1, round(budget / g.order)) for g in groups]


def build_schedule(
    schedule: GroupSpec,
    hidden_channels: Union[int, Sequence[int], None] = None,
    budget: int = DEFAULT_CHANNEL_BUDGET,
    kernel_size: int = DEFAULT_KERNEL_SIZE,
    in_channels: int = 1,
    out_channels: int = 10,
    seed: Optional[int] = 0,
    **kwargs,
) -> GroupEquivariantCNN:
    """A :class:`~gcnn.models.GroupEquivariantCNN` with one group per convolution.

    Args:
        schedule: the groups, lifting convolution first (``"C8,C8,C4,C4,C1"`` or a list); its
            length sets ``num_hidden = len(schedule) - 1``.
        hidden_channels: an int or one per layer; by default :func:`schedule_channels` of
            ``budget``.
        budget: the target ``hidden_channels x |G|`` when ``hidden_channels`` is not given.
        kernel_size, in_channels, out_channels: as in ``GroupEquivariantCNN``.
        seed: seeds the random initial weights (``None``: the global generator as it is).
        **kwargs: passed on (``padding``, ``method``, ``bias``).

    Raises:
        ValueError: an unknown group name, or a group that is not a subgroup of the one before
            (the message names both).
    """
    groups = check_group_sequence(parse_schedule(schedule))
    if hidden_channels is None:
        hidden_channels = schedule_channels(groups, budget)
    if seed is not None:
        torch.manual_seed(seed)
    return GroupEquivariantCNN(groups, kernel_size, in_channels, out_channels,
                               num_hidden=len(groups) - 1, hidden_channels=hidden_channels,
                               **kwargs)


def _has_angle(group: Group, degrees: float) -> bool:
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    target = torch.tensor([[c, -s], [s, c]], dtype=torch.float64).reshape(1, 4)
    mats = group.matrix_representation(group.elements()).reshape(-1, 4).double()
    return bool((torch.cdist(target, mats).min() < 1e-4))


def _invariant_to(group: Group) -> str:
    """Which quarter turns (and mirrors) a network whose last group is ``group`` ignores."""
    turns = [k * 90 for k in (1, 2, 3) if _has_angle(group, k * 90)]
    if len(turns) == 3:
        text = "all quarter turns"
    elif turns:
        text = " and ".join(f"{t}°" for t in turns)
    else:
        text = "no turn"
    if isinstance(group, DihedralGroup):
        text += " + a mirror"
    return text


class ScheduleReport(NamedTuple):
    """What :func:`schedule_report` found out about one schedule."""

    schedule: str  #: the names, "C8 → C8 → C4 → C4 → C1"
    valid: bool  #: every group a subgroup of the one before
    message: str  #: the error text when invalid, else ""
    hidden_channels: Optional[List[int]]
    params: Optional[int]
    macs: Optional[int]  #: multiply-accumulates per 28x28 image
    errors: Optional[List[float]]  #: relative change of the logits for 90°, 180°, 270°
    invariant_to: Optional[str]  #: what the last group makes the logits ignore


def schedule_report(
    schedule: GroupSpec,
    x: Optional[Tensor] = None,
    budget: int = DEFAULT_CHANNEL_BUDGET,
    hidden_channels: Union[int, Sequence[int], None] = None,
    macs: bool = True,
    seed: int = 0,
    kernel_size: int = DEFAULT_KERNEL_SIZE,
) -> ScheduleReport:
    """Build a schedule's (untrained) network and measure it, or say why it cannot be built.

    Args:
        schedule: as in :func:`build_schedule`.
        x: the test input ``[B, 1, H, W]`` (by default a seeded random ``[2, 1, 28, 28]``).
        budget, hidden_channels: as in :func:`build_schedule`.
        macs: count the multiply-accumulates per 28x28 image (one more forward pass).
        seed: seeds the weights.
        kernel_size: kernel side of every convolution.

    Returns:
        A :class:`ScheduleReport`; ``errors`` holds ``‖f(g·x) − f(x)‖ / ‖f(x)‖`` of the logits for
        the quarter turns ``g`` = 90°, 180°, 270° (exact pixel permutations), so an error at
        round-off level (~1e-7) means the network ignores that turn.
    """
    try:
        groups = parse_schedule(schedule)
    except ValueError as err:
        return ScheduleReport(str(schedule), False, str(err), None, None, None, None, None)
    label = " → ".join(g.name for g in groups)
    try:
        model = build_schedule(groups, hidden_channels, budget, kernel_size, seed=seed)
    except ValueError as err:
        return ScheduleReport(label, False, str(err), None, None, None, None, None)
    model.eval()
    if x is None:
        x = torch.rand(2, 1, 28, 28, generator=torch.Generator().manual_seed(seed))
    if x.dim() != 4 or x.shape[1] != 1:
        raise ValueError(f"x must be images [B, 1, H, W], got shape {list(x.shape)}")
    errs = equivariance_error(model, x, group=CyclicGroup(order=4))[1:].tolist()
    n_macs = sum(r.macs for r in count_macs(model, [1, 28, 28])) if macs else None
    channels = [model.lifting_conv.out_channels] + [g.out_channels for g in model.gconvs]
    return ScheduleReport(label, True, "", channels, count_parameters(model),
                          n_macs, errs, _invariant_to(groups[-1]))
