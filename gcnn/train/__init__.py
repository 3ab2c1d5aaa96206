"""Train and evaluate the post's rotated-digits experiment: a CNN or a G-CNN on upright MNIST.

The recipe (Keydana's post, after the Amsterdam DL2 tutorial): kernel 5, four hidden
convolutions, 16 hidden channels for the G-CNN and 32 for the CNN (about 103k parameters each),
Adam with learning rate 1e-2 and weight decay 1e-4, batches of 128, 10 epochs. Models are trained
on upright digits only; after every epoch the upright validation accuracy picks the best
checkpoint, which is then tested on upright digits, on the fixed rotated test set and at every
5 degrees.

Command line (see ``python -m gcnn.train --help``)::

    python -m gcnn.train --model gcnn --group C4 --out runs/gcnn-c4
    python -m gcnn.train --model cnn --out runs/cnn
    python -m gcnn.train --model gcnn --group C4 --out runs/gcnn-c4 --resume
    python -m gcnn.train --model cnn --augment rotate --out runs/cnn-rotaug

``--augment rotate`` is the baseline a practitioner tries first: every training digit is turned
by a fresh random angle, uniform in [0°, 360°), each time it is drawn (bilinear, as the rotated
test set). The model still never sees the test set's rotations, only random ones of its own.

A run directory holds ``best.pt`` (the best model by validation accuracy), ``last.pt`` (everything
needed to resume: model, optimizer, epoch, random states, history) and ``metrics.json``; all are
written atomically (a temporary file in the same directory, then :func:`os.replace`). A resumed
run ends with the same weights and metrics as an uninterrupted one (on the CPU, bit for bit).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import re
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .. import data
from ..groups import CyclicGroup, DihedralGroup, Group
from ..models import CNN, GroupEquivariantCNN

__all__ = [
    "MODELS",
    "AUGMENTATIONS",
    "DEFAULT_HIDDEN_CHANNELS",
    "DEFAULT_SWEEP_SUBSET",
    "CheckpointError",
    "TrainConfig",
    "parse_group",
    "parse_groups",
    "model_config",
    "build_model",
    "build_model_from_config",
    "count_parameters",
    "pick_device",
    "evaluate",
    "accuracy_vs_angle",
    "load_checkpoint",
    "load_model",
    "with_config_defaults",
    "differences_besides_seed",
    "train",
    "main",
]

MODELS = ("cnn", "gcnn")
#: Training-set augmentations: none, or a random rotation (uniform in [0°, 360°)) per digit.
AUGMENTATIONS = ("none", "rotate")
#: Hidden channels of the post's recipe: about the same parameter count (103k) for both.
DEFAULT_HIDDEN_CHANNELS = {"gcnn": 16, "cnn": 32}
CHECKPOINT_FORMAT = "gcnn-train-checkpoint"
CHECKPOINT_VERSION = 1
#: Digits of the fixed rotated test set whose accuracy is recorded exactly for later checks.
FIRST_N_ROTATED = 2000
#: Test digits turned at each angle of the accuracy-vs-angle sweep by default. On a 2-core CPU a
#: C4 G-CNN takes 5 minutes for 2,000 digits at 72 angles (measured: 301 s), so the whole test set
#: would take about 25, as long as five training epochs; 2,000 digits give each angle a standard
#: error of at most 1.1 points.
DEFAULT_SWEEP_SUBSET = 2000


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read, is not ours, or does not fit the requested run."""


# -- groups and models ------------------------------------------------------------------------
_GROUP_NAME = re.compile(r"^([CD])(\d+)$")


def parse_group(name: str) -> Group:
    """``"C4"`` -> ``CyclicGroup(4)``, ``"D8"`` -> ``DihedralGroup(8)`` (C1..C16, D1..D8 and up)."""
    m = _GROUP_NAME.match(str(name).strip().upper())
    if not m or int(m.group(2)) < 1:
        raise ValueError(
            f"a group name is C<N> (rotations, e.g. C4) or D<N> (rotations and flips, e.g. D4) "
            f"with N >= 1, got {name!r}"
        )
    n = int(m.group(2))
    return CyclicGroup(n) if m.group(1) == "C" else DihedralGroup(n)


