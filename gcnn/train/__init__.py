"""Train and evaluate the post's rotated-digits experiment: a CNN or a G-CNN on upright MNIST.

* :mod:`gcnn.train.loop`: :func:`train` fits one model (from a
  :class:`~gcnn.experiments.TrainConfig`) and writes ``best.pt``, ``last.pt`` and
  ``metrics.json`` into its run directory; it can be stopped and resumed bit for bit
  (:mod:`gcnn.train.state`: the run's state, saved to and resumed from ``last.pt``).
* :mod:`gcnn.train.checks`: :func:`validate_run`, every check a run passes before any data is
  loaded (settings, device, output folder, export name and recipe).
* :mod:`gcnn.train.cli`: ``python -m gcnn.train`` (see ``--help``) and
  :func:`run_experiments`, which trains named experiments seed by seed.

What a run is made of lives in the concept modules: the recipe and the named experiments in
:mod:`gcnn.experiments`, the models in :mod:`gcnn.builders`, checkpoints in
:mod:`gcnn.checkpoint`, accuracy and the angle sweep in :mod:`gcnn.metrics`.
"""

from ..experiments import TrainConfig
from .checks import validate_run
from .cli import main, parser, run_experiments, run_state
from .loop import pick_device, train

__all__ = ["TrainConfig", "train", "validate_run", "pick_device", "main", "parser",
           "run_experiments", "run_state"]
