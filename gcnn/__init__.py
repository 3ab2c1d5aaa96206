"""gcnn: group-equivariant convolutional networks in plain PyTorch, small, exact and tested."""

from . import data
from .data import fixed_rotated_test_set, load_goat, rotate, rotated_test_set
from .equivariance import equivariance_error, transform
from .groups import CyclicGroup, DihedralGroup, Group, coordinate_grid
from .invariance import OrbitAverage
from .kernels import transform_images, transform_regular
from .layers import (
    GroupBatchNorm,
    GroupConvolution,
    GroupLayerNorm,
    LiftingConvolution,
    Restriction,
)
from .models import CNN, GroupEquivariantCNN
from .metrics import accuracy_vs_angle, evaluate
from .builders import build_model
from .checkpoint import load_model
from . import train  # noqa: F401  (gcnn.train.TrainConfig, gcnn.train.train)
# ``gcnn.pretrained`` is the subpackage, callable as its function ``pretrained(name)`` and
# carrying the registry (``gcnn.pretrained.PRETRAINED``).
from . import pretrained
from .pretrained import export_pretrained, pretrained_metrics, seed_metrics

__version__ = "0.1.0"

__all__ = [
    "Group", "CyclicGroup", "DihedralGroup", "coordinate_grid",
    "transform_images", "transform_regular", "transform",
    "LiftingConvolution", "GroupConvolution", "Restriction", "GroupLayerNorm", "GroupBatchNorm",
    "GroupEquivariantCNN", "CNN", "equivariance_error", "OrbitAverage",
    "data", "rotate", "load_goat", "fixed_rotated_test_set", "rotated_test_set",
    "build_model", "evaluate", "accuracy_vs_angle", "load_model",
    "pretrained", "pretrained_metrics", "seed_metrics", "export_pretrained",
]
