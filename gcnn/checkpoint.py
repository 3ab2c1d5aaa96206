"""Checkpoints on disk: atomic writes, checked reads, and the model they hold.

A checkpoint is a plain dictionary saved with :func:`torch.save` (tensors, numbers, strings,
lists and dicts only, so it loads with ``weights_only=True``): a ``"format"`` tag, the
``"model_config"`` (:func:`gcnn.builders.model_config`) and the ``"model_state"``. Training
writes ``best.pt`` and ``last.pt`` (``CHECKPOINT_FORMAT``); exported pretrained models use
their own tag. Every file is written atomically: a temporary file in the same directory, then
:func:`os.replace`, so an interrupted write never leaves half a file. A write killed outright
(``kill -9``) can leave its temporary file behind; those are named ``.gcnn-tmp-NAME.XXXX``
(:data:`TEMP_PREFIX`, :func:`is_temporary`) and :func:`remove_temporaries` clears them (training
does at every start and resume of a run).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import List, Sequence, Union

import torch
from torch import nn

from .builders import build_model_from_config

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "CheckpointError",
    "TEMP_PREFIX",
    "is_temporary",
    "remove_temporaries",
    "save_atomic",
    "write_json_atomic",
    "load_checkpoint",
    "model_from_checkpoint",
    "load_model",
]

CHECKPOINT_FORMAT = "gcnn-train-checkpoint"
CHECKPOINT_VERSION = 1
#: How the atomic writer's temporary files begin: ``.gcnn-tmp-last.pt.k2j4x8``.
TEMP_PREFIX = ".gcnn-tmp-"


class CheckpointError(RuntimeError):
    """A checkpoint that cannot be read, is not ours, or does not fit the requested run."""


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def _atomic_write(path: Path, write) -> None:
    """Write a file via a temporary file in the same directory and :func:`os.replace`."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f"{TEMP_PREFIX}{path.name}.")
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


def is_temporary(path: Union[str, Path]) -> bool:
    """Whether ``path`` is named like a temporary file of :func:`save_atomic` (a plain file)."""
    path = Path(path)
    return path.name.startswith(TEMP_PREFIX) and len(path.name) > len(TEMP_PREFIX)


def remove_temporaries(folder: Union[str, Path]) -> List[Path]:
    """Delete the temporary files an interrupted writer left in ``folder``; return their paths.

    Only files named by :func:`save_atomic` (:data:`TEMP_PREFIX`) go; nothing else is touched.
    Call it only when no other process is writing into ``folder``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    gone = [p for p in folder.iterdir() if is_temporary(p) and p.is_file()]
    for p in gone:
        p.unlink(missing_ok=True)
    return gone


def save_atomic(obj, path: Path) -> None:
    """``torch.save`` ``obj`` to ``path`` atomically."""
    _atomic_write(path, lambda f: torch.save(obj, f))


def write_json_atomic(obj, path: Path) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    text = json.dumps(obj, indent=2, sort_keys=False) + "\n"
    _atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def load_checkpoint(path, formats: Sequence[str] = (CHECKPOINT_FORMAT,)) -> dict:
    """Read a checkpoint written by training (or an exported pretrained model).

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


def model_from_checkpoint(ckpt: dict, path: Path) -> nn.Module:
    """Rebuild the model of a loaded checkpoint and put its weights in (``path`` for messages).

    Raises:
        CheckpointError: the weights do not fit the stored model config.
    """
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
    model = model_from_checkpoint(ckpt, path)
    return model.to(device or "cpu").eval()
