"""When full invariance hurts: 6/9 confusions, and networks with a different group per layer.

Helpers for the last chapter of the book.

* :func:`predict`, :func:`confusion_matrix`, :func:`six_nine_confusion` measure how often a
  classifier mixes up 6 and 9 (a ``C4``-invariant network cannot see the difference between a 6
  and a 6 turned by 180°, which looks like a 9); :func:`plot_confusion` and
  :func:`plot_six_nine` draw the matrix and the digits.
* A *schedule* is one group per convolution, each a subgroup of the one before
  (``C8, C8, C4, C4, C1``): "flexible at the bottom, restrained at the top".
  :func:`build_schedule` makes the :class:`~gcnn.models.GroupEquivariantCNN`, with hidden channels
  chosen so that ``hidden_channels x |G|`` stays near a budget; :func:`schedule_report` says
  whether a schedule is valid and measures its logits' change under the quarter turns;
  :func:`schedule_table` lists several as a markdown table (the static page's version of
  :func:`schedule_widget`, a live panel with one dropdown per layer that needs a kernel).

ipywidgets is imported inside :func:`schedule_widget` only.
"""

from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional, Sequence, Union

import torch
from torch import Tensor, nn

from .equivariance import equivariance_error
from .groups import CyclicGroup, DihedralGroup, Group, check_group_sequence
from .models import GroupEquivariantCNN

__all__ = [
    "GROUP_CHOICES",
    "predict",
    "confusion_matrix",
    "confusion_counts",
    "six_nine_confusion",
    "plot_confusion",
    "plot_six_nine",
    "parse_schedule",
    "schedule_channels",
    "build_schedule",
    "ScheduleReport",
    "schedule_report",
    "schedule_table",
    "schedule_widget",
]

#: The groups offered for each layer of a schedule (the widget's dropdowns).
GROUP_CHOICES = ("C1", "C2", "C4", "C8", "C16", "D1", "D2", "D4")


