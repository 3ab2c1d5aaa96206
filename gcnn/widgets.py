"""Every live widget of the book, and its kernel-free twin.

A live widget is an `ipywidgets <https://ipywidgets.readthedocs.io>`_ panel: it needs a running
Python kernel (Jupyter, Colab), because every move of a control computes a new picture. Each has
a twin that is computed ahead and works in a static web page:

* :func:`rotation_widget` (a picture turned by a slider, the elements of ``C4`` as buttons, an
  upload button) and its twin :func:`rotation_animation`;
* :func:`digit_widget` (a test digit at any angle, and each model's class probabilities) and its
  twin :func:`gcnn.viz.results.probability_animation`;
* :func:`kernel_bank_widget` (a group convolution's kernel for any group element) and its twin
  :func:`gcnn.viz.kernel_bank_animation`;
* :func:`feature_map_widget` (a network's feature maps of a digit at any angle, any layer) and its
  twin :func:`gcnn.viz.feature_map_animation`;
* :func:`conv_move_widget` (a convolution's response to a shifted or turned picture),
  :func:`group_action_widget` (a group element acting on a picture and on the group) and
  :func:`lifting_widget` (a lifting convolution's maps of a turned picture), from
  :mod:`gcnn.intro_widgets`; twins :func:`gcnn.viz.conv_move_animation`,
  :func:`gcnn.viz.group_action_animation`, :func:`gcnn.viz.lifting_animation`;
* :func:`schedule_widget` (one group per layer from dropdowns, checked and measured) and its twin
  :func:`gcnn.tables.schedule_table`.

The three figure widgets live in :mod:`gcnn.figure_widgets` (imported here): they keep one
matplotlib figure and move its artists on every change, then send it as a PNG.
:func:`animation_html` embeds an animation in a page, with a frame slider and play buttons.
ipywidgets is imported inside the widget functions only, so ``import gcnn.widgets`` works
without it.
"""

from __future__ import annotations

from typing import Callable, Optional, Sequence

import numpy as np
import torch
from torch import Tensor

from .builders import GROUP_CHOICES, schedule_report
from .data import ImageSource, load_image
from .figure_widgets import _ipywidgets, digit_widget, feature_map_widget, kernel_bank_widget
from .intro_widgets import conv_move_widget, group_action_widget, lifting_widget
from .tables import report_html
from .viz.images import add_caption, as_picture, image_to_png, rotate_image, to_numpy_image
from .viz.style import legible

__all__ = [
    "rotation_widget",
    "rotation_animation",
    "animation_html",
    "digit_widget",
    "kernel_bank_widget",
    "feature_map_widget",
    "conv_move_widget",
    "group_action_widget",
    "lifting_widget",
    "schedule_widget",
]


#: Names and angles (clockwise, degrees) of the elements of C4, as CyclicGroup(4) orders them.
C4_ELEMENTS = (("e", 0.0), ("r1", 90.0), ("r2", 180.0), ("r3", 270.0))


def _uploaded_bytes(value) -> Optional[bytes]:
    """The content of the first uploaded file, for ipywidgets 8 (a tuple) and 7 (a dict)."""
    if not value:
        return None
    if isinstance(value, dict):  # ipywidgets 7: {name: {"metadata": ..., "content": ...}}
        item = next(iter(value.values()))
    else:  # ipywidgets 8: ({"name": ..., "content": memoryview, ...}, ...)
        item = value[0]
    return bytes(item["content"])


def _rotation_controls(w, display_px: int):
    """The angle slider, the C4 buttons, the upload button, the picture and the status line."""
    slider = w.FloatSlider(value=0.0, min=0.0, max=360.0, step=1.0, description="angle (°)",
                           continuous_update=True, readout_format=".0f",
                           layout=w.Layout(width=f"{max(display_px + 120, 320)}px"))
    buttons = w.ToggleButtons(
        options=[(f"{name} · {deg:.0f}°", k) for k, (name, deg) in enumerate(C4_ELEMENTS)],
        value=0, description="C4:", style={"button_width": "72px"},
    )
    upload = w.FileUpload(accept="image/*", multiple=False, description="Load image")
    picture = w.Image(format="png", width=display_px, height=display_px)
    return slider, buttons, upload, picture, w.HTML()


def _c4_status(angle: float) -> str:
    """What the status line says about ``angle``: an element of C4 (exact), or not."""
    if abs(angle - 90.0 * round(angle / 90.0)) < 1e-9:
        name = C4_ELEMENTS[round(angle / 90.0) % 4][0]
        return f"<b>{name}</b>: {angle:.0f}° clockwise, an element of C4 (exact)"
    return f"{angle:.0f}° clockwise: not in C4 (bilinear interpolation)"


