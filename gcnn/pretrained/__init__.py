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
:data:`gcnn.experiments.SHIPPED`.

Other seeds of a model's command ship as metrics only (no weights), in
``gcnn/pretrained/seeds/NAME-sSEED.json``: :func:`seed_metrics` returns all seeds of ``NAME``
(the shipped run first), so a table can show the spread over seeds without any training.
Add one with :func:`export_seed_metrics` (``python -m gcnn.pretrained add-seed RUN_DIR NAME``);
the run must have the shipped run's exact settings but its seed.

``"best"`` names issue #17's best model: of the shipped candidates (the experiments of the set
``"recipe"``, :data:`gcnn.experiments.SETS`), the one :func:`gcnn.selection.choose_best` picks on
upright validation accuracy alone, within the budget; :func:`best_name` says which.
``pretrained("best")`` returns it as it is used: wrapped in :class:`gcnn.OrbitAverage` over its
``test_orbit`` when it has one (log-probabilities out, not logits).

``gcnn.pretrained`` is this module and is itself callable: ``gcnn.pretrained("gcnn-c4")`` is
:func:`pretrained`, and ``gcnn.pretrained.PRETRAINED`` is the registry. Which models ship, and
the command that makes each, is written once, in :data:`gcnn.experiments.SHIPPED`.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Tuple, Union

import torch
from torch import nn

from ..checkpoint import (
    CheckpointError,
    load_checkpoint,
    load_model,
    model_from_checkpoint,
    save_atomic,
    write_json_atomic,
)
from ..experiments import (
    SETS,
    SHIPPED,
    PretrainedSpec,
    TrainConfig,
    config_differences,
    differences_besides_seed,
    with_config_defaults,
)
from ..invariance import OrbitAverage

__all__ = [
    "PRETRAINED",
    "PRETRAINED_DIR",
    "pretrained",
    "pretrained_metrics",
    "pretrained_path",
    "available_pretrained",
    "export_pretrained",
    "check_export",
    "seed_metrics",
    "export_seed_metrics",
    "load_run",
    "BEST",
    "candidate_names",
    "best_name",
]

PRETRAINED_DIR = Path(__file__).resolve().parent
PRETRAINED_FORMAT = "gcnn-pretrained"
SEEDS_SUBDIR = "seeds"


#: The known pretrained models: name -> spec (:data:`gcnn.experiments.SHIPPED`). Files live in
#: ``gcnn/pretrained/NAME.pt|.json``.
PRETRAINED: Dict[str, PretrainedSpec] = SHIPPED


#: The name of issue #17's best model among the shipped candidates (:func:`best_name`).
BEST = "best"


def candidate_names(directory: Union[str, Path, None] = None) -> List[str]:
    """The shipped candidates for ``"best"``: models of the set ``"recipe"``'s experiments whose
    files are in ``directory``, sorted by name."""
    return [name for name in sorted(PRETRAINED) if PRETRAINED[name].experiment in SETS["recipe"]
            and pretrained_path(name, directory).with_suffix(".json").is_file()]


def best_name(directory: Union[str, Path, None] = None) -> str:
    """The shipped model ``"best"`` stands for: :func:`gcnn.selection.choose_best` over every
    shipped seed of the shipped candidates (experiments of the set ``"recipe"``), with the
    post's C4 G-CNN (``"gcnn-c4"``) as the unit of compute. Only upright validation accuracy
    enters the choice.

    Raises:
        ValueError: no candidate is shipped, or none fits the budget.
    """
    from ..selection import choose_best   # selection -> tables -> builders: no cycle
    from ..tables import macs_per_image

    candidates = {name: seed_metrics(name, directory) for name in candidate_names(directory)}
    if not candidates:
        raise ValueError(f"no candidate for {BEST!r} is shipped (experiments of the set "
                         f"'recipe': {SETS['recipe']})")
    return choose_best(candidates, macs_per_image(pretrained_metrics("gcnn-c4", directory)))


def _resolve(name: str, directory: Union[str, Path, None] = None) -> str:
    return best_name(directory) if name == BEST else name


def _spec(name: str) -> PretrainedSpec:
    if name not in PRETRAINED:
        raise ValueError(f"unknown pretrained model {name!r}; known: {sorted(PRETRAINED)} "
                         f"and {BEST!r}")
    return PRETRAINED[name]


def pretrained_path(name: str, directory: Union[str, Path, None] = None) -> Path:
    """Where the weights of ``name`` live (``gcnn/pretrained/NAME.pt`` unless ``directory``)."""
    name = _resolve(name, directory)
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


