"""Measuring a trained (or untrained) classifier: predictions, accuracy, confusions, cost.

One loop runs a model over many images (:func:`predict`, :func:`predict_proba`,
:func:`evaluate` all go through it): in batches, without gradients, on the model's device, in
``eval()`` mode, and the caller's train/eval mode is restored afterwards (:func:`eval_mode`).

* :func:`evaluate`: accuracy on ``(x, y)``; :func:`accuracy_vs_angle`: accuracy with every
  digit turned by each of many angles;
* :func:`confusion_matrix`, :func:`confusion_counts`, :func:`six_nine_confusion`: how often one
  class is taken for another, and the numbers of the 6/9 problem;
* :func:`count_parameters`, :func:`count_macs`, :func:`mac_table`: what a model costs.

Images are ``[N, C, H, W]``, labels ``[N]`` (int64), models map ``[B, C, H, W]`` to
``[B, classes]`` logits. Angles are in degrees, clockwise on screen (:func:`gcnn.data.rotate`).
"""

from __future__ import annotations

import contextlib
from typing import Callable, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence

import torch
from torch import Tensor, nn

from . import data
from .equivariance import equivariance_error, smooth_disc_input
from .groups import Group
from .layers import GroupConvolution, LiftingConvolution, _GroupConvBase

__all__ = [
    "model_device",
    "eval_mode",
    "predict",
    "predict_proba",
    "evaluate",
    "accuracy_vs_angle",
    "confusion_matrix",
    "confusion_counts",
    "six_nine_confusion",
    "count_parameters",
    "LayerMacs",
    "count_macs",
    "mac_table",
    "compare_kernel_methods",
]


# -- running a model over many images ----------------------------------------------------------
def model_device(model: nn.Module, default: Optional[torch.device] = None) -> torch.device:
    """The device of ``model``'s first parameter (``default``, else the CPU, if it has none)."""
    p = next(iter(model.parameters()), None)
    if p is not None:
        return p.device
    return default if default is not None else torch.device("cpu")


@contextlib.contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """``with eval_mode(model):`` runs the block in ``eval()`` mode, then restores the old mode."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@torch.no_grad()
def _batched(model: nn.Module, x: Tensor, batch_size: int,
             post: Callable[[Tensor], Tensor]) -> List[Tensor]:
    """``post(model(batch))`` on the CPU for each batch of ``x``: the one inference loop."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    device = model_device(model, default=x.device)
    with eval_mode(model):
        return [post(model(x[i : i + batch_size].to(device))).cpu()
                for i in range(0, x.shape[0], batch_size)]


def predict(model: nn.Module, x: Tensor, batch_size: int = 1000) -> Tensor:
    """Predicted classes of ``model`` for images ``x [N, C, H, W]``: a long tensor ``[N]``.

    Runs in batches with gradients off, in ``eval()`` mode; the model's mode is restored.
    """
    if x.dim() != 4:
        raise ValueError(f"predict expects images [N, C, H, W], got shape {list(x.shape)}")
    out = _batched(model, x, batch_size, lambda logits: logits.argmax(dim=1))
    return torch.cat(out) if out else torch.empty(0, dtype=torch.long)


def predict_proba(model: nn.Module, images: Tensor, batch_size: int = 500) -> Tensor:
    """Softmax probabilities ``[B, classes]`` (on the CPU) for images ``[B, 1, H, W]``.

    Runs in eval mode without gradients, on the model's device, and restores the model's
    train/eval mode afterwards.
    """
    if images.dim() != 4:
        raise ValueError(f"predict_proba expects images [B, 1, H, W], got {list(images.shape)}")
    return torch.cat(_batched(model, images, batch_size,
                              lambda logits: torch.softmax(logits.float(), dim=1)))


