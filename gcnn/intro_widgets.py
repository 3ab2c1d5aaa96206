"""The live widgets of chapters 1, 2 and 4: a convolution moved, a group acting, a lifting layer.

Each keeps one figure (a panel class of :mod:`gcnn.viz.moves`) and, when a control moves, moves
that figure's artists and sends it as a PNG. They are reached as :mod:`gcnn.widgets` names:

* :func:`conv_move_widget` (twin: :func:`gcnn.viz.conv_move_animation`);
* :func:`group_action_widget` (twin: :func:`gcnn.viz.group_action_animation`);
* :func:`lifting_widget` (twin: :func:`gcnn.viz.lifting_animation`).

ipywidgets is imported inside the functions only.
"""

from __future__ import annotations

import io
from typing import Optional, Sequence, Tuple

import matplotlib.pyplot as plt
from torch import Tensor, nn

from .figure_widgets import _ipywidgets, _panel_box
from .groups import CyclicGroup, DihedralGroup, Group
from .layers import LiftingConvolution
from .viz.groups import group_label
from .viz.moves import ConvMovePanel, GroupActionPanel, LiftingPanel

__all__ = ["conv_move_widget", "group_action_widget", "lifting_widget"]


def conv_move_widget(conv: nn.Module, x: Tensor, *, step: Tuple[int, int] = (6, -10),
                     shifts: int = 8, dpi: int = 80):
    """A live panel: shift and turn a picture, see a convolution's response follow it (or not).

    ``conv`` maps a ``[1, 1, H, W]`` picture ``x`` to ``[1, 1, H, W]``. The shift slider ``k``
    rolls the picture by ``k * step = (dy, dx)`` pixels (``0 <= k < shifts``), the turn slider
    turns it clockwise (degrees); the panel (:class:`~gcnn.viz.ConvMovePanel`) shows the moved
    picture, ``conv(move x)`` and ``conv(move x) - move(conv x)``. Its kernel-free twin is
    :func:`gcnn.viz.conv_move_animation`. Returns an ``ipywidgets.VBox`` with ``.shift``,
    ``.turn``, ``.image`` (the PNG), ``.panel`` and ``.render()``.
    """
    w = _ipywidgets("conv_move_widget", "for a static page use conv_move_animation instead")
    if len(step) != 2 or not all(isinstance(s, int) for s in step):
        raise ValueError(f"step must be (dy, dx), two ints in pixels, got {step!r}")
    if not isinstance(shifts, int) or shifts < 1:
        raise ValueError(f"shifts must be an int >= 1, got {shifts!r}")
    panel = ConvMovePanel(conv, x, dpi=dpi)
    plt.close(panel.fig)
    shift = w.IntSlider(value=0, min=0, max=shifts - 1, description=f"shift ×{tuple(step)}",
                        style={"description_width": "initial"}, layout=w.Layout(width="420px"))
    turn = w.FloatSlider(value=0.0, min=0.0, max=360.0, step=5.0, description="turn (°)",
                         readout_format=".0f", layout=w.Layout(width="420px"))

    def show():
        k = int(shift.value)
        return panel.show((step[0] * k, step[1] * k), float(turn.value))

    box = _panel_box(w, panel, [shift, turn], show)
    box.shift, box.turn = shift, turn
    return box


def _figure_png(fig) -> bytes:
    """The kept figure as PNG bytes (its artists were replaced, so drawn in full)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi)
    return buf.getvalue()


def group_action_widget(picture: Tensor, groups: Optional[Sequence[Group]] = None, *,
                        name: str = "picture", dpi: int = 80):
    """A live panel: pick a group element, see it act on a picture and on the group.

    ``picture`` is ``[1, H, W]`` (e.g. :func:`gcnn.viz.letter_f`); ``groups`` the groups whose
    elements the dropdown offers (default ``C4`` and ``D4``); ``name`` names the picture. The panel
    (:class:`~gcnn.viz.GroupActionPanel`) shows ``g`` applied to the picture and ``h -> g · h``
    as arrows. Its kernel-free twin is :func:`gcnn.viz.group_action_animation`. Returns an
    ``ipywidgets.VBox`` with ``.element`` (a dropdown of ``(group, index)``), ``.image``,
    ``.panel`` and ``.render()``.
    """
    w = _ipywidgets("group_action_widget", "for a static page use group_action_animation instead")
    if groups is None:
        groups = [CyclicGroup(order=4), DihedralGroup(order=4)]
    panel = GroupActionPanel(picture, groups, name=name, dpi=dpi)
    plt.close(panel.fig)
    options = [(f"{group_label(G)}: {name}", (k, i))
               for k, G in enumerate(panel.groups) for i, name in enumerate(G.element_names())]
    element = w.Dropdown(options=options, value=(0, 0), description="g:")
    image = w.Image(format="png")

    def render(*_) -> None:
        panel.show(*element.value)
        image.value = _figure_png(panel.fig)

    element.observe(render, names="value")
    render()
    box = w.VBox([element, image])
    box.element, box.image, box.panel, box.render = element, image, panel, render
    return box


def lifting_widget(layer: LiftingConvolution, x: Tensor, channel: int = 0, *,
                   step: float = 5.0, dpi: int = 80):
    """A live panel: turn a picture by any angle, see a lifting convolution's ``|G|`` maps.

    ``layer`` has one input channel, ``x`` is ``[1, 1, H, W]``; ``channel`` is the output
    channel shown. At the angles of the group the maps turn and roll along the group axis
    (:class:`~gcnn.viz.LiftingPanel`). Its kernel-free twin is :func:`gcnn.viz.lifting_animation`.
    Returns an ``ipywidgets.VBox`` with ``.slider`` (degrees, clockwise), ``.image``, ``.panel``
    and ``.render()``.
    """
    w = _ipywidgets("lifting_widget", "for a static page use lifting_animation instead")
    if not step > 0:
        raise ValueError(f"step must be a positive number of degrees, got {step!r}")
    panel = LiftingPanel(layer, x, channel, dpi=dpi)
    plt.close(panel.fig)
    slider = w.FloatSlider(value=0.0, min=0.0, max=360.0, step=float(step),
                           description="angle (°)", readout_format=".0f",
                           layout=w.Layout(width="420px"))
    box = _panel_box(w, panel, [slider], lambda: panel.show(float(slider.value)))
    box.slider = slider
    return box
