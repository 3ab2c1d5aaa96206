"""The live widgets that draw a matplotlib figure: probabilities, a kernel bank, feature maps.

Each keeps one figure (a panel class of :mod:`gcnn.viz`) and, when a control moves, moves that
figure's artists (``set_data``, bar heights, texts) and sends it as a PNG, instead of building a
new figure: one draw per move (``benchmarks/widgets.py`` measures both ways). They are reached
as :mod:`gcnn.widgets` names, beside the other widgets and their kernel-free twins:

* :func:`digit_widget` (twin: :func:`gcnn.viz.probability_animation`);
* :func:`kernel_bank_widget` (twin: :func:`gcnn.viz.kernel_bank_animation`);
* :func:`feature_map_widget` (twin: :func:`gcnn.viz.feature_map_animation`).

ipywidgets is imported inside the functions only.
"""

from __future__ import annotations

from typing import Mapping, Optional

import matplotlib.pyplot as plt
import torch
from torch import Tensor, nn

from .metrics import predict_proba
from .viz.conv import KernelBankPanel
from .viz.features import FeatureMapPanel
from .viz.results import PredictionPanels
from .viz.style import FramePNG, as_digit, check_models, turn_digit

__all__ = ["digit_widget", "kernel_bank_widget", "feature_map_widget"]


def _ipywidgets(who: str, instead: str):
    """The ipywidgets module, or an ImportError that names the kernel-free twin."""
    try:
        import ipywidgets
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ImportError(f"{who} needs ipywidgets (pip install ipywidgets); {instead}") from err
    return ipywidgets


def _digits(images: Optional[Tensor], labels: Optional[Tensor], index: int):
    """The digits to pick from (the MNIST test set by default), checked."""
    if images is None:
        from .data import test_set

        images, labels = test_set()
    if not isinstance(images, Tensor):
        raise TypeError(f"images must be a tensor [N, 1, H, W] (floats in [0, 1] or uint8), "
                        f"got {type(images).__name__}; e.g. torch.as_tensor(images)")
    if labels is not None and not isinstance(labels, Tensor):
        raise TypeError(f"labels must be a tensor [N] of class indices (or None), got "
                        f"{type(labels).__name__}; e.g. torch.as_tensor(labels)")
    if images.dtype == torch.uint8:
        images = images.float() / 255.0
    if images.dim() != 4 or images.shape[0] == 0:
        raise ValueError(f"images must be [N, 1, H, W] with N >= 1, got {list(images.shape)}")
    if labels is not None and labels.shape[0] != images.shape[0]:
        raise ValueError(f"{images.shape[0]} images but {labels.shape[0]} labels")
    if not 0 <= index < images.shape[0]:
        raise ValueError(f"index must be in [0, {images.shape[0]}), got {index}")
    return images, labels


def _digit_controls(w, n: int, index: int, angle: float, step: float):
    pick = w.BoundedIntText(value=int(index), min=0, max=n - 1, step=1, description="digit #",
                            layout=w.Layout(width="190px"))
    slider = w.FloatSlider(value=float(angle) % 360, min=0.0, max=360.0, step=float(step),
                           description="angle (°)", continuous_update=True, readout_format=".0f",
                           layout=w.Layout(width="420px"))
    return pick, slider


def _panel_box(w, panel, controls, show):
    """``controls`` above the picture of ``panel``'s kept figure, as an ``ipywidgets.VBox``.

    Moving any control calls ``show()``, which moves the panel's artists and returns them, and
    blits the new frame (:class:`~gcnn.viz.style.FramePNG`). The box keeps ``.image``,
    ``.panel`` and ``.render()``.
    """
    picture = w.Image(format="png")
    frames = FramePNG(panel.fig, show())

    def render(*_) -> None:
        show()
        picture.value = frames.png()

    for control in controls:
        control.observe(render, names="value")
    render()
    box = w.VBox([*controls, picture])
    box.image, box.panel, box.render = picture, panel, render
    return box