def rotation_widget(image: ImageSource | Tensor = None, size: int = 128, *, display_px: int = 256):
    """A live panel that turns a picture by any angle (needs ipywidgets and a running kernel).

    Args:
        image: a ``[C, H, W]`` tensor (floats in ``[0, 1]``, or uint8, scaled to ``[0, 1]``), a
            path, raw image bytes, or ``None`` for the goat; paths and bytes go through
            :func:`~gcnn.data.load_image` (center crop, resize), a non-square tensor is
            center-cropped to a square.
        size: side in pixels of a picture loaded from a path, bytes or an upload.
        display_px: side of the picture on screen.

    Returns:
        An ``ipywidgets.VBox``; show it as the last line of a cell. Its parts are reachable as
        attributes: ``.slider`` (the angle in degrees, clockwise), ``.buttons`` (the elements of
        ``C4``), ``.upload`` (load your own picture), ``.image`` (the PNG shown), ``.status``;
        ``.set_image(new)`` swaps the picture from code.

    Moving the slider to any angle rotates by interpolation; the four buttons (and the slider at
    0°, 90°, 180°, 270°) rotate exactly, by permuting pixels.
    """
    w = _ipywidgets("rotation_widget", "for a static page use rotation_animation instead")
    state = {"image": as_picture(image, size), "busy": False}
    slider, buttons, upload, picture, status = _rotation_controls(w, display_px)

    def render() -> None:
        angle = float(slider.value) % 360.0
        picture.value = image_to_png(rotate_image(state["image"], angle))
        status.value = _c4_status(angle)

    def on_angle(change) -> None:
        if state["busy"]:
            return
        state["busy"] = True
        try:
            angle = float(change["new"]) % 360.0
            quarter = angle / 90.0
            exact = abs(quarter - round(quarter)) < 1e-9
            buttons.value = int(round(quarter)) % 4 if exact else None
            render()
        finally:
            state["busy"] = False

    def on_button(change) -> None:
        if state["busy"] or change["new"] is None:
            return
        slider.value = C4_ELEMENTS[int(change["new"])][1]  # fires on_angle, which renders

    def on_upload(change) -> None:
        content = _uploaded_bytes(change["new"])
        if content is None:
            return
        try:
            state["image"] = load_image(content, size)
        except Exception as err:  # a file that is not a picture: say so, keep the old one
            status.value = f"<span style='color:crimson'>could not read that file: {err}</span>"
            return
        render()

    slider.observe(on_angle, names="value")
    buttons.observe(on_button, names="value")
    upload.observe(on_upload, names="value")
    render()

    box = w.VBox([w.HBox([upload, status]), buttons, slider, picture])
    box.slider, box.buttons, box.upload = slider, buttons, upload
    box.image, box.status = picture, status

    def set_image(new) -> None:
        state["image"] = as_picture(new, size)
        render()

    box.set_image = set_image
    return box


def rotation_animation(
    image: ImageSource | Tensor = None,
    angles: Optional[Sequence[float]] = None,
    *,
    extra_panel: Optional[Callable] = None,
    size: int = 128,
    panel_inches: float = 2.5,
    dpi: int = 100,
    interval: int = 150,
    caption: Optional[str] = None,
    cmap: str = "gray",
):
    """Pre-render a picture turning through ``angles`` as a matplotlib ``FuncAnimation``.

    Args:
        image: as for :func:`rotation_widget` (``None``: the goat).
        angles: clockwise angles in degrees, one per frame; ``0, 15, ..., 345`` (24 frames) by
            default. Evenly spaced angles around the circle are themselves a cyclic group
            ``C_N``, so a looping animation never jumps.
        extra_panel: ``None``, or a function ``f(ax, rotated_image, angle)`` that draws a second
            panel next to the picture for each frame (for instance a model's class probabilities
            for the rotated digit). ``ax`` is cleared before each call; ``rotated_image`` is the
            ``[C, H, W]`` tensor shown; ``angle`` is in degrees.
        size: side of a picture loaded from a path or bytes.
        panel_inches, dpi: size of each panel; at the defaults a picture panel is 250 px wide.
        interval: milliseconds between frames when playing.
        caption: text under the picture, wrapped to its width (for example a photo credit).
        cmap: colour map for one-channel pictures.

    Returns:
        The animation (its figure is closed, so a notebook does not also show a still copy).
        ``anim.angles`` lists the angles and ``anim.frame_images`` the ``[N, C, H, W]`` frames.
        Embed it with :func:`animation_html`.
    """
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    img = as_picture(image, size)
    angles = [float(a) for a in (np.arange(0, 360, 15) if angles is None else angles)]
    if not angles:
        raise ValueError("rotation_animation needs at least one angle")
    frames = torch.stack([rotate_image(img, a) for a in angles])  # [N, C, H, W]

    ncols = 1 if extra_panel is None else 2
    fig, axes = plt.subplots(1, ncols, figsize=(panel_inches * ncols, panel_inches + 0.35),
                             dpi=dpi, squeeze=False)
    ax_img = axes[0, 0]
    ax_extra = axes[0, 1] if extra_panel is not None else None
    first = to_numpy_image(frames[0])
    kwargs = {}
    if first.ndim == 2:
        kwargs = dict(cmap=cmap, vmin=float(frames.min()), vmax=float(frames.max()))
    shown = ax_img.imshow(first, interpolation="nearest", **kwargs)
    ax_img.set_axis_off()
    title = ax_img.set_title("", fontsize=10)

    def draw(i: int):
        shown.set_data(to_numpy_image(frames[i]))
        title.set_text(f"{angles[i]:.0f}° clockwise")
        if ax_extra is not None:
            ax_extra.clear()
            extra_panel(ax_extra, frames[i], angles[i])
        return (shown, title)

    draw(0)
    legible(fig, layout=fig.tight_layout, bbox_inches=None)  # text of 9 pt at least, as shown
    if caption:
        fig.tight_layout(rect=(0, add_caption(fig, caption), 1, 1))
    anim = FuncAnimation(fig, draw, frames=len(angles), interval=interval, blit=False)
    plt.close(fig)
    anim.angles = angles
    anim.frame_images = frames
    return anim