def evaluate(model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 1000) -> float:
    """Accuracy (a fraction in ``[0, 1]``) on images ``x [N, 1, H, W]`` with labels ``y [N]``.

    Runs in eval mode without gradients, in batches, on the model's device; restores the
    model's train/eval mode afterwards.
    """
    if x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(f"need as many labels as images (and at least one), got "
                         f"{x.shape[0]} images and {y.shape[0]} labels")
    pred = predict(model, x, batch_size)
    return int((pred == y.cpu()).sum()) / x.shape[0]


def _progress(iterable, enabled: bool, **kw):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, **kw)


def accuracy_vs_angle(
    model: nn.Module,
    angles: Iterable[float] = range(0, 360, 5),
    x: Optional[Tensor] = None,
    y: Optional[Tensor] = None,
    batch_size: int = 1000,
    root=None,
    progress: bool = False,
) -> List[float]:
    """Accuracy with all digits turned by each angle (degrees, clockwise), one float per angle.

    ``x, y`` default to the whole upright test set; ``accuracy_vs_angle(m, [a])`` equals
    ``evaluate(m, *rotated_test_set(a))`` (the rotation is done the same way, in float64 on the
    CPU).
    """
    if x is None or y is None:
        x, y = data.test_set(root)
    angles = [float(a) for a in angles]
    out = []
    for a in _progress(angles, progress, desc="accuracy vs angle", unit="angle"):
        xr = torch.cat([data.rotate(x[i : i + batch_size].double(), a).float()
                        for i in range(0, x.shape[0], batch_size)])
        out.append(evaluate(model, xr, y, batch_size))
    return out


# -- confusions --------------------------------------------------------------------------------
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


# -- cost ----------------------------------------------------------------------------------------
def count_parameters(model: nn.Module) -> int:
    """Number of learned numbers in ``model``."""
    return sum(p.numel() for p in model.parameters())


class LayerMacs(NamedTuple):
    """Multiply-accumulates of one layer for one image."""

    name: str  #: the module's name in the model
    kind: str  #: its class name
    output_shape: tuple  #: its output for one image (no batch dimension)
    params: int  #: its own parameters
    macs: int  #: multiply-accumulates per image


def _layer_macs(module: nn.Module, out: Tensor, batch: int) -> int:
    per_image = out.numel() // batch  # output values per image
    if isinstance(module, _GroupConvBase):
        # The conv2d it runs: C_out*|G| outputs, each a sum over C_in*|G_in| * k*k inputs.
        g_in = module.group.order if module.in_kind == "regular" else 1
        return per_image * module.in_channels * g_in * module.kernel_size ** 2
    if isinstance(module, nn.Conv2d):
        kh, kw = module.kernel_size
        return per_image * (module.in_channels // module.groups) * kh * kw
    if isinstance(module, nn.Linear):
        return per_image * module.in_features
    raise TypeError(f"no MAC rule for {type(module).__name__}")


@torch.no_grad()
def count_macs(model: nn.Module, input_shape: Sequence[int]) -> List[LayerMacs]:
    """Count the multiply-accumulates (MACs) of every convolution and linear layer, per image.

    Runs one forward pass on zeros with forward hooks on :class:`torch.nn.Conv2d`,
    :class:`torch.nn.Linear`, :class:`~gcnn.layers.LiftingConvolution` and
    :class:`~gcnn.layers.GroupConvolution`. A group layer costs what the ``conv2d`` it runs
    costs: ``C_out·|G| × C_in·|G_in| × k² × H'·W'`` MACs, with ``|G_in| = 1`` for the lifting
    layer. Not counted: biases, norms, ReLUs, pooling (no multiply-accumulates, or few) and the
    expansion of the kernel bank (once per forward pass in training, shared by the batch, and
    cached in ``eval()`` mode).

    Args:
        model: any module.
        input_shape: ``[C, H, W]`` or ``[B, C, H, W]`` (the count is divided by ``B``).

    Returns:
        One :class:`LayerMacs` per counted layer, in the order they ran. See :func:`mac_table`.
    """
    shape = list(input_shape)
    if len(shape) == 3:
        shape = [1] + shape
    if len(shape) != 4:
        raise ValueError(f"input_shape must be [C, H, W] or [B, C, H, W], got {list(input_shape)}")
    batch = shape[0]
    p = next(iter(model.parameters()), None)
    x = torch.zeros(shape, device=p.device if p is not None else None,
                    dtype=p.dtype if p is not None else None)
    rows: List[LayerMacs] = []
    names = {m: n for n, m in model.named_modules()}

    def hook(module, _inputs, out):
        rows.append(LayerMacs(
            name=names.get(module, "") or type(module).__name__,
            kind=type(module).__name__,
            output_shape=tuple(out.shape[1:]),
            params=sum(q.numel() for q in module.parameters(recurse=False)),
            macs=_layer_macs(module, out, batch),
        ))

    kinds = (nn.Conv2d, nn.Linear, _GroupConvBase)
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, kinds)]
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
    return rows


