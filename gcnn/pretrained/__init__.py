"""Pretrained models of the rotated-digits experiment, shipped in ``gcnn/pretrained/``.

Each model is two files: ``NAME.pt`` (float32 weights and the model config, a few hundred KB) and
``NAME.json`` (the ``metrics.json`` of the run that made it: settings, training history, upright
and rotated test accuracies, accuracy at every 5 degrees, versions, command line).

>>> model = pretrained("gcnn-c4")              # eval mode, CPU
>>> logits = model(images)                      # images [B, 1, 28, 28] in [0, 1] -> [B, 10]
>>> pretrained_metrics("gcnn-c4")["rotated_test_acc"]

The files are made by training (``python -m gcnn.train``) and exporting the run's best checkpoint
(:func:`export_pretrained`, or ``--export-pretrained NAME`` on the training command line, or
``python -m gcnn.pretrained export RUN_DIR NAME``). To add a model, add an entry to
:data:`PRETRAINED`.

Other seeds of a model's command ship as metrics only (no weights), in
``gcnn/pretrained/seeds/NAME-sSEED.json``: :func:`seed_metrics` returns all seeds of ``NAME``
(the shipped run first), so a table can show the spread over seeds without any training.
Add one with :func:`export_seed_metrics` (``python -m gcnn.pretrained add-seed RUN_DIR NAME``);
the run must have the shipped run's exact settings but its seed.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import torch
from torch import nn

from ..train import (
    CheckpointError,
    _model_from_checkpoint,
    differences_besides_seed,
    load_checkpoint,
    save_atomic,
    with_config_defaults,
    write_json_atomic,
)

__all__ = [
    "PRETRAINED",
    "PRETRAINED_DIR",
    "PretrainedSpec",
    "pretrained",
    "pretrained_metrics",
    "pretrained_path",
    "available_pretrained",
    "export_pretrained",
    "seed_metrics",
    "export_seed_metrics",
]

PRETRAINED_DIR = Path(__file__).resolve().parent
PRETRAINED_FORMAT = "gcnn-pretrained"
SEEDS_SUBDIR = "seeds"


@dataclasses.dataclass(frozen=True)
class PretrainedSpec:
    """One shipped model: what it must be and how it is made.

    ``expect`` lists model-config entries the weights must have; ``training`` lists
    training-config entries (such as ``augment``) the run must have used, checked on export.
    """

    description: str
    expect: Dict[str, object]
    command: str
    training: Dict[str, object] = dataclasses.field(default_factory=dict)


#: The known pretrained models: name -> spec. Files live in ``gcnn/pretrained/NAME.pt|.json``.
PRETRAINED: Dict[str, PretrainedSpec] = {
    "cnn": PretrainedSpec(
        description=("plain CNN of the post (kernel 5, 4 hidden, 32 channels), upright MNIST, "
                     "the post's recipe (10 epochs)"),
        expect={"model": "cnn"},
        training={"epochs": 10, "augment": "none"},
        command=("python -m gcnn.train --model cnn --seed 0 --out runs/cnn-e10-s0 "
                 "--export-pretrained cnn"),
    ),
    "gcnn-c4": PretrainedSpec(
        description=("C4 group-equivariant CNN of the post (kernel 5, 4 hidden, 16 channels), "
                     "the post's recipe (10 epochs)"),
        expect={"model": "gcnn", "group": "C4"},
        training={"epochs": 10},
        command=("python -m gcnn.train --model gcnn --group C4 --seed 0 --out runs/gcnn-c4-e10-s0 "
                 "--export-pretrained gcnn-c4"),
    ),
    # Chapter 8 compares models trained for 5 epochs each (the CPU budget of its other models).
    "cnn-e5": PretrainedSpec(
        description="the post's CNN trained for 5 epochs, like the other models of chapter 8",
        expect={"model": "cnn"},
        training={"epochs": 5, "augment": "none"},
        command=("python -m gcnn.train --model cnn --epochs 5 --seed 0 --out runs/cnn-e5-s0 "
                 "--export-pretrained cnn-e5"),
    ),
    "gcnn-c4-e5": PretrainedSpec(
        description="the post's C4 G-CNN trained for 5 epochs, like the other models of chapter 8",
        expect={"model": "gcnn", "group": "C4"},
        training={"epochs": 5},
        command=("python -m gcnn.train --model gcnn --group C4 --epochs 5 --seed 0 "
                 "--out runs/gcnn-c4-e5-s0 --export-pretrained gcnn-c4-e5"),
    ),
    "gcnn-c8c8c4c4c1": PretrainedSpec(
        description=("G-CNN whose group shrinks with depth, C8 -> C8 -> C4 -> C4 -> C1 "
                     "(8, 8, 16, 16, 64 channels): the book's answer to the 6/9 challenge"),
        expect={"model": "gcnn", "group": "C8,C8,C4,C4,C1"},
        training={"epochs": 5},
        command=("python -m gcnn.train --model gcnn --group C8,C8,C4,C4,C1 "
                 "--hidden-channels 8,8,16,16,64 --epochs 5 --seed 0 --sweep-subset 2000 "
                 "--out runs/c8c8c4c4c1-s0 --export-pretrained gcnn-c8c8c4c4c1"),
    ),
    "cnn-rotaug": PretrainedSpec(
        description=("the post's CNN trained on randomly turned copies of the upright digits "
                     "(--augment rotate): the baseline a practitioner tries first"),
        expect={"model": "cnn"},
        training={"augment": "rotate", "epochs": 5},
        command=("python -m gcnn.train --model cnn --augment rotate --epochs 5 --seed 0 "
                 "--sweep-subset 2000 --out runs/cnn-rotaug-s0 --export-pretrained cnn-rotaug"),
    ),
    "gcnn-c16c8c4c2c1": PretrainedSpec(
        description=("G-CNN whose group halves at every layer, C16 -> C8 -> C4 -> C2 -> C1 "
                     "(4, 8, 16, 32, 64 channels)"),
        expect={"model": "gcnn", "group": "C16,C8,C4,C2,C1"},
        training={"epochs": 5},
        command=("python -m gcnn.train --model gcnn --group C16,C8,C4,C2,C1 "
                 "--hidden-channels 4,8,16,32,64 --epochs 5 --seed 0 --sweep-subset 2000 "
                 "--out runs/c16c8c4c2c1-s0 --export-pretrained gcnn-c16c8c4c2c1"),
    ),
    "gcnn-d4": PretrainedSpec(
        description=("D4 group-equivariant CNN (quarter turns and mirror flips, 8 channels): the "
                     "C4 model's compute on a group twice as large"),
        expect={"model": "gcnn", "group": "D4"},
        training={"epochs": 5},
        command=("python -m gcnn.train --model gcnn --group D4 --hidden-channels 8 --epochs 5 "
                 "--seed 0 --out runs/gcnn-d4-e5-s0 --export-pretrained gcnn-d4"),
    ),
    "gcnn-c16": PretrainedSpec(
        description=("C16 group-equivariant CNN (turns by 22.5°, interpolated kernels, 4 "
                     "channels): the C4 model's compute on a group four times as large"),
        expect={"model": "gcnn", "group": "C16"},
        training={"epochs": 5},
        command=("python -m gcnn.train --model gcnn --group C16 --hidden-channels 4 --epochs 5 "
                 "--seed 0 --out runs/gcnn-c16-e5-s0 --export-pretrained gcnn-c16"),
    ),
    "gcnn-c8-wide": PretrainedSpec(
        description=("the larger model: C8 group-equivariant CNN with 16 channels (turns by 45°, "
                     "interpolated kernels), twice the C4 model's parameters, 4x its compute"),
        expect={"model": "gcnn", "group": "C8", "hidden_channels": 16},
        training={"epochs": 5},
        command=("python -m gcnn.train --model gcnn --group C8 --hidden-channels 16 --epochs 5 "
                 "--seed 0 --out runs/gcnn-c8-wide-e5-s0 --export-pretrained gcnn-c8-wide"),
    ),
}


def _spec(name: str) -> PretrainedSpec:
    if name not in PRETRAINED:
        raise ValueError(f"unknown pretrained model {name!r}; known: {sorted(PRETRAINED)}")
    return PRETRAINED[name]


def pretrained_path(name: str, directory: Union[str, Path, None] = None) -> Path:
    """Where the weights of ``name`` live (``gcnn/pretrained/NAME.pt`` unless ``directory``)."""
    _spec(name)
    return Path(directory or PRETRAINED_DIR) / f"{name}.pt"


def _missing(path: Path, name: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"{path} does not exist: the pretrained model {name!r} has not been made yet. Make it "
        f"with: {_spec(name).command}"
    )


def available_pretrained(directory: Union[str, Path, None] = None) -> List[str]:
    """The known names whose weights are present."""
    return [n for n in sorted(PRETRAINED) if pretrained_path(n, directory).is_file()]


def _check_expectation(name: str, config: dict, where: Path, training: bool = False) -> None:
    """Raise when ``config`` (a model config, or with ``training`` a training config) misfits."""
    spec = _spec(name)
    expect, kind = (spec.training, "training") if training else (spec.expect, "model")
    if training:
        config = with_config_defaults(config)
    wrong = {k: config.get(k) for k, v in expect.items() if config.get(k) != v}
    if wrong:
        raise CheckpointError(
            f"{where} should hold {expect} for {name!r}, but its {kind} config has {wrong}"
        )


def pretrained(name: str, device: Union[str, torch.device] = "cpu",
               directory: Union[str, Path, None] = None) -> nn.Module:
    """The pretrained model ``name`` (``"cnn"``, ``"gcnn-c4"``), in eval mode on ``device``.

    Inputs are ``[B, 1, 28, 28]`` floats in ``[0, 1]`` (no normalisation); outputs ``[B, 10]``
    logits.

    Raises:
        ValueError: an unknown name (the message lists the known ones).
        FileNotFoundError: the weights were not made yet (the message gives the command).
        CheckpointError: the file is corrupt or holds another kind of model.
    """
    path = pretrained_path(name, directory)
    if not path.is_file():
        raise _missing(path, name)
    ckpt = load_checkpoint(path, formats=(PRETRAINED_FORMAT,))
    _check_expectation(name, ckpt["model_config"], path)
    model = _model_from_checkpoint(ckpt, path)
    return model.to(device).eval()


def pretrained_metrics(name: str, directory: Union[str, Path, None] = None) -> dict:
    """The ``metrics.json`` of the run that produced ``name`` (``gcnn/pretrained/NAME.json``)."""
    path = pretrained_path(name, directory).with_suffix(".json")
    if not path.is_file():
        raise _missing(path, name)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def _finished_metrics(run_dir: Path) -> dict:
    metrics_file = run_dir / "metrics.json"
    if not metrics_file.is_file():
        raise FileNotFoundError(f"{metrics_file} does not exist; is {run_dir} a training run?")
    with open(metrics_file, encoding="utf-8") as f:
        metrics = json.load(f)
    if not metrics.get("finished"):
        raise ValueError(f"the run in {run_dir} is not finished ({metrics_file} says so); "
                         f"resume it with --resume first")
    return metrics


def _check_same_settings(name: str, shipped: dict, other: dict, where: Path) -> None:
    """Raise unless ``other`` was trained like the shipped ``name`` in all but the seed."""
    wrong = differences_besides_seed(shipped["config"], other["config"])
    if wrong:
        raise ValueError(f"{where} was not trained like the shipped {name!r} (besides the seed); "
                         f"differences (shipped, this run): {wrong}")


def _seed_files(name: str, directory: Union[str, Path, None]) -> List[Path]:
    folder = pretrained_path(name, directory).parent / SEEDS_SUBDIR
    files = [f for f in folder.glob(f"{name}-s*.json") if f.stem[len(name) + 2:].isdigit()]
    return sorted(files, key=lambda f: int(f.stem[len(name) + 2:]))


def seed_metrics(name: str, directory: Union[str, Path, None] = None) -> List[dict]:
    """The metrics of every shipped seed of ``name``: the shipped run first, then the others.

    The other seeds live in ``gcnn/pretrained/seeds/NAME-sSEED.json`` (metrics only, written by
    :func:`export_seed_metrics`); each is checked to share the shipped run's settings but for the
    seed. A name with no other seeds gives a list of one.

    Raises:
        ValueError: an unknown name, or a seed file trained with other settings.
        FileNotFoundError: the shipped model's metrics are missing.
    """
    shipped = pretrained_metrics(name, directory)
    runs = [shipped]
    for file in _seed_files(name, directory):
        with open(file, encoding="utf-8") as f:
            other = json.load(f)
        _check_same_settings(name, shipped, other, file)
        runs.append(other)
    return runs


def export_seed_metrics(run_dir: Union[str, Path], name: str,
                        directory: Union[str, Path, None] = None) -> Path:
    """Copy a finished run's ``metrics.json`` to ``seeds/NAME-sSEED.json`` beside the shipped model.

    The run must repeat the shipped ``name``'s command with another seed: same settings
    (model, recipe, epochs, evaluation sizes), a seed that is not the shipped one.

    Returns:
        The path of the written JSON file.
    """
    run_dir = Path(run_dir)
    metrics = _finished_metrics(run_dir)
    shipped = pretrained_metrics(name, directory)
    _check_same_settings(name, shipped, metrics, run_dir / "metrics.json")
    seed = int(metrics["config"]["seed"])
    if seed == int(shipped["config"]["seed"]):
        raise ValueError(f"{run_dir} has seed {seed}, the seed of the shipped {name!r} itself")
    target = pretrained_path(name, directory).parent / SEEDS_SUBDIR / f"{name}-s{seed}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    write_json_atomic(metrics, target)
    return target


def export_pretrained(run_dir: Union[str, Path], name: str,
                      directory: Union[str, Path, None] = None) -> Path:
    """Copy a finished run's best model into the pretrained folder as ``NAME.pt`` + ``NAME.json``.

    Only the float32 weights and the model config are kept (no optimizer state). The run's
    ``metrics.json`` is copied unchanged beside it.

    Returns:
        The path of the written ``NAME.pt``.
    """
    run_dir = Path(run_dir)
    target = pretrained_path(name, directory)
    metrics = _finished_metrics(run_dir)
    best = run_dir / "best.pt"
    ckpt = load_checkpoint(best)
    _check_expectation(name, ckpt["model_config"], best)
    _check_expectation(name, ckpt.get("train_config", {}), best, training=True)
    _model_from_checkpoint(ckpt, best)  # the weights must fit the config
    state = {k: (v.float() if v.is_floating_point() else v).contiguous().clone()
             for k, v in ckpt["model_state"].items()}
    save_atomic({
        "format": PRETRAINED_FORMAT, "version": 1, "name": name,
        "model_config": ckpt["model_config"], "model_state": state,
        "epoch": ckpt.get("epoch"), "val_acc": ckpt.get("val_acc"),
    }, target)
    write_json_atomic(metrics, target.with_suffix(".json"))
    return target


def main(argv: Optional[Sequence[str]] = None) -> None:
    p = argparse.ArgumentParser(prog="python -m gcnn.pretrained",
                                description=("List the pretrained models, export a run as one, "
                                             "or ship another seed's metrics."))
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("list", help="known models and whether their files exist")
    ex = sub.add_parser("export", help="export a finished run's best.pt as NAME")
    ex.add_argument("run_dir")
    ex.add_argument("name", choices=sorted(PRETRAINED))
    seed = sub.add_parser("add-seed", help="ship a finished run's metrics as another seed of NAME")
    seed.add_argument("run_dir")
    seed.add_argument("name", choices=sorted(PRETRAINED))
    from ..onnx_export import add_onnx_commands, run_onnx_command  # the live demo (ONNX)

    add_onnx_commands(sub)
    args = p.parse_args(argv)
    if args.cmd == "list":
        for n, spec in PRETRAINED.items():
            there = "present" if pretrained_path(n).is_file() else f"missing (make: {spec.command})"
            seeds = len(_seed_files(n, None))
            print(f"{n}: {spec.description} -- {there}"
                  + (f", {seeds} more seed(s) in {SEEDS_SUBDIR}/" if seeds else ""))
        return
    try:
        if args.cmd in ("onnx", "live-digits"):
            print(run_onnx_command(args))
        elif args.cmd == "add-seed":
            print(f"wrote {export_seed_metrics(args.run_dir, args.name)}")
        else:
            print(f"exported {export_pretrained(args.run_dir, args.name)}")
    except (ValueError, FileNotFoundError, CheckpointError, ImportError) as err:
        p.exit(1, f"{p.prog} {args.cmd}: error: {err}\n")