def _normalize_group_spec(spec: Union[str, Sequence[str]]) -> str:
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    names = [str(n).strip().upper() for n in names]
    for n in names:
        parse_group(n)  # validate
    return ",".join(names)


def parse_groups(spec: Union[str, Sequence[str]]) -> Union[Group, List[Group]]:
    """``"C4"`` -> one group; ``"C8,C8,C4,C4,C1"`` -> one per convolution (lifting first)."""
    names = _normalize_group_spec(spec).split(",")
    if len(names) == 1:
        return parse_group(names[0])
    made: Dict[str, Group] = {}
    return [made.setdefault(n, parse_group(n)) for n in names]


def model_config(
    name: str,
    group: Union[str, Sequence[str], None] = "C4",
    kernel_size: int = 5,
    num_hidden: int = 4,
    hidden_channels: Union[int, Sequence[int], None] = None,
    method: str = "auto",
    in_channels: int = 1,
    out_channels: int = 10,
) -> dict:
    """The plain-data description of a model that :func:`build_model_from_config` rebuilds.

    ``hidden_channels=None`` takes the recipe's value (:data:`DEFAULT_HIDDEN_CHANNELS`). For the
    CNN the group and method are not used and are stored as ``None``.
    """
    if name not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {name!r}")
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
        cfg["group"] = _normalize_group_spec(group)
        cfg["method"] = method
    return cfg


def build_model_from_config(cfg: dict) -> nn.Module:
    """Build a freshly initialised model from a :func:`model_config` dictionary."""
    need = {"model", "group", "method", "kernel_size", "num_hidden", "hidden_channels",
            "in_channels", "out_channels"}
    if not isinstance(cfg, dict) or not need <= set(cfg):
        missing = sorted(need - set(cfg)) if isinstance(cfg, dict) else sorted(need)
        raise ValueError(f"a model config needs the keys {sorted(need)}; missing {missing}")
    common = dict(
        kernel_size=cfg["kernel_size"], in_channels=cfg["in_channels"],
        out_channels=cfg["out_channels"], num_hidden=cfg["num_hidden"],
        hidden_channels=cfg["hidden_channels"],
    )
    if cfg["model"] == "cnn":
        model = CNN(**common)
    elif cfg["model"] == "gcnn":
        model = GroupEquivariantCNN(parse_groups(cfg["group"]), method=cfg["method"], **common)
    else:
        raise ValueError(f"model must be one of {MODELS}, got {cfg['model']!r}")
    model.config = dict(cfg)
    return model


def build_model(name: str, group="C4", kernel_size: int = 5, num_hidden: int = 4,
                hidden_channels=None, method: str = "auto", in_channels: int = 1,
                out_channels: int = 10) -> nn.Module:
    """The post's CNN (``"cnn"``) or G-CNN (``"gcnn"``), with the recipe's defaults.

    Takes ``[B, 1, 28, 28]`` images in ``[0, 1]`` and returns ``[B, 10]`` logits. The plain-data
    config is kept on the model as ``model.config``.

    >>> build_model("gcnn", group="C4")          # 102,970 parameters
    >>> build_model("gcnn", group="C8,C8,C4,C4,C1")  # one group per convolution
    >>> build_model("cnn")                         # 103,690 parameters
    """
    return build_model_from_config(model_config(
        name, group, kernel_size, num_hidden, hidden_channels, method, in_channels, out_channels))


def count_parameters(model: nn.Module) -> int:
    """Number of learned numbers in ``model``."""
    return sum(p.numel() for p in model.parameters())


def pick_device(name: Optional[str] = None) -> torch.device:
    """``None``/``"auto"``: CUDA if present, else Apple MPS, else the CPU; otherwise ``name``."""
    if name in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    return torch.device(name)