def mac_table(rows: Sequence[LayerMacs], title: Optional[str] = None) -> str:
    """Format :func:`count_macs` rows as a text table with a total line."""
    lines = [title] if title else []
    header = f"{'layer':<18}{'kind':<20}{'output (per image)':<22}{'params':>10}{'MACs':>14}"
    lines += [header, "-" * len(header)]
    for r in rows:
        shape = "x".join(str(s) for s in r.output_shape)
        lines.append(f"{r.name:<18}{r.kind:<20}{shape:<22}{r.params:>10,}{r.macs:>14,}")
    lines.append("-" * len(header))
    total_p = sum(r.params for r in rows)
    total_m = sum(r.macs for r in rows)
    lines.append(f"{'total':<60}{total_p:>10,}{total_m:>14,}")
    return "\n".join(lines)


@torch.no_grad()
def compare_kernel_methods(
    group: Group,
    kernel_size: int = 5,
    methods=("interpolate", "steerable"),
    x: Optional[Tensor] = None,
    channels: int = 4,
    seed: int = 0,
) -> dict:
    """How well the kernels of each method turn, per group element, on the same small network.

    For each method, a :class:`~gcnn.layers.LiftingConvolution` (1 -> ``channels``) followed by a
    :class:`~gcnn.layers.GroupConvolution` (``channels -> channels``), no bias, randomly
    initialised from the same seed, with zero padding ``k // 2``, is measured on ``x`` (default:
    :func:`smooth_disc_input` of 61x61 pixels with a disc of radius 15, a smooth picture that
    turning by 45° loses nothing of, with room around it for the outputs).
    Inputs and outputs are turned as :func:`equivariance_error` does (``method="auto"``:
    exactly by 90° steps, by interpolation otherwise).

    Returns:
        ``{method: {"norm": [|G|], "lifting": [|G|], "network": [|G|]}}`` (float64 tensors):
        ``norm`` is ``|L_g psi| / |psi|`` over the lifting layer's kernels (1 means the turned
        kernels keep their norm; interpolated 45° turns of random 5x5 kernels keep about 0.6),
        ``lifting`` and ``network`` the relative equivariance errors of the lifting layer alone
        and of both layers.
    """
    if x is None:  # room around the disc for both layers' outputs: nothing is cut off
        x = smooth_disc_input(size=61, radius=15.0)
    pad = kernel_size // 2
    out = {}
    for method in methods:
        torch.manual_seed(seed)
        lift = LiftingConvolution(group, kernel_size, x.shape[1], channels, padding=pad,
                                  bias=False, method=method).to(x.dtype)
        gconv = GroupConvolution(group, kernel_size, channels, channels, padding=pad,
                                 bias=False, method=method).to(x.dtype)
        net = nn.Sequential(lift, gconv)
        bank = lift.transformed_weight()  # [O * |G|, I, k, k]
        per = bank.reshape(channels, group.order, -1).transpose(0, 1).flatten(1).double()
        norms = per.norm(dim=1) / per[0].norm()
        out[method] = {
            "norm": norms.cpu(),
            "lifting": equivariance_error(lift, x),
            "network": equivariance_error(net, x, group=group, in_kind="image",
                                          out_kind="regular"),
        }
    return out
