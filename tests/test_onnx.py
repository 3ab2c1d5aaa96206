"""The ONNX exports of the live demo give torch's answers (onnxruntime on real test digits)."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch

import gcnn
from gcnn import onnx_export
from gcnn.data import rotate
from gcnn.data import test_set as mnist_test_set
from gcnn.pretrained import PRETRAINED, pretrained_metrics
from gcnn.pretrained.cli import main

ROOT = Path(__file__).resolve().parents[1]
DIGITS = ROOT / "book" / "_static" / "gcnn-live" / "digits.json"
ANGLES = (0.0, 37.5, 90.0, 181.25, 299.0)


def _need(module: str):
    """Import ``module``; skip without it, unless CI is set (then fail)."""
    try:
        return __import__(module)
    except ImportError:
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(f"{module} is not installed (pip install -r requirements.txt)")
        pytest.skip(f"{module} is not installed")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    for module in ("onnx", "onnxscript"):
        _need(module)
    out = tmp_path_factory.mktemp("onnx")
    main(["onnx", *onnx_export.LIVE_MODELS, "--out", str(out), "--manifest"])
    return out


@pytest.mark.parametrize("name", onnx_export.LIVE_MODELS)
def test_onnx_matches_torch(exported, root, name):
    ort = _need("onnxruntime")
    path = exported / f"{name}.onnx"
    assert path.is_file() and not list(exported.glob("*.data")), "one self-contained file"
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image", "angle"]
    model = gcnn.pretrained(name)
    x, y = mnist_test_set(root, download=False)
    idx = torch.randperm(len(y), generator=torch.Generator().manual_seed(16))[:20]
    worst_p = worst_r = 0.0
    agree = 0
    for i in idx.tolist():
        image = x[i : i + 1]
        for angle in ANGLES:
            turned = rotate(image, angle)
            with torch.no_grad():
                want = torch.softmax(model(turned), dim=-1).numpy()
            probs, rotated = session.run(
                None, {"image": image.numpy(), "angle": np.array(angle, dtype=np.float64)})
            assert probs.shape == (1, 10) and rotated.shape == (1, 1, 28, 28)
            worst_p = max(worst_p, float(np.abs(probs - want).max()))
            worst_r = max(worst_r, float(np.abs(rotated - turned.numpy()).max()))
            agree += int(probs.argmax() == want.argmax())
    assert worst_p <= 1e-5, f"{name}: probabilities differ from torch's by {worst_p:.2e}"
    assert worst_r <= 1e-5, f"{name}: the turned picture differs from rotate's by {worst_r:.2e}"
    assert agree == len(idx) * len(ANGLES)


def test_manifest(exported):
    manifest = json.loads((exported / "models.json").read_text(encoding="utf-8"))
    assert [m["name"] for m in manifest["models"]] == list(onnx_export.LIVE_MODELS)
    for m in manifest["models"]:
        assert m["rotated_test_acc"] == pretrained_metrics(m["name"])["rotated_test_acc"]
        assert m["description"] == PRETRAINED[m["name"]].description


def test_live_models_hold_the_best_rotated_model():
    """The demo shows the post's two models and the shipped model best on turned digits."""
    best = max(PRETRAINED, key=lambda n: pretrained_metrics(n)["rotated_test_acc"])
    assert {"cnn", "gcnn-c4", best} <= set(onnx_export.LIVE_MODELS), (
        f"{best} is now the best shipped model on the rotated test set: add it to LIVE_MODELS")


def test_unknown_model_is_an_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["onnx", "no-such-model", "--out", str(tmp_path)])
    assert exit_info.value.code == 1
    assert "no-such-model" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_shipped_digits_are_real_test_digits(root, tmp_path):
    """book/_static/gcnn-live/digits.json is what ``live-digits`` writes from MNIST."""
    fresh = tmp_path / "digits.json"
    main(["live-digits", "--out", str(fresh)])
    assert fresh.read_text(encoding="utf-8") == DIGITS.read_text(encoding="utf-8"), (
        "regenerate it: python -m gcnn.pretrained live-digits "
        "--out book/_static/gcnn-live/digits.json")
    data = json.loads(DIGITS.read_text(encoding="utf-8"))
    x, y = mnist_test_set(root, download=False)
    assert len(data["indices"]) == 50 and sorted(data["labels"]) == sorted(list(range(10)) * 5)
    for i, label, b64 in zip(data["indices"], data["labels"], data["pixels"]):
        pixels = torch.frombuffer(bytearray(base64.b64decode(b64)), dtype=torch.uint8)
        assert int(y[i]) == label
        assert torch.equal(pixels.float().div(255).reshape(28, 28), x[i, 0])
    with pytest.raises(ValueError, match="per_class"):
        onnx_export.export_live_digits(tmp_path / "x.json", per_class=0)


def test_stage_without_the_library(tmp_path):
    """The build's staging (scripts/gcnn_live.py) without onnxruntime-web: files, and a reason."""
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gcnn_live
    finally:
        sys.path.remove(str(ROOT / "scripts"))
    config = gcnn_live.stage_live(tmp_path, version="0.0.0-not-fetched")
    out = tmp_path / "gcnn-live"
    assert config["ort"] is None and "scripts/web_assets.py" in config["missing"]
    assert json.loads((out / "config.json").read_text(encoding="utf-8")) == config
    assert not (out / "ort").exists()
    for name in (*gcnn_live.PAGE_FILES, *(f"models/{n}.onnx" for n in onnx_export.LIVE_MODELS)):
        assert (out / name).is_file(), name
    assert config["bytes"] == sum(
        (out / n).stat().st_size for n in ("gcnn-live.css", "digits.json",
                                           *(f"models/{m}.onnx" for m in onnx_export.LIVE_MODELS)))