# -- evaluation -------------------------------------------------------------------------------
def _model_device(model: nn.Module) -> torch.device:
    p = next(iter(model.parameters()), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def evaluate(model: nn.Module, x: Tensor, y: Tensor, batch_size: int = 1000) -> float:
    """Accuracy (a fraction in ``[0, 1]``) on images ``x [N, 1, H, W]`` with labels ``y [N]``.

    Runs in eval mode without gradients, in batches, on the model's device; restores the
    model's train/eval mode afterwards.
    """
    if x.shape[0] != y.shape[0] or x.shape[0] == 0:
        raise ValueError(f"need as many labels as images (and at least one), got "
                         f"{x.shape[0]} images and {y.shape[0]} labels")
    was_training = model.training
    model.eval()
    device = _model_device(model)
    correct = 0
    try:
        for i in range(0, x.shape[0], batch_size):
            pred = model(x[i : i + batch_size].to(device)).argmax(dim=1)
            correct += int((pred.cpu() == y[i : i + batch_size]).sum())
    finally:
        model.train(was_training)
    return correct / x.shape[0]


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


def _progress(iterable, enabled: bool, **kw):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, **kw)


# -- checkpoints ------------------------------------------------------------------------------
def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _atomic_write(path: Path, write) -> None:
    """Write a file via a temporary file in the same directory and :func:`os.replace`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, _file_mode())  # mkstemp makes 0600; give the usual permissions
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def save_atomic(obj, path: Path) -> None:
    """``torch.save`` ``obj`` to ``path`` atomically."""
    _atomic_write(path, lambda f: torch.save(obj, f))


def write_json_atomic(obj, path: Path) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    text = json.dumps(obj, indent=2, sort_keys=False) + "\n"
    _atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def load_checkpoint(path, formats: Sequence[str] = (CHECKPOINT_FORMAT,)) -> dict:
    """Read a checkpoint written by :func:`train` (or an exported pretrained model).

    Raises:
        FileNotFoundError: there is no file.
        CheckpointError: the file is unreadable (corrupt, truncated) or not of the right kind;
            the message names the file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"cannot read the checkpoint {path} ({type(err).__name__}: {err}); it is corrupt or "
            f"truncated: delete it and train again (without --resume)"
        ) from err
    if not isinstance(ckpt, dict) or ckpt.get("format") not in formats:
        found = ckpt.get("format") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(
            f"{path} is not a gcnn checkpoint of kind {list(formats)} (found {found!r})"
        )
    for key in ("model_config", "model_state"):
        if key not in ckpt:
            raise CheckpointError(f"the checkpoint {path} lacks {key!r}; it is incomplete")
    return ckpt


def _model_from_checkpoint(ckpt: dict, path: Path) -> nn.Module:
    try:
        model = build_model_from_config(ckpt["model_config"])
        model.load_state_dict(ckpt["model_state"])
    except (RuntimeError, ValueError, TypeError, KeyError) as err:
        raise CheckpointError(
            f"the weights in {path} do not fit the model config stored with them "
            f"({ckpt.get('model_config')}): {err}"
        ) from err
    return model


def load_model(path, device=None) -> nn.Module:
    """The model saved in a checkpoint (``best.pt``, ``last.pt``), in eval mode."""
    path = Path(path)
    ckpt = load_checkpoint(path)
    model = _model_from_checkpoint(ckpt, path)
    return model.to(device or "cpu").eval()


# -- training ---------------------------------------------------------------------------------
@dataclasses.dataclass
class TrainConfig:
    """Everything that decides a run's result (the data root and device do not)."""

    model: str = "gcnn"
    group: Optional[str] = "C4"
    kernel_size: int = 5
    num_hidden: int = 4
    hidden_channels: Union[int, List[int], None] = None
    method: str = "auto"
    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-2
    weight_decay: float = 1e-4
    seed: int = 0
    train_subset: Optional[int] = None
    eval_subset: Optional[int] = None
    sweep_subset: Optional[int] = DEFAULT_SWEEP_SUBSET
    angle_step: float = 5.0
    augment: str = "none"

    def model_config(self) -> dict:
        return model_config(self.model, self.group, self.kernel_size, self.num_hidden,
                            self.hidden_channels, self.method)

    def resolved(self) -> "TrainConfig":
        """A copy with the model defaults filled in (group/method ``None`` for the CNN)."""
        mc = self.model_config()
        return dataclasses.replace(self, group=mc["group"], method=mc["method"],
                                   hidden_channels=mc["hidden_channels"])

    def check(self) -> None:
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        for name in ("train_subset", "eval_subset", "sweep_subset"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, int) or v < 1):
                raise ValueError(f"{name} must be a positive int or None, got {v!r}")
        if not (0 < self.angle_step <= 360):
            raise ValueError(f"angle_step must be in (0, 360] degrees, got {self.angle_step}")
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"augment must be one of {AUGMENTATIONS}, got {self.augment!r}")