# -- confusions -------------------------------------------------------------------------------
@torch.no_grad()
def predict(model: nn.Module, x: Tensor, batch_size: int = 1000) -> Tensor:
    """Predicted classes of ``model`` for images ``x [N, C, H, W]``: a long tensor ``[N]``.

    Runs in batches with gradients off; the model is put in ``eval()`` mode (and left there).
    """
    if x.dim() != 4:
        raise ValueError(f"predict expects images [N, C, H, W], got shape {list(x.shape)}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    model.eval()
    p = next(iter(model.parameters()), None)
    device = p.device if p is not None else x.device
    out = [model(x[i : i + batch_size].to(device)).argmax(dim=1).cpu()
           for i in range(0, x.shape[0], batch_size)]
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


def confusion_matrix(model: nn.Module, x: Tensor, y: Tensor, num_classes: int = 10,
                     batch_size: int = 1000) -> Tensor:
    """Count how often each true class is predicted as each class.

    Args:
        model: a classifier ``[B, C, H, W] -> [B, num_classes]``.
        x: images ``[N, C, H, W]``.
        y: true labels ``[N]`` (integers in ``[0, num_classes)``).
        num_classes: number of classes.
        batch_size: images per forward pass.

    Returns:
        A long tensor ``[num_classes, num_classes]``: entry ``[t, p]`` is the number of images of
        class ``t`` predicted as ``p`` (rows: truth, columns: prediction; it sums to ``N``).
    """
    if y.dim() != 1 or y.shape[0] != x.shape[0]:
        raise ValueError(
            f"labels must be [N={x.shape[0]}] to match the images, got shape {list(y.shape)}"
        )
    return confusion_counts(y, predict(model, x, batch_size), num_classes)


def confusion_counts(y: Tensor, pred: Tensor, num_classes: int = 10) -> Tensor:
    """The confusion matrix ``[num_classes, num_classes]`` of labels ``y [N]`` and predictions
    ``pred [N]`` (rows: truth, columns: prediction), for predictions already computed."""
    y, pred = y.long().cpu().reshape(-1), pred.long().cpu().reshape(-1)
    if y.shape != pred.shape:
        raise ValueError(f"labels [N={y.shape[0]}] and predictions [N={pred.shape[0]}] differ "
                         f"in length")
    for name, t in (("labels", y), ("predictions", pred)):
        if t.numel() and (t.min() < 0 or t.max() >= num_classes):
            raise ValueError(f"{name} must lie in [0, {num_classes}), got "
                             f"{int(t.min())}..{int(t.max())}")
    return torch.bincount(y * num_classes + pred, minlength=num_classes ** 2).reshape(
        num_classes, num_classes)


def six_nine_confusion(cm: Tensor) -> Dict[str, float]:
    """The numbers of the 6/9 problem in a confusion matrix (from :func:`confusion_matrix`).

    Returns:
        A dict with ``accuracy`` (all classes), ``six_as_nine`` (the fraction of true 6s predicted
        as 9), ``nine_as_six`` (of true 9s predicted as 6), ``six_correct``, ``nine_correct``
        (fractions in ``[0, 1]``), and the counts ``sixes``, ``nines``, ``total``.
    """
    if cm.dim() != 2 or cm.shape[0] != cm.shape[1] or cm.shape[0] < 10:
        raise ValueError(f"expected a square confusion matrix with at least 10 classes, got "
                         f"shape {list(cm.shape)}")
    cm = cm.double()
    total, sixes, nines = cm.sum(), cm[6].sum(), cm[9].sum()

    def frac(a, b) -> float:
        return float(a / b) if b > 0 else float("nan")

    return {
        "accuracy": frac(cm.diagonal().sum(), total),
        "six_as_nine": frac(cm[6, 9], sixes),
        "nine_as_six": frac(cm[9, 6], nines),
        "six_correct": frac(cm[6, 6], sixes),
        "nine_correct": frac(cm[9, 9], nines),
        "sixes": int(sixes),
        "nines": int(nines),
        "total": int(total),
    }


def plot_confusion(cm: Tensor, title: Optional[str] = None, ax=None, highlight=(6, 9)):
    """Draw a confusion matrix as a heatmap, as percentages of each true class (each row).

    Off-diagonal cells are coloured on their own scale (the diagonal would dwarf them); the
    cells ``[6, 9]`` and ``[9, 6]`` (``highlight``) are framed. Returns the axes.
    """
    import matplotlib.pyplot as plt

    cm = cm.detach().double().cpu()
    n = cm.shape[0]
    rows = cm.sum(dim=1, keepdim=True).clamp_min(1)
    pct = 100 * cm / rows
    off = pct.clone()
    off.fill_diagonal_(0)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.2, 4.0), constrained_layout=True)
    im = ax.imshow(off.numpy(), cmap="Reds", vmin=0, vmax=max(float(off.max()), 1.0))
    for t in range(n):
        for p in range(n):
            v = float(pct[t, p])
            if t == p or v >= 0.5:
                ax.text(p, t, f"{v:.0f}", ha="center", va="center", fontsize=7,
                        color="0.35" if t == p else ("white" if v > 0.6 * float(off.max())
                                                     else "black"))
    for a, b in [tuple(highlight), tuple(highlight)[::-1]]:
        ax.add_patch(plt.Rectangle((b - 0.5, a - 0.5), 1, 1, fill=False, lw=1.8, color="navy"))
    ax.set_xticks(range(n))
    ax.set_yticks(range(n))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true digit")
    if title:
        ax.set_title(title, fontsize=10)
    ax.figure.colorbar(im, ax=ax, shrink=0.8, label="% of the true digit (off-diagonal)")
    return ax


