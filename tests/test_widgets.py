"""Live widgets (gcnn.widgets): they update when their controls move (needs ipywidgets)."""

from __future__ import annotations

import datetime
import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from gcnn.viz import image_to_png, load_image, rotate_image  # noqa: E402
from gcnn import CyclicGroup, DihedralGroup, GroupConvolution, LiftingConvolution  # noqa: E402
from gcnn.viz.style import FramePNG  # noqa: E402
from gcnn.viz import letter_f, toy_image  # noqa: E402
from gcnn.widgets import (  # noqa: E402
    conv_move_widget,
    digit_widget,
    feature_map_widget,
    group_action_widget,
    kernel_bank_widget,
    lifting_widget,
    rotation_widget,
    schedule_widget,
)


def _png_bytes(width, height, color=(200, 30, 30)):
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format="PNG")
    return buf.getvalue()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_digit_widget_updates(models, digits):
    pytest.importorskip("ipywidgets")
    images, labels = digits
    box = digit_widget(models, images, labels, index=2, angle=0, dpi=30)
    first_png, first = box.image.value, box.probabilities["CNN"].clone()
    assert first_png[:4] == b"\x89PNG"
    assert "is a <b>4</b>" in box.status.value
    box.slider.value = 90
    assert not torch.allclose(box.probabilities["CNN"], first, atol=1e-5)
    box.index.value = 5
    assert "is a <b>9</b>" in box.status.value and box.image.value != first_png
    with pytest.raises(ValueError, match="index"):
        digit_widget(models, images, labels, index=6)
    with pytest.raises(ValueError, match="labels"):
        digit_widget(models, images, labels[:2])


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA"))


def test_frame_png_draws_what_a_full_draw_draws():
    fig, ax = plt.subplots(figsize=(2, 2), dpi=40)
    shown = ax.imshow(np.zeros((4, 4)), vmin=0, vmax=1)
    title = ax.set_title("before")
    frames = FramePNG(fig, [shown, title])
    first = _pixels(frames.png())
    shown.set_data(np.eye(4))
    title.set_text("after, longer")
    blitted = _pixels(frames.png())
    assert not np.array_equal(first, blitted)
    for artist in frames.artists:  # the image, the title and the image's frame
        artist.set_animated(False)
    fig.canvas.draw()
    assert np.array_equal(blitted, np.asarray(fig.canvas.buffer_rgba()))


def test_digit_widget_keeps_one_figure(models, digits):
    pytest.importorskip("ipywidgets")
    images, labels = digits
    n_figures = len(plt.get_fignums())
    box = digit_widget(models, images, labels, index=2, angle=0, dpi=30)
    pngs = {box.image.value}
    for angle in (30, 60, 90):
        box.slider.value = angle
        pngs.add(box.image.value)
    assert len(pngs) == 4 and len(plt.get_fignums()) == n_figures  # nothing left for pyplot


def test_kernel_bank_widget_shows_each_element():
    pytest.importorskip("ipywidgets")
    torch.manual_seed(0)
    box = kernel_bank_widget(GroupConvolution(CyclicGroup(4), 3, 1, 1), dpi=30)
    first = box.image.value
    assert first[:4] == b"\x89PNG" and len(box.buttons.options) == 4
    box.buttons.value = 1
    assert box.image.value != first
    box.buttons.value = 0
    assert box.image.value == first


def test_feature_map_widget_follows_digit_angle_and_layer(models, digits):
    pytest.importorskip("ipywidgets")
    images, labels = digits
    box = feature_map_widget(models, images, labels, index=1, layer=1, dpi=30)
    assert "a <b>1</b>" in box.status.value and box.frames["GCNN"].layer == 1
    first = box.image.value
    box.slider.value = 90
    assert box.frames["GCNN"].angles == [90.0] and box.image.value != first
    box.layer.value = 0
    assert box.frames["CNN"].layer == 0
    box.index.value = 5
    assert "a <b>9</b>" in box.status.value
    with pytest.raises(ValueError, match="layer must be in"):
        feature_map_widget(models, images, labels, layer=7)


def test_schedule_widget_reports_validity(x_small):
    pytest.importorskip("ipywidgets")
    panel = schedule_widget(layers=3, initial=("C4", "C4", "C1"), budget=8, x=x_small)
    assert len(panel.dropdowns) == 3
    assert "valid" in panel.result.value and "no turn" in panel.result.value
    panel.dropdowns[2].value = "C8"
    assert "not a valid schedule" in panel.result.value and "not a subgroup" in panel.result.value
    panel.dropdowns[2].value = "C2"
    assert "180°" in panel.result.value
    with pytest.raises(ValueError, match="needs 3 groups"):
        schedule_widget(layers=3, initial=("C4",))


def test_rotation_widget_slider_buttons_and_upload():
    pytest.importorskip("ipywidgets")
    w = rotation_widget(load_image(None, 32))
    first = w.image.value
    assert w.buttons.value == 0 and "e" in w.status.value
    w.slider.value = 37.0
    assert w.image.value != first and w.buttons.value is None
    assert "not in C4" in w.status.value
    w.buttons.value = 1  # the r1 button moves the slider to 90° and rotates exactly
    assert w.slider.value == 90.0
    shown = np.asarray(Image.open(io.BytesIO(w.image.value)))
    turned = rotate_image(load_image(None, 32), 90)
    expected = np.asarray(Image.open(io.BytesIO(image_to_png(turned))))
    assert np.array_equal(shown, expected)
    w.slider.value = 270.0
    assert w.buttons.value == 3

    w.upload.value = ({"name": "red.png", "type": "image/png", "size": 0,
                       "content": memoryview(_png_bytes(50, 20)),
                       "last_modified": datetime.datetime(2024, 1, 1)},)
    shown = np.asarray(Image.open(io.BytesIO(w.image.value)))
    assert shown.shape == (128, 128, 3) and shown[..., 0].min() > 190  # the red upload, 128 px