#: Settings that may differ when resuming (more epochs continue a finished run).
_RESUMABLE = ("epochs",)


def _subset(pair: Tuple[Tensor, Tensor], n: Optional[int]) -> Tuple[Tensor, Tensor]:
    x, y = pair
    return (x, y) if n is None else (x[:n], y[:n])


def _augment_generator(cfg: TrainConfig) -> Optional[torch.Generator]:
    """The generator of the augmentation angles (its own stream, so shuffling is unchanged)."""
    if cfg.augment == "none":
        return None
    return torch.Generator().manual_seed(cfg.seed + 1_000_003)


def _rng_state(shuffle: torch.Generator, augment: Optional[torch.Generator] = None) -> dict:
    state = {"shuffle": shuffle.get_state(), "torch": torch.get_rng_state()}
    if augment is not None:
        state["augment"] = augment.get_state()
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict, shuffle: torch.Generator,
                   augment: Optional[torch.Generator] = None) -> None:
    shuffle.set_state(state["shuffle"])
    if augment is not None:
        augment.set_state(state["augment"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        try:
            torch.cuda.set_rng_state_all(state["cuda"])
        except (RuntimeError, IndexError):
            pass  # a different number of GPUs: the CUDA generators are not used for training


def _versions() -> dict:
    import torchvision

    return {"python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision.__version__, "platform": platform.platform()}


def _train_epoch(model, opt, x, y, batch_size, shuffle, device, progress, desc, augment=None):
    """One pass over ``x``; ``augment`` (a generator) turns each batch by random angles."""
    model.train()
    n = x.shape[0]
    perm = torch.randperm(n, generator=shuffle)
    steps = math.ceil(n / batch_size)
    acc_dtype = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
    loss_sum = torch.zeros((), device=device, dtype=acc_dtype)
    correct = torch.zeros((), device=device, dtype=torch.int64)
    seen = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc=desc, unit="batch", leave=False, dynamic_ncols=True)
    try:
        for step in range(steps):
            idx = perm[step * batch_size : (step + 1) * batch_size]
            xb = x[idx.to(x.device)].to(device, non_blocking=True)
            yb = y[idx.to(y.device)].to(device, non_blocking=True)
            if augment is not None:
                xb = data.rotate(xb, torch.rand(idx.numel(), generator=augment,
                                                dtype=torch.float64) * 360.0)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.detach().to(acc_dtype) * idx.numel()
            correct += (logits.detach().argmax(dim=1) == yb).sum()
            seen += idx.numel()
            if bar is not None:
                bar.update(1)
                if step % 10 == 0 or step == steps - 1:
                    bar.set_postfix(loss=f"{loss_sum.item() / seen:.4f}",
                                    acc=f"{correct.item() / seen:.4f}")
    finally:
        if bar is not None:
            bar.close()
    loss_value = loss_sum.item() / seen
    if not math.isfinite(loss_value):
        raise FloatingPointError(f"the training loss became {loss_value}; try a lower --lr")
    return loss_value, correct.item() / seen


def with_config_defaults(train_config: dict) -> dict:
    """A stored training config with every :class:`TrainConfig` setting it lacks at its default.

    A setting added after a checkpoint was written (such as ``augment``) counts as its default.
    """
    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig)}
    return {**defaults, **train_config}


def differences_besides_seed(a: dict, b: dict) -> Dict[str, Tuple]:
    """The settings two stored training configs disagree on, ignoring the seed.

    Both configs get :func:`with_config_defaults` first, so a setting one of them predates counts
    as its default. Returns ``{setting: (value in a, value in b)}``; empty when the two runs
    repeat one recipe with different seeds.
    """
    return _differences(a, b, ignore=("seed",))


def _differences(a: dict, b: dict, ignore: Sequence[str]) -> Dict[str, Tuple]:
    a, b = with_config_defaults(a), with_config_defaults(b)
    return {k: (a.get(k), b.get(k)) for k in sorted(set(a) | set(b))
            if k not in ignore and a.get(k) != b.get(k)}


