"""What a network makes of a turning digit (gcnn.viz.features), on tiny untrained models."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gcnn.viz import (  # noqa: E402
    FeatureMapPanel,
    feature_map_animation,
    plot_feature_maps,
    rotated_features,
)

from tiny import SIZE  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_rotated_features_shapes_and_channel(models, digits):
    digit = digits[0][0]
    g = rotated_features(models["GCNN"], digit, [0, 90, 45], layer=1)
    c = rotated_features(models["CNN"], digit, [0, 90, 45], layer=-1, channel=2)
    assert g.maps.shape == (3, 4, SIZE - 4, SIZE - 4) and g.layer == 1
    assert c.maps.shape == (3, 1, SIZE - 6, SIZE - 6) and c.channel == 2
    assert g.images.shape == (3, 1, SIZE, SIZE)
    assert torch.allclose(g.images[1], torch.rot90(digit, 1, dims=(-1, -2)), atol=1e-5)
    assert float(g.maps[0].std()) > 0  # the busiest channel is not an all-zero one


def test_gcnn_maps_turn_and_roll_with_the_digit(models, digits):
    """A quarter turn of the digit turns the G-CNN's maps and rolls the group axis one step."""
    f = rotated_features(models["GCNN"], digits[0][1], [0, 90, 180, 270], layer=1)
    for k in range(4):
        expected = torch.rot90(f.maps[0], k, dims=(-1, -2)).roll(k, dims=0)
        assert torch.allclose(f.maps[k], expected, atol=1e-4), k
    c = rotated_features(models["CNN"], digits[0][1], [0, 90], layer=1).maps[:, 0]
    assert not torch.allclose(c[1], torch.rot90(c[0], 1, dims=(-1, -2)), atol=1e-3)


def test_rotated_features_errors(models, digits):
    digit = digits[0][0]
    with pytest.raises(IndexError, match="layer"):
        rotated_features(models["CNN"], digit, [0], layer=7)
    with pytest.raises(IndexError, match="channel"):
        rotated_features(models["CNN"], digit, [0], channel=99)
    with pytest.raises(ValueError, match="angle"):
        rotated_features(models["CNN"], digit, [])
    with pytest.raises(ValueError, match="one digit"):
        rotated_features(models["CNN"], digits[0], [0])


def test_plot_feature_maps_layout(models, digits):
    fig = plot_feature_maps(models, digits[0][0], angles=(0, 90, 180, 270), layer=1)
    assert len(fig.axes) == 4 * (1 + 1 + 4)  # rows: angles; columns: digit, CNN, 4 GCNN maps
    assert fig.axes[0].get_ylabel() == "0°" and fig.axes[6].get_ylabel() == "90°"
    assert set(fig.frames) == {"CNN", "GCNN"}
    assert "GCNN" in fig.axes[2].title.get_text() + fig.axes[2]._left_title.get_text()


def test_feature_map_animation_frames(models, digits):
    from gcnn.widgets import animation_html

    anim = feature_map_animation(models, digits[0][0], angles=[0, 45, 90], dpi=30)
    assert anim.angles == [0.0, 45.0, 90.0]
    assert anim.frames["GCNN"].maps.shape[:2] == (3, 4)
    html = animation_html(anim).data
    assert html.count("data:image/jpeg;base64") == 3


def test_feature_map_panel_moves_data_and_lays_out_again_for_a_new_layer(models, digits):
    digit = digits[0][0]
    panel = FeatureMapPanel(models, dpi=40)
    frames = panel.show(digit, 90.0, layer=1)
    fig = panel.fig
    g = frames["GCNN"]
    assert g.maps.shape[:2] == (1, 4) and frames["CNN"].maps.shape[1] == 1
    # the panels hold the maps of the digit turned by 90°, in the busiest channel at 0°
    expected = rotated_features(models["GCNN"], digit, [90.0], layer=1, channel=g.channel)
    assert torch.equal(torch.as_tensor(panel.shown[2].get_array()), expected.maps[0, 0])
    assert g.channel == rotated_features(models["GCNN"], digit, [0.0], layer=1).channel
    assert panel.label.get_text() == "90° clockwise"
    panel.show(digit, 30.0, layer=1)
    assert panel.fig is fig and panel.label.get_text() == "30° clockwise"
    panel.show(digit, 30.0, layer=0)
    assert panel.fig is not fig
    assert panel.artists == [*panel.shown, panel.label] and len(panel.shown) == 1 + 1 + 4
