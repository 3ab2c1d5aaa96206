"""gcnn: group-equivariant convolutional networks in plain PyTorch, small, exact and tested."""

from . import data
from .data import fixed_rotated_test_set, load_goat, rotate, rotated_test_set
from .equivariance import equivariance_error, transform
from .groups import CyclicGroup, DihedralGroup, Group, coordinate_grid
from .invariance import OrbitAverage
from .kernels import transform_images, transform_regular
from .layers import GroupConvolution, GroupLayerNorm, LiftingConvolution, Restriction
from .models import CNN, GroupEquivariantCNN
from .pretrained import export_pretrained, pretrained, pretrained_metrics, seed_metrics
from .train import accuracy_vs_angle, build_model, evaluate, load_model

__version__ = "0.1.0"

__all__ = [
    "Group", "CyclicGroup", "DihedralGroup", "coordinate_grid",
    "transform_images", "transform_regular", "transform",
    "LiftingConvolution", "GroupConvolution", "Restriction", "GroupLayerNorm",
    "GroupEquivariantCNN", "CNN", "equivariance_error", "OrbitAverage",
    "data", "rotate", "load_goat", "fixed_rotated_test_set", "rotated_test_set",
    "build_model", "evaluate", "accuracy_vs_angle", "load_model",
    "pretrained", "pretrained_metrics", "seed_metrics", "export_pretrained",
]