def _config_differences(old: dict, new: dict) -> List[str]:
    return [f"{k}: checkpoint {o!r} vs requested {n!r}"
            for k, (o, n) in _differences(old, new, ignore=_RESUMABLE).items()]


def _final_metrics(model, cfg: TrainConfig, root, progress: bool) -> dict:
    """Test the (best) model: upright, fixed rotated, its first 2,000 and the angle sweep."""
    test = _subset(data.test_set(root), cfg.eval_subset)
    rot_x, rot_y = data.fixed_rotated_test_set(root)
    rot = _subset((rot_x, rot_y), cfg.eval_subset)
    angles = [float(a) for a in torch.arange(0.0, 360.0, cfg.angle_step, dtype=torch.float64)]
    sizes = [n for n in (cfg.sweep_subset, cfg.eval_subset) if n is not None]
    sweep_x, sweep_y = _subset(data.test_set(root), min(sizes) if sizes else None)
    sweep = accuracy_vs_angle(model, angles, sweep_x, sweep_y, progress=progress)
    return {
        "test_acc": evaluate(model, *test),
        "rotated_test_acc": evaluate(model, *rot),
        "rotated_test_acc_first2000": evaluate(
            model, rot_x[:FIRST_N_ROTATED], rot_y[:FIRST_N_ROTATED]),
        "accuracy_vs_angle": {"angles": angles, "accuracy": sweep,
                              "num_digits": int(sweep_x.shape[0])},
        "eval_sizes": {"test": int(test[0].shape[0]), "rotated_test": int(rot[0].shape[0]),
                       "rotated_test_first2000": min(FIRST_N_ROTATED, int(rot_x.shape[0]))},
    }