def digit_widget(models: Mapping[str, nn.Module], images: Optional[Tensor] = None,
                 labels: Optional[Tensor] = None, *, index: int = 0, angle: float = 0.0,
                 step: float = 5.0, dpi: int = 80):
    """A live panel: pick a digit and an angle, see each model's probabilities (needs ipywidgets).

    Args:
        models: ``{name: model}``.
        images, labels: the digits to choose from, ``[N, 1, H, W]`` and ``[N]``; by default the
            upright MNIST test set (:func:`gcnn.data.test_set`).
        index, angle: the digit and angle shown first.
        step: the angle slider's step in degrees.
        dpi: resolution of the picture.

    Returns:
        An ``ipywidgets.VBox``; its parts are attributes: ``.index`` (which digit), ``.slider``
        (the angle, clockwise), ``.image`` (the PNG shown), ``.status``; ``.probabilities`` holds
        the last ``{name: [classes]}`` shown and ``.render()`` redraws. One figure is kept and
        its artists moved (:class:`~gcnn.viz.PredictionPanels`), so a move costs one draw.
    """
    w = _ipywidgets("digit_widget", "for a static page use probability_animation instead")
    models = check_models(models)
    images, labels = _digits(images, labels, index)
    pick, slider = _digit_controls(w, images.shape[0], index, angle, step)
    picture, status = w.Image(format="png"), w.HTML()
    box = w.VBox([w.HBox([pick, status]), slider, picture])
    panels = frames = None

    def render(*_) -> None:
        nonlocal panels, frames
        i, a = int(pick.value), float(slider.value)
        label = None if labels is None else int(labels[i])
        image = turn_digit(as_digit(images[i]), [a])
        probs = {name: predict_proba(m, image)[0] for name, m in models.items()}
        if panels is None:
            panels = PredictionPanels(list(models), len(next(iter(probs.values()))), 1.6, dpi)
            plt.close(panels.fig)  # drawn on demand below, never shown by pyplot
        moved = panels.update(image[0, 0], probs, label, a)
        frames = frames or FramePNG(panels.fig, moved)
        box.probabilities = probs
        picture.value = frames.png()
        said = ", ".join(f"{name} says {int(p.argmax())}" for name, p in probs.items())
        truth = "" if label is None else f"test digit {i} is a <b>{label}</b>; "
        status.value = f"{truth}{said}"

    pick.observe(render, names="value")
    slider.observe(render, names="value")
    box.index, box.slider, box.image, box.status = pick, slider, picture, status
    box.render = render
    render()
    return box


def kernel_bank_widget(layer: nn.Module, out_channel: int = 0, in_channel: int = 0, *,
                       dpi: int = 100):
    """A live panel: pick an element ``g`` of the group, see the kernel the layer uses for it.

    Shows a :class:`~gcnn.layers.GroupConvolution`'s learned kernel ``ψ`` (one channel pair)
    and ``Ψ_g``: every slice turned by ``g`` and moved along the group axis
    (:class:`~gcnn.viz.KernelBankPanel`). Its kernel-free twin is
    :func:`gcnn.viz.kernel_bank_animation`. Returns an ``ipywidgets.VBox`` with ``.buttons``
    (the element, an index into ``layer.group.element_names()``) and ``.image`` (the PNG).
    """
    w = _ipywidgets("kernel_bank_widget", "for a static page use kernel_bank_animation instead")
    panel = KernelBankPanel(layer, out_channel, in_channel, dpi=dpi)
    plt.close(panel.fig)
    buttons = w.ToggleButtons(options=[(n, k) for k, n in enumerate(panel.names)], value=0,
                              description="g:", style={"button_width": "56px"})
    box = _panel_box(w, panel, [buttons], lambda: panel.show(int(buttons.value)))
    box.buttons = buttons
    return box


def feature_map_widget(models: Mapping[str, nn.Module], images: Optional[Tensor] = None,
                       labels: Optional[Tensor] = None, *, index: int = 0, angle: float = 0.0,
                       layer: int = 0, step: float = 5.0, dpi: int = 100):
    """A live panel: a digit at any angle and one channel of each model's maps at any layer.

    For a CNN one map, for a G-CNN one per group element (:class:`~gcnn.viz.FeatureMapPanel`).
    ``images``, ``labels``, ``index``, ``angle``, ``step`` are as for :func:`digit_widget`;
    ``layer`` is the convolution shown first (0: the first). Its kernel-free twin is
    :func:`gcnn.viz.feature_map_animation`. Returns an ``ipywidgets.VBox`` with ``.index``,
    ``.slider``, ``.layer`` (a dropdown), ``.image``, ``.status``, ``.frames`` (the last
    :class:`~gcnn.viz.FeatureFrames` per model) and ``.render()``.
    """
    w = _ipywidgets("feature_map_widget", "for a static page use feature_map_animation instead")
    models = check_models(models)
    images, labels = _digits(images, labels, index)
    depth = min(len(getattr(m, "convs", None) or m.features(images[:1])) for m in models.values())
    if not 0 <= layer < depth:
        raise ValueError(f"layer must be in [0, {depth}) (the models' convolutions), got {layer}")
    pick, slider = _digit_controls(w, images.shape[0], index, angle, step)
    choose = w.Dropdown(options=[(f"conv {k}" + (" (lifting)" if k == 0 else ""), k)
                                 for k in range(depth)], value=layer, description="layer",
                        layout=w.Layout(width="220px"))
    picture, status = w.Image(format="png"), w.HTML()
    panel = FeatureMapPanel(models, dpi=dpi)
    box = w.VBox([w.HBox([pick, choose, status]), slider, picture])
    drawn = {}  # the figure last drawn and its FramePNG

    def render(*_) -> None:
        i = int(pick.value)
        box.frames = panel.show(images[i], float(slider.value), int(choose.value))
        if drawn.get("fig") is not panel.fig:  # a new digit or layer: a new layout
            drawn.update(fig=panel.fig, frames=FramePNG(panel.fig, panel.artists))
        picture.value = drawn["frames"].png()
        shown = ", ".join(f"{n}: channel {f.channel}" for n, f in box.frames.items())
        status.value = ("" if labels is None else f"a <b>{int(labels[i])}</b>; ") + shown

    for control in (pick, slider, choose):
        control.observe(render, names="value")
    box.index, box.slider, box.layer, box.image, box.status = pick, slider, choose, picture, status
    box.render = render
    render()
    return box