def test_rotation_widget_accepts_a_path(tmp_path):
    pytest.importorskip("ipywidgets")
    path = tmp_path / "blue.png"
    path.write_bytes(_png_bytes(10, 10, (0, 0, 255)))
    w = rotation_widget(path, size=16)
    shown = np.asarray(Image.open(io.BytesIO(w.image.value)))
    assert shown.shape == (16, 16, 3) and shown[..., 2].min() == 255


def test_widgets_name_what_they_accept_when_given_a_list_or_an_int(models):
    pytest.importorskip("ipywidgets")
    for bad in ([1, 2, 3], 5):
        with pytest.raises(TypeError) as err:
            rotation_widget(bad)
        assert type(bad).__name__ in str(err.value)
        assert all(w in str(err.value) for w in ("tensor", "path", "bytes", "None"))
    w = rotation_widget(load_image(None, 16))
    with pytest.raises(TypeError, match="tensor"):
        w.set_image([0.5])
    with pytest.raises(TypeError, match=r"images must be a tensor \[N, 1, H, W\].*list"):
        digit_widget(models, [[0.0]], torch.tensor([1]))
    with pytest.raises(TypeError, match=r"labels must be a tensor \[N\].*int"):
        digit_widget(models, torch.rand(2, 1, 15, 15), 3)


def test_rotation_widget_scales_uint8_pictures_and_squares_any_picture():
    pytest.importorskip("ipywidgets")
    gray = torch.full((3, 16, 16), 128, dtype=torch.uint8)
    gray[:, :4] = 0
    assert rotation_widget(gray).image.value == rotation_widget(gray / 255.0).image.value
    # A wide picture: the widget center-crops it to a square itself (as load_image does).
    wide = torch.rand(3, 16, 40, generator=torch.Generator().manual_seed(0))
    w = rotation_widget(wide)
    shown = np.asarray(Image.open(io.BytesIO(w.image.value)))
    crop = wide[:, :, 12:28]
    assert shown.shape == (16, 16, 3)
    assert w.image.value == rotation_widget(crop).image.value
    w.slider.value = 90.0  # exact turns need a square: they work on the cropped picture
    assert w.image.value == image_to_png(rotate_image(crop, 90))


def _circular_conv():
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular", bias=False)
    return conv.requires_grad_(False)


def test_conv_move_widget_follows_a_shift_but_not_a_turn():
    pytest.importorskip("ipywidgets")
    x = toy_image(24)
    box = conv_move_widget(_circular_conv(), x, step=(3, -5), dpi=30)
    first, n_figures = box.image.value, len(plt.get_fignums())
    assert first[:4] == b"\x89PNG" and box.panel.error == 0.0
    box.shift.value = 2
    assert box.image.value != first and box.panel.error < 1e-6  # a shift commutes with conv
    assert np.allclose(box.panel.images[0].get_array(), torch.roll(x, (6, -10), (-2, -1))[0, 0])
    box.shift.value, box.turn.value = 0, 45
    assert box.panel.error > 0.1 and "turn by 45°" in box.panel.heading.get_text()
    assert len(plt.get_fignums()) == n_figures  # one kept figure, nothing left for pyplot
    with pytest.raises(ValueError, match="step must be"):
        conv_move_widget(_circular_conv(), x, step=(1.5, 2))
    with pytest.raises(TypeError, match="x must be a tensor"):
        conv_move_widget(_circular_conv(), x.numpy())
    with pytest.raises(ValueError, match="one grey picture"):
        conv_move_widget(_circular_conv(), torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match="conv must keep the shape"):
        conv_move_widget(torch.nn.Conv2d(1, 1, 3), x)


def test_group_action_widget_shows_each_element_of_c4_and_d4():
    pytest.importorskip("ipywidgets")
    box = group_action_widget(letter_f(7), name="F", dpi=30)
    assert len(box.element.options) == 12 and box.element.options[5][0] == "D4: r1"
    first = box.image.value
    assert first[:4] == b"\x89PNG"
    box.element.value = (1, 4)  # f: a mirror
    assert box.image.value != first and "h → f · h" in box.panel.h_title.get_text()
    assert box.panel.title.get_text() == "F under g = f"
    assert np.allclose(box.panel.image.get_array(), letter_f(7)[0].flip(-1))
    box.element.value = (0, 0)  # e moves nothing: no arrows, four names
    assert box.image.value == first and len(box.panel.marks) == 4
    with pytest.raises(TypeError, match="groups must be"):
        group_action_widget(letter_f(7), groups=["C4"])
    with pytest.raises(ValueError, match="index must be in"):
        box.panel.show(0, 4)


def test_lifting_widget_maps_turn_and_roll():
    pytest.importorskip("ipywidgets")
    torch.manual_seed(0)
    layer = LiftingConvolution(CyclicGroup(4), 5, 1, 2)
    box = lifting_widget(layer, toy_image(21), channel=1, dpi=30)
    first, maps0 = box.image.value, box.panel.maps(0)
    box.slider.value = 90
    assert box.image.value != first
    shown = np.stack([im.get_array() for im in box.panel.images[1:]])
    expected = torch.rot90(maps0, 1, dims=(-1, -2)).roll(1, dims=0)  # turned and rolled
    assert np.allclose(shown, expected, atol=1e-4)
    with pytest.raises(ValueError, match="channel must be in"):
        lifting_widget(layer, toy_image(21), channel=2)
    with pytest.raises(TypeError, match="LiftingConvolution"):
        lifting_widget(GroupConvolution(DihedralGroup(4), 3, 1, 1), toy_image(21))
