"""Pictures for the book, sorted by what they draw; every public name is importable from here.

* :mod:`gcnn.viz.images`: pictures as tensors: load, convert, turn, show side by side, digits;
* :mod:`gcnn.viz.groups`: group names, Cayley tables, grid points moved by group elements;
* :mod:`gcnn.viz.conv`: where kernels are read, kernel banks, equivariance of a layer,
  restriction to a subgroup;
* :mod:`gcnn.viz.moves`: a convolution under shifts and turns, a group acting, a lifting
  layer's maps of a turned picture (panels shared by animations and widgets);
* :mod:`gcnn.viz.features`: feature maps on a group, and a network's maps of a turning digit;
* :mod:`gcnn.viz.steerable`: the steerable kernel basis, and how each kernel method turns;
* :mod:`gcnn.viz.results`: accuracy against the angle, confusions, 6s and 9s, predictions;
* :mod:`gcnn.viz.costs`: test accuracy against arithmetic per digit;
* :mod:`gcnn.viz.style`: the colours and axes helpers they share.

The plotting functions return a matplotlib figure (or a closed animation) and never call
``show``; matplotlib is imported when a picture is drawn. Live widgets are in
:mod:`gcnn.widgets`, numbers in :mod:`gcnn.metrics` and tables in :mod:`gcnn.tables`.
"""

from .costs import plot_costs
from .conv import (
    KernelBankPanel,
    kernel_bank_animation,
    plot_equivariance,
    plot_kernel_bank,
    plot_kernel_grid,
    plot_restriction,
)
from .features import (
    FeatureFrames,
    FeatureMapPanel,
    feature_map_animation,
    plot_feature_maps,
    plot_group_feature_maps,
    rotated_features,
)
from .groups import group_label, plot_cayley_table, plot_grid_points
from .moves import (
    ConvMovePanel,
    GroupActionPanel,
    LiftingPanel,
    conv_move_animation,
    group_action_animation,
    lifting_animation,
)
from .images import (
    GOAT_CREDIT,
    as_picture,
    goat_path,
    image_to_png,
    letter_f,
    load_image,
    plot_digit_grid,
    rotate_image,
    show_images,
    to_grayscale,
    to_numpy_image,
    toy_image,
)
from .steerable import plot_kernel_methods, plot_steerable_basis
from .results import (
    PredictionPanels,
    plot_accuracy_vs_angle,
    plot_confusion,
    plot_digit_predictions,
    plot_six_nine,
    plot_training_curves,
    probability_animation,
)

__all__ = [
    # images
    "GOAT_CREDIT", "goat_path", "load_image", "as_picture", "to_grayscale", "to_numpy_image",
    "image_to_png",
    "rotate_image", "letter_f", "toy_image", "show_images", "plot_digit_grid",
    # groups
    "group_label", "plot_cayley_table", "plot_grid_points",
    # moves (chapters 1, 2, 4)
    "ConvMovePanel", "conv_move_animation", "GroupActionPanel", "group_action_animation",
    "LiftingPanel", "lifting_animation",
    # convolutions
    "plot_kernel_grid", "plot_kernel_bank", "KernelBankPanel", "kernel_bank_animation",
    "plot_equivariance", "plot_restriction",
    # feature maps
    "plot_group_feature_maps", "FeatureFrames", "rotated_features", "plot_feature_maps",
    "feature_map_animation", "FeatureMapPanel",
    # steerable kernels
    "plot_steerable_basis", "plot_kernel_methods",
    # results
    "plot_accuracy_vs_angle", "plot_training_curves", "plot_confusion", "plot_six_nine",
    "plot_digit_predictions", "PredictionPanels", "probability_animation",
    # costs
    "plot_costs",
]
