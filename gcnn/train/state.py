"""The state of one training run, and how it is saved to ``last.pt`` and resumed from it.

``_Run`` holds the model, optimizer, learning-rate schedule, random generators (shuffling
and augmentation, each its own stream), history and best epoch; it writes ``best.pt`` and
``last.pt`` (atomically) and reads ``last.pt`` back so that a resumed run continues bit for bit.
:mod:`gcnn.train.loop` drives it.
"""

from __future__ import annotations

import dataclasses
import platform
from pathlib import Path
from typing import List, Optional

import torch

from .. import data
from ..builders import build_model_from_config
from ..checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    CheckpointError,
    load_checkpoint,
    save_atomic,
)
from ..experiments import TrainConfig, config_differences, with_config_defaults
from ..metrics import count_parameters

__all__: List[str] = []

#: Settings that may differ when resuming (more epochs continue a finished run; another
#: ``test_orbit`` tests a finished run's best model again, averaged over other turns).
_RESUMABLE = ("epochs", "test_orbit")

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


def _scheduler(opt: torch.optim.Optimizer, cfg: TrainConfig, total_steps: int):
    """The learning-rate schedule of ``cfg`` over ``total_steps`` batches (``None``: constant)."""
    if cfg.lr_schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total_steps)
    if cfg.lr_schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=total_steps)
    return None


def _versions() -> dict:
    import torchvision

    return {"python": platform.python_version(), "torch": torch.__version__,
            "torchvision": torchvision.__version__, "platform": platform.platform()}