def plot_six_nine(x: Tensor, y: Tensor, count: int = 5, cell: float = 0.95):
    """Real 6s and 9s, each row next to the other digit turned by 180°.

    Rows: the first ``count`` 6s of ``(x, y)``; the first ``count`` 9s turned by 180°; the 9s
    upright; the 6s turned by 180°. Turning is exact (``torch.rot90`` twice). Returns the figure.
    """
    import matplotlib.pyplot as plt

    sixes = x[y == 6][:count]
    nines = x[y == 9][:count]
    if sixes.shape[0] < count or nines.shape[0] < count:
        raise ValueError(f"need {count} sixes and nines, found {sixes.shape[0]} and "
                         f"{nines.shape[0]}")
    turn = lambda im: torch.rot90(im, 2, dims=(-2, -1))  # noqa: E731  (180°: exact)
    rows = [(sixes, "6"), (turn(nines), "9 turned 180°"), (nines, "9"),
            (turn(sixes), "6 turned 180°")]
    fig, axes = plt.subplots(len(rows), count, figsize=(cell * count + 1.4, cell * len(rows)),
                             squeeze=False, constrained_layout=True)
    for r, (imgs, label) in enumerate(rows):
        for c in range(count):
            ax = axes[r, c]
            ax.imshow(imgs[c, 0].numpy(), cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(label, fontsize=9, rotation=0, ha="right", va="center")
    return fig


# -- schedules --------------------------------------------------------------------------------
def _group_from_name(name: str) -> Group:
    text = str(name).strip().upper()
    if len(text) < 2 or text[0] not in "CD" or not text[1:].isdigit() or int(text[1:]) < 1:
        raise ValueError(f"a group is written C<N> or D<N> (e.g. C4, D4), got {name!r}")
    n = int(text[1:])
    return CyclicGroup(order=n) if text[0] == "C" else DihedralGroup(order=n)


def parse_schedule(schedule: Union[str, Sequence[Union[str, Group]]]) -> List[Group]:
    """``"C8,C8,C4,C4,C1"`` (or a list of names or groups) -> a list of groups, lifting first.

    Only the names are checked here; :func:`build_schedule` also checks that each group is a
    subgroup of the one before.
    """
    if isinstance(schedule, str):
        schedule = [s for s in schedule.replace(" ", "").split(",") if s]
    groups = [g if isinstance(g, Group) else _group_from_name(g) for g in schedule]
    if not groups:
        raise ValueError("a schedule needs at least one group")
    return groups


def schedule_channels(groups: Sequence[Group], budget: int = 64) -> List[int]:
    """Hidden channels per layer so that ``channels x |G|`` is about ``budget`` (at least 1).

    ``C8, C8, C4, C4, C1`` with ``budget=64`` gives ``8, 8, 16, 16, 64``: every convolution then
    runs a ``conv2d`` about 64 channels wide, like the ``C4`` network with 16 channels.
    """
    if budget < 1:
        raise ValueError(f"budget must be positive, got {budget}")
    return [max(1, round(budget / g.order)) for g in groups]


def build_schedule(
    schedule: Union[str, Sequence[Union[str, Group]]],
    hidden_channels: Union[int, Sequence[int], None] = None,
    budget: int = 64,
    kernel_size: int = 5,
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


def _has_angle(group: Group, degrees: float) -> bool:
    import math

    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    target = torch.tensor([[c, -s], [s, c]], dtype=torch.float64).reshape(1, 4)
    mats = group.matrix_representation(group.elements()).reshape(-1, 4).double()
    return bool((torch.cdist(target, mats).min() < 1e-4))


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
    schedule: Union[str, Sequence[Union[str, Group]]],
    x: Optional[Tensor] = None,
    budget: int = 64,
    hidden_channels: Union[int, Sequence[int], None] = None,
    macs: bool = True,
    seed: int = 0,
    kernel_size: int = 5,
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
    n_macs = None
    if macs:
        from .viz_conv import count_macs

        n_macs = sum(r.macs for r in count_macs(model, [1, 28, 28]))
    channels = [model.lifting_conv.out_channels] + [g.out_channels for g in model.gconvs]
    return ScheduleReport(label, True, "", channels, sum(p.numel() for p in model.parameters()),
                          n_macs, errs, _invariant_to(groups[-1]))


def _fmt_error(e: float) -> str:
    return f"{e:.0e}" if e < 1e-4 else f"{e:.2f}"


def schedule_table(reports: Sequence[ScheduleReport]) -> str:
    """A markdown table of :func:`schedule_report` results.

    Invalid schedules get a row marked ``no (1)``, ``no (2)``, ...; the reasons follow the table
    as a numbered list (long error messages would squeeze the columns). Show it in a notebook
    with ``IPython.display.Markdown(schedule_table(reports))``.
    """
    reasons = []
    lines = [
        "| schedule | valid | channels | parameters | MACs / image | error 90° | error 180° "
        "| error 270° | logits ignore |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in reports:
        if not r.valid:
            reasons.append(f"{len(reasons) + 1}. {r.schedule}: {r.message}")
            lines.append(f"| {r.schedule} | no ({len(reasons)}) | | | | | | | |")
            continue
        errs = " | ".join(_fmt_error(e) for e in r.errors)
        macs = f"{r.macs / 1e6:.1f} M" if r.macs is not None else ""
        chans = ", ".join(str(c) for c in r.hidden_channels)
        lines.append(f"| {r.schedule} | yes | {chans} | {r.params:,} | {macs} | {errs} "
                     f"| {r.invariant_to} |")
    if reasons:
        lines += ["", "Invalid:", ""] + reasons
    return "\n".join(lines)


def _report_html(r: ScheduleReport) -> str:
    if not r.valid:
        return (f"<b style='color:#b00'>not a valid schedule</b>: {_escape(r.message)}")
    errs = ", ".join(f"{a}°: {_fmt_error(e)}" for a, e in zip((90, 180, 270), r.errors))
    macs = f", {r.macs / 1e6:.1f} M MACs per image" if r.macs is not None else ""
    return (f"<b style='color:#070'>valid</b>: {_escape(r.schedule)}; channels "
            f"{r.hidden_channels}, {r.params:,} parameters{macs}.<br>"
            f"Relative change of the logits (untrained, random weights) when the input turns "
            f"by {errs}.<br>The logits ignore: <b>{r.invariant_to}</b>.")


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def schedule_widget(layers: int = 5, initial: Sequence[str] = ("C8", "C8", "C4", "C4", "C1"),
                    budget: int = 64, x: Optional[Tensor] = None):
    """A live panel to build a schedule: one dropdown per layer (needs ipywidgets and a kernel).

    Every change builds the untrained network (channels from ``budget``) and shows whether the
    schedule is valid (else the error message), its size, and how much its logits change under
    the quarter turns (:func:`schedule_report`).

    Returns:
        An ``ipywidgets.VBox`` with attributes ``.dropdowns`` (one per layer) and ``.result``
        (the HTML shown).
    """
    try:
        import ipywidgets as w
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError("schedule_widget needs ipywidgets (pip install ipywidgets); without "
                          "a kernel, use schedule_table instead") from err
    initial = list(initial)
    if len(initial) != layers:
        raise ValueError(f"initial needs {layers} groups (one per layer), got {len(initial)}")
    names = ["lifting"] + [f"conv {i}" for i in range(1, layers)]
    dropdowns = [w.Dropdown(options=list(GROUP_CHOICES), value=g, description=n,
                            layout=w.Layout(width="150px"), style={"description_width": "52px"})
                 for n, g in zip(names, initial)]
    result = w.HTML()

    def update(_change=None) -> None:
        result.value = "<i>building…</i>"
        report = schedule_report([d.value for d in dropdowns], x=x, budget=budget)
        result.value = _report_html(report)

    for d in dropdowns:
        d.observe(update, names="value")
    update()
    box = w.VBox([w.HTML("<b>Group of each layer</b> (each must lie inside the one before):"),
                  w.HBox(dropdowns), result])
    box.dropdowns = dropdowns
    box.result = result
    return box