def _check_expectation(name: str, config: dict, where: Union[str, Path],
                       training: bool = False) -> None:
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
    logits. ``"best"`` is the model :func:`best_name` names, as it is used: averaged over its
    ``test_orbit`` by :class:`gcnn.OrbitAverage` when it has one (then the outputs are the
    averaged log-probabilities).

    Raises:
        ValueError: an unknown name (the message lists the known ones).
        FileNotFoundError: the weights were not made yet (the message gives the command).
        CheckpointError: the file is corrupt or holds another kind of model.
    """
    if name == BEST:
        name = best_name(directory)
        model = pretrained(name, device, directory)
        orbit = pretrained_metrics(name, directory)["config"].get("test_orbit")
        return OrbitAverage(model, orbit).eval() if orbit else model
    path = pretrained_path(name, directory)
    if not path.is_file():
        raise _missing(path, name)
    ckpt = load_checkpoint(path, formats=(PRETRAINED_FORMAT,))
    _check_expectation(name, ckpt["model_config"], path)
    model = model_from_checkpoint(ckpt, path)
    return model.to(device).eval()


def pretrained_metrics(name: str, directory: Union[str, Path, None] = None) -> dict:
    """The ``metrics.json`` of the run that produced ``name`` (``gcnn/pretrained/NAME.json``)."""
    name = _resolve(name, directory)
    path = pretrained_path(name, directory).with_suffix(".json")
    if not path.is_file():
        raise _missing(path, name)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_run(source: Union[str, Path]) -> Tuple[nn.Module, dict]:
    """``(model, metrics)`` of a training run's folder (its ``best.pt``) or a shipped model's name.

    Raises:
        ValueError: ``source`` is neither a run folder nor the name of a present shipped model.
    """
    path = Path(source)
    if path.is_dir():
        return load_model(path / "best.pt"), json.loads((path / "metrics.json").read_text())
    if str(source) in available_pretrained():
        return pretrained(str(source)), pretrained_metrics(str(source))
    raise ValueError(f"{str(source)!r} is neither a run folder nor a shipped model "
                     f"(shipped: {', '.join(available_pretrained())})")


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
    name = _resolve(name, directory)
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


def _replacement_problems(name: str, target: Path, config: dict,
                          val_acc: Optional[float]) -> List[str]:
    """Why a run (``config``, best validation accuracy ``val_acc``) may not replace ``target``.

    Empty when nothing is shipped at ``target`` yet, or when the run has the shipped run's exact
    settings (seed included) and is at least as good on validation (``None``: not known yet).
    """
    if not target.is_file():
        return []
    recipe_file = target.with_suffix(".json")
    if not recipe_file.is_file():
        return [f"{recipe_file.name}, its recorded recipe, is missing, so nothing shows this "
                f"run repeats it"]
    shipped = json.loads(recipe_file.read_text(encoding="utf-8"))
    problems = []
    diffs = config_differences(shipped.get("config", {}), config)
    if diffs:
        problems.append(f"it was trained with other settings (setting: (shipped, this run)): "
                        f"{diffs}")
    best = shipped.get("best_val_acc")
    if val_acc is not None and best is not None and val_acc < best:
        problems.append(f"its best validation accuracy {val_acc} is below the shipped run's "
                        f"{best}")
    return problems


def check_export(name: str, train_config: dict, directory: Union[str, Path, None] = None,
                 overwrite: bool = False, val_acc: Optional[float] = None) -> List[str]:
    """Check that a run with ``train_config`` may be exported as the pretrained ``name``.

    Runs before training too (``python -m gcnn.train --export-pretrained``), where ``val_acc``
    is not known yet. A name whose files are not there yet takes any run of its kind (model,
    group, channels, epochs, augmentation: :class:`~gcnn.experiments.PretrainedSpec`). A shipped
    model is replaced only by a run of its recorded recipe, seed included, that is at least as
    good on validation; ``overwrite=True`` replaces it anyway.

    Returns:
        The reasons the run would not replace the shipped model (empty if it may, or if there
        is none); with ``overwrite=False`` a non-empty list is raised instead.

    Raises:
        ValueError: an unknown name, or a shipped model this run may not replace.
        CheckpointError: the run is not of the named kind.
    """
    target = pretrained_path(name, directory)
    full = with_config_defaults(train_config)
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    mc = TrainConfig(**{k: v for k, v in full.items() if k in known}).model_config()
    _check_expectation(name, mc, "this run")
    _check_expectation(name, full, "this run", training=True)
    problems = _replacement_problems(name, target, full, val_acc)
    if problems and not overwrite:
        raise ValueError(
            f"{target} is the shipped {name!r}, and this run may not replace it: "
            f"{'; '.join(problems)}. Train it with the shipped recipe (the settings in "
            f"{target.with_suffix('.json').name}), export under a name that has no files yet, "
            f"or pass overwrite=True (--force on the command line) to replace it anyway."
        )
    return problems


def export_pretrained(run_dir: Union[str, Path], name: str,
                      directory: Union[str, Path, None] = None, overwrite: bool = False) -> Path:
    """Copy a finished run's best model into the pretrained folder as ``NAME.pt`` + ``NAME.json``.

    Only the float32 weights and the model config are kept (no optimizer state). The run's
    ``metrics.json`` is copied unchanged beside it. A shipped model is only replaced by a run
    of its recorded recipe that is at least as good on validation (:func:`check_export`), unless
    ``overwrite=True``, which warns what it replaces.

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
    problems = check_export(name, metrics.get("config", {}), directory, overwrite,
                            val_acc=metrics.get("best_val_acc"))
    model_from_checkpoint(ckpt, best)  # the weights must fit the config
    if problems:
        warnings.warn(f"replacing the shipped {name!r} ({target}) with the run {run_dir}, as "
                      f"asked (overwrite): {'; '.join(problems)}", UserWarning, stacklevel=2)
    state = {k: (v.float() if v.is_floating_point() else v).contiguous().clone()
             for k, v in ckpt["model_state"].items()}
    save_atomic({
        "format": PRETRAINED_FORMAT, "version": 1, "name": name,
        "model_config": ckpt["model_config"], "model_state": state,
        "epoch": ckpt.get("epoch"), "val_acc": ckpt.get("val_acc"),
    }, target)
    write_json_atomic(metrics, target.with_suffix(".json"))
    return target


class _CallableModule(types.ModuleType):
    """This module, callable as :func:`pretrained`: ``gcnn.pretrained("gcnn-c4")``."""

    def __call__(self, name: str, device: Union[str, torch.device] = "cpu",
                 directory: Union[str, Path, None] = None) -> nn.Module:
        return pretrained(name, device, directory)


sys.modules[__name__].__class__ = _CallableModule
