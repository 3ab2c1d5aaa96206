"""gcnn: group-equivariant convolutional networks in plain PyTorch, small, exact and tested."""

from .equivariance import equivariance_error, transform
from .groups import CyclicGroup, DihedralGroup, Group, coordinate_grid
from .kernels import transform_images, transform_regular
from .layers import GroupConvolution, GroupLayerNorm, LiftingConvolution, Restriction
from .models import CNN, GroupEquivariantCNN

__version__ = "0.1.0"

__all__ = [
    "Group", "CyclicGroup", "DihedralGroup", "coordinate_grid",
    "transform_images", "transform_regular", "transform",
    "LiftingConvolution", "GroupConvolution", "Restriction", "GroupLayerNorm",
    "GroupEquivariantCNN", "CNN", "equivariance_error",
]