def train(
    cfg: TrainConfig,
    out: Union[str, os.PathLike],
    *,
    root=None,
    device=None,
    resume: bool = False,
    stop_after: Optional[int] = None,
    progress: bool = True,
    command: Optional[str] = None,
) -> dict:
    """Train one model and write ``best.pt``, ``last.pt`` and ``metrics.json`` into ``out``.

    Args:
        cfg: the run's settings (:class:`TrainConfig`).
        out: the run directory (created if needed).
        root: MNIST directory (see :func:`gcnn.data.data_root`).
        device: ``None``/``"auto"`` picks CUDA, MPS or the CPU.
        resume: continue from ``out/last.pt`` (its settings must match ``cfg``, except that
            ``epochs`` may grow). Without ``resume`` an existing ``last.pt`` is an error.
        stop_after: stop after this many epochs *in this call* (as if interrupted; for tests
            and time budgets); ``metrics.json`` then says ``"finished": false``.
        progress: show tqdm progress bars.
        command: the command line to record (the CLI passes it).

    Returns:
        The metrics dictionary written to ``metrics.json``.
    """
    t_start = time.perf_counter()
    cfg = cfg.resolved()
    cfg.check()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    last_path, best_path, metrics_path = out / "last.pt", out / "best.pt", out / "metrics.json"
    dev = pick_device(device)

    train_x, train_y = _subset(data.train_set(root), cfg.train_subset)
    val_x, val_y = _subset(data.val_set(root), cfg.eval_subset)
    if dev.type != "cpu":  # the whole training set fits on any accelerator: move it once
        train_x, train_y = train_x.to(dev), train_y.to(dev)

    torch.manual_seed(cfg.seed)
    model = build_model_from_config(cfg.model_config()).to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    shuffle = torch.Generator().manual_seed(cfg.seed)
    augment = _augment_generator(cfg)
    history: List[dict] = []
    best = {"epoch": None, "val_acc": -1.0}
    start_epoch, elapsed_before = 0, 0.0

    cfg_dict = dataclasses.asdict(cfg)
    if resume:
        if not last_path.is_file():
            raise FileNotFoundError(
                f"--resume: there is no {last_path} to resume from; start the run without --resume"
            )
        ckpt = load_checkpoint(last_path)
        diffs = _config_differences(ckpt.get("train_config", {}), cfg_dict)
        if diffs or ckpt["model_config"] != cfg.model_config():
            raise CheckpointError(
                f"{last_path} was written by a run with other settings, so it cannot be resumed "
                f"with these: {'; '.join(diffs) or 'model config differs'}. Use the same options "
                f"or another --out directory."
            )
        try:
            model.load_state_dict(ckpt["model_state"])
            opt.load_state_dict(ckpt["optimizer_state"])
            _set_rng_state(ckpt["rng"], shuffle, augment)
            history = list(ckpt["history"])
            best = dict(ckpt["best"])
            start_epoch = int(ckpt["epoch"])
            elapsed_before = float(ckpt.get("wall_time_seconds", 0.0))
        except (KeyError, RuntimeError, ValueError, TypeError) as err:
            raise CheckpointError(f"{last_path} is incomplete or does not fit this model: "
                                  f"{type(err).__name__}: {err}") from err
    elif last_path.exists():
        raise FileExistsError(
            f"{out} already holds a run ({last_path}); pass --resume to continue it, or choose "
            f"another --out directory"
        )

    def metrics_base() -> dict:
        epoch_seconds = [h["seconds"] for h in history]
        return {
            "finished": False,
            "config": cfg_dict,
            "model_config": cfg.model_config(),
            "data": {
                "train_size": int(train_x.shape[0]), "val_size": int(val_x.shape[0]),
                "split_seed": data.SPLIT_SEED, "rotation_seed": data.ROTATION_SEED,
            },
            "num_parameters": count_parameters(model),
            "history": history,
            "best_epoch": best["epoch"],
            "best_val_acc": best["val_acc"] if best["epoch"] is not None else None,
            "seconds_per_epoch": (sum(epoch_seconds) / len(epoch_seconds)
                                  if epoch_seconds else None),
            "wall_time_seconds": elapsed_before + (time.perf_counter() - t_start),
            "device": str(dev) + (f" ({torch.cuda.get_device_name(dev)})"
                                  if dev.type == "cuda" else ""),
            "threads": torch.get_num_threads(),
            "versions": _versions(),
            "command": command,
            "resumed": bool(resume),
        }

    epochs_run = 0
    for epoch in range(start_epoch, cfg.epochs):
        if stop_after is not None and epochs_run >= stop_after:
            break
        t0 = time.perf_counter()
        loss, acc = _train_epoch(model, opt, train_x, train_y, cfg.batch_size, shuffle, dev,
                                 progress, desc=f"epoch {epoch + 1}/{cfg.epochs}",
                                 augment=augment)
        seconds = time.perf_counter() - t0
        val_acc = evaluate(model, val_x, val_y)
        history.append({"epoch": epoch + 1, "train_loss": loss, "train_acc": acc,
                        "val_acc": val_acc, "seconds": seconds})
        if val_acc > best["val_acc"]:
            best = {"epoch": epoch + 1, "val_acc": val_acc}
            save_atomic({
                "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
                "model_config": cfg.model_config(), "train_config": cfg_dict,
                "model_state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                "epoch": epoch + 1, "val_acc": val_acc,
            }, best_path)
        save_atomic({
            "format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
            "model_config": cfg.model_config(), "train_config": cfg_dict,
            "model_state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "optimizer_state": opt.state_dict(),
            "epoch": epoch + 1, "history": history, "best": best,
            "rng": _rng_state(shuffle, augment),
            "wall_time_seconds": elapsed_before + (time.perf_counter() - t_start),
        }, last_path)
        write_json_atomic(metrics_base(), metrics_path)
        if progress:
            print(f"epoch {epoch + 1}/{cfg.epochs}: train loss {loss:.4f}, train acc {acc:.4f}, "
                  f"val acc {val_acc:.4f} ({seconds:.1f} s)", file=sys.stderr, flush=True)
        epochs_run += 1

    completed = history[-1]["epoch"] if history else 0
    if completed < cfg.epochs:
        metrics = metrics_base()
        write_json_atomic(metrics, metrics_path)
        return metrics

    best_model = load_model(best_path, dev)
    metrics = metrics_base()
    metrics.update(_final_metrics(best_model, cfg, root, progress))
    metrics["finished"] = True
    metrics["wall_time_seconds"] = elapsed_before + (time.perf_counter() - t_start)
    write_json_atomic(metrics, metrics_path)
    return metrics