def animation_html(anim, *, default_mode: str = "loop", frame_format: str = "jpeg",
                   quality: int = 85, embed_limit_mb: float = 20.0):
    """Embed an animation as HTML with a frame slider and play buttons (no kernel needed).

    This is :meth:`matplotlib.animation.Animation.to_jshtml` with a choice of frame format:
    JPEG frames of a photo are several times smaller than PNG ones, which keeps a web page light.

    Args:
        anim: a matplotlib animation, for example from :func:`rotation_animation`.
        default_mode: ``"loop"``, ``"once"`` or ``"reflect"`` (what "play" does at the end).
        frame_format: ``"jpeg"`` (small, for photos) or ``"png"`` (sharp edges, larger).
        quality: JPEG quality, 1 to 95.
        embed_limit_mb: matplotlib's size limit for the embedded frames, in MB.

    Returns:
        An ``IPython.display.HTML`` object (show it as the last line of a cell); its ``.data``
        is the HTML text.
    """
    import tempfile
    from pathlib import Path

    from IPython.display import HTML
    from matplotlib.animation import HTMLWriter

    if frame_format not in ("jpeg", "png"):
        raise ValueError(f"frame_format must be 'jpeg' or 'png', got {frame_format!r}")
    fps = 1000.0 / getattr(anim, "_interval", 200)
    writer = HTMLWriter(fps=fps, embed_frames=True, default_mode=default_mode,
                        embed_limit=embed_limit_mb)
    writer.frame_format = frame_format
    savefig_kwargs = {"pil_kwargs": {"quality": int(quality)}} if frame_format == "jpeg" else {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "animation.html")
        anim.save(str(path), writer=writer, savefig_kwargs=savefig_kwargs)
        return HTML(path.read_text())


def schedule_widget(layers: int = 5, initial: Sequence[str] = ("C8", "C8", "C4", "C4", "C1"),
                    budget: int = 64, x: Optional[Tensor] = None):
    """A live panel to build a schedule: one dropdown per layer (needs ipywidgets and a kernel).

    Every change builds the untrained network (channels from ``budget``) and shows whether the
    schedule is valid (else the error message), its size, and how much its logits change under
    the quarter turns (:func:`schedule_report`).

    Returns:
        An ``ipywidgets.VBox`` with attributes ``.dropdowns`` (one per layer) and ``.result``
        (the HTML shown).
    """
    w = _ipywidgets("schedule_widget", "without a kernel, use schedule_table instead")
    initial = list(initial)
    if len(initial) != layers:
        raise ValueError(f"initial needs {layers} groups (one per layer), got {len(initial)}")
    names = ["lifting"] + [f"conv {i}" for i in range(1, layers)]
    dropdowns = [w.Dropdown(options=list(GROUP_CHOICES), value=g, description=n,
                            layout=w.Layout(width="150px"), style={"description_width": "52px"})
                 for n, g in zip(names, initial)]
    result = w.HTML()

    def update(_change=None) -> None:
        result.value = "<i>building…</i>"
        report = schedule_report([d.value for d in dropdowns], x=x, budget=budget)
        result.value = report_html(report)

    for d in dropdowns:
        d.observe(update, names="value")
    update()
    box = w.VBox([w.HTML("<b>Group of each layer</b> (each must lie inside the one before):"),
                  w.HBox(dropdowns), result])
    box.dropdowns = dropdowns
    box.result = result
    return box