class _Run:
    """The state of one training run: model, optimizer, generators, history, best epoch."""

    def __init__(self, cfg: TrainConfig, out: Path, dev: torch.device):
        self.cfg, self.out, self.dev = cfg, out, dev
        self.last_path, self.best_path = out / "last.pt", out / "best.pt"
        self.metrics_path = out / "metrics.json"
        torch.manual_seed(cfg.seed)
        self.model = build_model_from_config(cfg.model_config()).to(dev)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg.lr,
                                    weight_decay=cfg.weight_decay)
        self.shuffle = torch.Generator().manual_seed(cfg.seed)
        self.augment = _augment_generator(cfg)
        self.scheduler = None  # made once the data (so the steps per epoch) are known
        self._resumed_optimizer: Optional[dict] = None
        self._resumed_scheduler: Optional[dict] = None
        self.history: List[dict] = []
        self.best = {"epoch": None, "val_acc": -1.0}
        self.start_epoch, self.elapsed_before = 0, 0.0
        self.cfg_dict = dataclasses.asdict(cfg)

    def resume(self) -> None:
        """Load ``last.pt`` into this run (its settings must match, but for ``epochs``)."""
        if not self.last_path.is_file():
            raise FileNotFoundError(f"--resume: there is no {self.last_path} to resume from; "
                                    f"start the run without --resume")
        ckpt = load_checkpoint(self.last_path)
        diffs = [f"{k}: checkpoint {o!r} vs requested {n!r}" for k, (o, n) in config_differences(
            ckpt.get("train_config", {}), self.cfg_dict, ignore=_RESUMABLE).items()]
        if diffs or ckpt["model_config"] != self.cfg.model_config():
            raise CheckpointError(
                f"{self.last_path} was written by a run with other settings, so it cannot be "
                f"resumed with these: {'; '.join(diffs) or 'model config differs'}. Use the same "
                f"options or another --out directory."
            )
        epochs = with_config_defaults(ckpt.get("train_config", {}))["epochs"]
        if self.cfg.lr_schedule != "constant" and epochs != self.cfg.epochs:
            raise CheckpointError(
                f"{self.last_path} was written by a run of {epochs} epochs whose "
                f"{self.cfg.lr_schedule} learning-rate schedule is laid out over those epochs, so "
                f"it cannot be resumed "
                f"with --epochs {self.cfg.epochs}. Resume with --epochs {epochs}, or train "
                f"--epochs {self.cfg.epochs} into another --out folder"
            )
        if self.cfg.lr_schedule != "constant" and "scheduler_state" not in ckpt:
            raise CheckpointError(f"{self.last_path} has no learning-rate schedule state to "
                                  f"resume the {self.cfg.lr_schedule} schedule from")
        try:
            self.model.load_state_dict(ckpt["model_state"])
            self.opt.load_state_dict(ckpt["optimizer_state"])
            self._resumed_optimizer = ckpt["optimizer_state"]
            self._resumed_scheduler = ckpt.get("scheduler_state")
            _set_rng_state(ckpt["rng"], self.shuffle, self.augment)
            self.history = list(ckpt["history"])
            self.best = dict(ckpt["best"])
            self.start_epoch = int(ckpt["epoch"])
            self.elapsed_before = float(ckpt.get("wall_time_seconds", 0.0))
        except (KeyError, RuntimeError, ValueError, TypeError) as err:
            raise CheckpointError(f"{self.last_path} is incomplete or does not fit this model: "
                                  f"{type(err).__name__}: {err}") from err
        if self.start_epoch > self.cfg.epochs:
            # Refused rather than "finished": its history, best epoch and weights would belong
            # to a longer run than the config it records.
            raise ValueError(
                f"{self.last_path} holds {self.start_epoch} epochs, more than --epochs "
                f"{self.cfg.epochs} asks for; a run cannot be shortened. Resume with --epochs "
                f"{self.start_epoch} (or more), or train --epochs {self.cfg.epochs} into another "
                f"--out folder"
            )

    def start_schedule(self, steps_per_epoch: int) -> None:
        """Make the learning-rate schedule over ``epochs x steps_per_epoch`` batches; on resume,
        continue it from ``last.pt``."""
        total = steps_per_epoch * self.cfg.epochs
        self.scheduler = _scheduler(self.opt, self.cfg, total)
        state = self._resumed_scheduler
        if self.scheduler is None or state is None:
            return
        saved_total = state.get("T_max", state.get("total_steps"))
        if saved_total != total:
            raise CheckpointError(
                f"{self.last_path} holds a learning-rate schedule over {saved_total} steps, but "
                f"this run has {total} ({self.cfg.epochs} epochs of {steps_per_epoch}); use the "
                f"same data and options, or another --out folder")
        # Making the schedule set the optimizer's learning rate to its first value: restore it.
        self.opt.load_state_dict(self._resumed_optimizer)
        self.scheduler.load_state_dict(state)

    def _checkpoint(self, epoch: int, **extra) -> dict:
        state = {k: v.detach().cpu() for k, v in self.model.state_dict().items()}
        return {"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION,
                "model_config": self.cfg.model_config(), "train_config": self.cfg_dict,
                "model_state": state, "epoch": epoch, **extra}

    def save(self, epoch: int, val_acc: float, elapsed: float) -> None:
        """Write ``best.pt`` (when ``val_acc`` is the best so far) and ``last.pt``."""
        if val_acc > self.best["val_acc"]:
            self.best = {"epoch": epoch, "val_acc": val_acc}
            save_atomic(self._checkpoint(epoch, val_acc=val_acc), self.best_path)
        schedule = ({} if self.scheduler is None
                    else {"scheduler_state": self.scheduler.state_dict()})
        save_atomic(self._checkpoint(
            epoch, optimizer_state=self.opt.state_dict(), history=self.history, best=self.best,
            rng=_rng_state(self.shuffle, self.augment), wall_time_seconds=elapsed, **schedule,
        ), self.last_path)

    def metrics(self, train_size: int, val_size: int, elapsed: float, command, resumed) -> dict:
        """The ``metrics.json`` of the run so far (``"finished": False``)."""
        epoch_seconds = [h["seconds"] for h in self.history]
        dev = self.dev
        return {
            "finished": False,
            "config": self.cfg_dict,
            "model_config": self.cfg.model_config(),
            "data": {"train_size": train_size, "val_size": val_size,
                     "split_seed": data.SPLIT_SEED, "rotation_seed": data.ROTATION_SEED},
            "num_parameters": count_parameters(self.model),
            "history": self.history,
            "best_epoch": self.best["epoch"],
            "best_val_acc": self.best["val_acc"] if self.best["epoch"] is not None else None,
            "seconds_per_epoch": (sum(epoch_seconds) / len(epoch_seconds)
                                  if epoch_seconds else None),
            "wall_time_seconds": elapsed,
            "device": str(dev) + (f" ({torch.cuda.get_device_name(dev)})"
                                  if dev.type == "cuda" else ""),
            "threads": torch.get_num_threads(),
            "versions": _versions(),
            "command": command,
            "resumed": bool(resumed),
        }