# -- command line -----------------------------------------------------------------------------
def _int_list(text: str):
    parts = [int(p) for p in text.split(",")]
    return parts[0] if len(parts) == 1 else parts


def _count_or_all(text: str) -> Optional[int]:
    if text.strip().lower() == "all":
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of digits or 'all', got {text!r}")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m gcnn.train",
        description="Train a CNN or G-CNN on upright MNIST; test it upright and rotated.",
    )
    p.add_argument("--model", choices=MODELS, default="gcnn")
    p.add_argument("--group", default="C4",
                   help="C<N> or D<N> (e.g. C4, C8, D4), or one per convolution: C8,C8,C4,C4,C1 "
                        "(gcnn only; default C4)")
    p.add_argument("--kernel-size", type=int, default=5)
    p.add_argument("--num-hidden", type=int, default=4, help="convolutions after the first")
    p.add_argument("--hidden-channels", type=_int_list, default=None,
                   help="an int or one per convolution (default 16 for gcnn, 32 for cnn)")
    p.add_argument("--method", choices=("auto", "exact", "interpolate", "steerable"),
                   default="auto")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--augment", choices=AUGMENTATIONS, default="none",
                   help="'rotate': turn every training digit by a random angle each epoch")
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--train-subset", type=int, default=None,
                   help="train on the first N training digits only (quick runs)")
    p.add_argument("--eval-subset", type=int, default=None,
                   help="validate and test on the first N digits only (quick runs)")
    p.add_argument("--sweep-subset", type=_count_or_all, default=DEFAULT_SWEEP_SUBSET,
                   help=f"first N test digits for the accuracy-vs-angle sweep, or 'all' "
                        f"(default {DEFAULT_SWEEP_SUBSET}; never more than --eval-subset)")
    p.add_argument("--angle-step", type=float, default=5.0, help="degrees between sweep angles")
    p.add_argument("--out", default=None, help="run directory (default runs/MODEL[-GROUP])")
    p.add_argument("--data", default=None, help="MNIST directory (default $GCNN_DATA or ./data)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps ...")
    p.add_argument("--resume", action="store_true", help="continue from OUT/last.pt")
    p.add_argument("--stop-after", type=int, default=None,
                   help="stop after this many epochs in this invocation (resume later)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.add_argument("--export-pretrained", metavar="NAME", default=None,
                   help="when the run is finished, export best.pt as gcnn/pretrained/NAME.pt "
                        "(+ NAME.json); names: those of gcnn.pretrained.PRETRAINED")
    return p


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Run the command line; returns the metrics."""
    argv = list(sys.argv[1:] if argv is None else argv)
    args = _parser().parse_args(argv)
    cfg = TrainConfig(
        model=args.model, group=args.group, kernel_size=args.kernel_size,
        num_hidden=args.num_hidden, hidden_channels=args.hidden_channels, method=args.method,
        epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        weight_decay=args.weight_decay, seed=args.seed, train_subset=args.train_subset,
        eval_subset=args.eval_subset, sweep_subset=args.sweep_subset, angle_step=args.angle_step,
        augment=args.augment,
    )
    if args.out is None:
        suffix = "" if args.model == "cnn" else "-" + args.group.replace(",", "-").lower()
        suffix += "" if args.augment == "none" else "-" + args.augment
        args.out = os.path.join("runs", args.model + suffix)
    command = "python -m gcnn.train " + shlex.join(argv)
    metrics = train(cfg, args.out, root=args.data, device=args.device, resume=args.resume,
                    stop_after=args.stop_after, progress=not args.no_progress, command=command)
    if metrics["finished"]:
        print(f"{args.out}: best epoch {metrics['best_epoch']}, val {metrics['best_val_acc']:.4f}, "
              f"test {metrics['test_acc']:.4f}, rotated test {metrics['rotated_test_acc']:.4f}")
        if args.export_pretrained:
            from ..pretrained import export_pretrained

            path = export_pretrained(args.out, args.export_pretrained)
            print(f"exported {path}")
    else:
        done = metrics["history"][-1]["epoch"] if metrics["history"] else 0
        print(f"{args.out}: stopped after epoch {done} of {cfg.epochs}; continue with the same "
              f"command and --resume")
    return metrics

