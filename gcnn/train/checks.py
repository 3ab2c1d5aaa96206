"""The checks a training run passes before any data is loaded or any epoch starts.

:func:`validate_run` is the one place: :func:`gcnn.train.train` calls it first, and so does
``python -m gcnn.train`` (which also passes the export name), so a mistake costs a second, not
a training run. It checks the settings (:meth:`~gcnn.experiments.TrainConfig.check`: sizes,
learning rate, seed range, groups, channels), the device, the output folder, and the name and
recipe of a pretrained model to export. It creates nothing.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Optional, Union

import torch

from ..experiments import TrainConfig
from ..pretrained import check_export

__all__ = ["check_device", "check_out", "validate_run"]

_DEVICES = "auto, cpu, cuda, cuda:N, mps"


def check_device(name: Union[str, torch.device, None]) -> torch.device:
    """The device ``name`` names, after checking that this machine has it.

    ``None``/``"auto"`` picks CUDA if present, else Apple MPS, else the CPU.

    Raises:
        ValueError: an unknown device name, or a device this machine lacks (the message says
            which devices it has).
    """
    if name in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"unknown device {name!r}; use one of {_DEVICES}") from err
    if dev.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"device {name!r}: CUDA is not available on this machine; use "
                             f"--device cpu (or auto)")
        if dev.index is not None and dev.index >= count:
            raise ValueError(f"device {name!r}: this machine has {count} CUDA device(s), "
                             f"cuda:0 to cuda:{count - 1}")
    elif dev.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        if mps is None or not mps.is_available():
            raise ValueError(f"device {name!r}: Apple MPS is not available on this machine; "
                             f"use --device cpu (or auto)")
    elif dev.type != "cpu":
        raise ValueError(f"device {name!r} is not one training supports; use one of {_DEVICES}")
    return dev


def check_out(out: Union[str, os.PathLike]) -> None:
    """Check that ``out`` is, or can be made, a folder this process can write into.

    Raises:
        ValueError: ``out`` is a file, lies below a file, or cannot be written; the message
            names the path at fault.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} is a file, not a run folder; choose another --out")
    existing = out
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise ValueError(f"--out {out} cannot be made: {existing} is a file, not a folder; "
                         f"choose another --out")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"--out {out}: cannot write into {existing} (permission denied); "
                         f"choose a folder you can write to")


def validate_run(cfg: TrainConfig, out: Union[str, os.PathLike], *, device=None,
                 export: Optional[str] = None, force: bool = False) -> torch.device:
    """Check everything a run needs before it loads data or trains; return its device.

    Args:
        cfg: the run's settings (checked with :meth:`TrainConfig.check`).
        out: the run folder (it need not exist; nothing is created).
        device: as for :func:`check_device`.
        export: the pretrained name the finished run will be exported as, if any: it must be
            known, of this run's kind, and (for a shipped model) this run must repeat its
            recorded recipe, unless ``force`` (:func:`gcnn.pretrained.check_export`).
        force: allow replacing a shipped model with another recipe.

    Raises:
        ValueError: the first problem found, naming what was expected and given.
        CheckpointError: ``export`` names a model of another kind.
    """
    cfg = cfg.resolved()
    cfg.check()
    dev = check_device(device)
    check_out(out)
    if force and export is None:
        raise ValueError("--force only applies to --export-pretrained NAME; add that, or drop "
                         "--force")
    if export is not None:
        check_export(export, dataclasses.asdict(cfg), overwrite=force)
    return dev
