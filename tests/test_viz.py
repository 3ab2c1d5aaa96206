"""Quick tests of the book's plotting and widget helpers (gcnn.viz, gcnn.widgets)."""

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

from gcnn import CyclicGroup, DihedralGroup, transform_images  # noqa: E402
from gcnn.viz import (  # noqa: E402
    GOAT_CREDIT,
    goat_path,
    letter_f,
    load_image,
    plot_cayley_table,
    plot_grid_points,
    rotate_image,
    show_images,
    to_grayscale,
    image_to_png,
    to_numpy_image,
)
from gcnn.widgets import animation_html, rotation_animation  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _png_bytes(width, height, color=(200, 30, 30)):
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, format="PNG")
    return buf.getvalue()


# -- load_image ------------------------------------------------------------------------------
def test_load_image_goat_shape_and_range():
    goat = load_image()
    assert goat.shape == (3, 128, 128) and goat.dtype == torch.float32
    assert 0.0 <= goat.min() and goat.max() <= 1.0 and goat.std() > 0.05
    assert load_image(None, 64, gray=True).shape == (1, 64, 64)
    assert load_image(None, None).shape == (3, 256, 256)  # the shipped file, uncropped
    assert "Marjan Blan on Unsplash" in GOAT_CREDIT and "Keydana" in GOAT_CREDIT
    assert goat_path().is_file()


def test_load_image_center_crops_non_square(tmp_path):
    # A wide picture: red left third, green middle, blue right third. The square crop keeps the
    # middle, so the result is mostly green.
    arr = np.zeros((30, 90, 3), dtype=np.uint8)
    arr[:, :30, 0] = arr[:, 30:60, 1] = arr[:, 60:, 2] = 255
    path = tmp_path / "wide.png"
    Image.fromarray(arr).save(path)
    img = load_image(path, size=None)
    assert img.shape == (3, 30, 30)
    assert torch.allclose(img.mean(dim=(1, 2)), torch.tensor([0.0, 1.0, 0.0]))
    assert load_image(str(path), size=16).shape == (3, 16, 16)
    from_bytes = load_image(_png_bytes(40, 20), size=8)
    assert from_bytes.shape == (3, 8, 8)


def test_load_image_errors_name_the_problem(tmp_path):
    with pytest.raises(FileNotFoundError, match="no image file"):
        load_image(tmp_path / "missing.jpg")
    with pytest.raises(ValueError, match="size"):
        load_image(None, size=0)


# -- small helpers ---------------------------------------------------------------------------
def test_to_numpy_image_and_grayscale():
    rgb = torch.rand(3, 5, 7)
    assert to_numpy_image(rgb).shape == (5, 7, 3)
    assert to_numpy_image(rgb[:1]).shape == (5, 7)
    assert to_numpy_image(rgb[0]).shape == (5, 7)
    assert to_grayscale(rgb).shape == (1, 5, 7)
    with pytest.raises(ValueError, match="expected an image"):
        to_numpy_image(torch.rand(2, 5, 7))


def test_rotate_image_agrees_with_c4_and_interpolates_other_angles():
    goat = load_image(None, 33)
    c4 = CyclicGroup(order=4)
    exact = transform_images(goat, c4, method="exact")
    for k in range(4):
        assert torch.equal(rotate_image(goat, 90 * k), exact[k])
    assert torch.equal(rotate_image(goat, -90), exact[3])
    turned = rotate_image(goat, 45)
    assert turned.shape == goat.shape
    assert turned[:, 0, 0].abs().max() == 0  # the corner came from outside the frame
    assert torch.allclose(rotate_image(goat, 360.0), goat)


def test_letter_f_has_no_symmetry_in_d4():
    f = letter_f(7)
    moved = transform_images(f, DihedralGroup(order=4))  # [8, 1, 7, 7]
    flat = moved.reshape(8, -1)
    assert torch.cdist(flat, flat).add(torch.eye(8)).min() > 0  # eight different pictures


def test_figures_build():
    goat = load_image(None, 32)
    fig = show_images([goat, goat[0], goat[:1] - 0.5], ["rgb", "2d", "signed"], symmetric=True,
                      cmap="RdBu_r", caption=GOAT_CREDIT, suptitle="t", colorbar=True)
    assert len(fig.axes) == 3 + 2  # two colour bars for the one-channel pictures
    fig = show_images(torch.rand(7, 1, 4, 4), ncols=3)
    assert len(fig.axes) == 9
    fig = plot_cayley_table(DihedralGroup(order=4))
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == 64 and texts[0] == "e"
    assert "D4" in fig.axes[0].get_title()
    fig = plot_grid_points(CyclicGroup(order=4), size=3)
    assert len(fig.axes) == 4 and fig.axes[1].get_title().startswith("r1")


# -- animation -------------------------------------------------------------------------------
def test_rotation_animation_frames():
    anim = rotation_animation(None, size=32, dpi=30, panel_inches=1.0)
    assert anim.angles == [15.0 * k for k in range(24)]
    assert anim.frame_images.shape == (24, 3, 32, 32)
    html = animation_html(anim).data
    assert html.count("data:image/jpeg;base64,") == 24


def test_rotation_animation_extra_panel_is_called_per_frame():
    calls = []

    def panel(ax, image, angle):
        calls.append((tuple(image.shape), angle))
        ax.bar(range(3), [1, 2, 3])

    anim = rotation_animation(letter_f(9), [0, 90, 45], extra_panel=panel, dpi=30,
                              panel_inches=1.0, caption=GOAT_CREDIT)
    html = animation_html(anim, frame_format="png").data
    assert html.count("data:image/png;base64,") == 3
    assert [a for _, a in calls[-3:]] == [0.0, 90.0, 45.0]
    assert calls[-1][0] == (1, 9, 9)
    assert torch.equal(anim.frame_images[1], rotate_image(letter_f(9), 90))


def test_image_to_png_roundtrip():
    png = image_to_png(torch.ones(3, 6, 5) * 0.5)
    assert Image.open(io.BytesIO(png)).size == (5, 6)
    assert Image.open(io.BytesIO(image_to_png(torch.rand(1, 4, 4)))).size == (4, 4)


# -- live widget -----------------------------------------------------------------------------
