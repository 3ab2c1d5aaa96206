"""The shipped models as ONNX files for the book's live demo (onnxruntime-web in the browser).

Each exported graph is the whole pipeline a reader sees, rotation included, so that the browser
turns a picture exactly as :func:`gcnn.data.rotate` does (GridSample in the graph, no rotation
written a second time in JavaScript)::

    image [1, 1, 28, 28] float32 in [0, 1], upright   ─┐
    angle []             float64, degrees, clockwise  ─┴─> rotated = rotate(image, angle)
                                                            probs   = softmax(model(rotated))

Outputs: ``probs [1, 10]`` (float32) and ``rotated [1, 1, 28, 28]`` (float32, the picture as
the model sees it). Made with ``torch.onnx.export(..., dynamo=True)`` (needs ``onnx`` and
``onnxscript``), one self-contained file per model (weights inside, no ``.onnx.data``).

Command line::

    python -m gcnn.pretrained onnx cnn gcnn-c4 --out DIR     # DIR/cnn.onnx, DIR/gcnn-c4.onnx
    python -m gcnn.pretrained live-digits --out FILE.json   # the demo's test digits

The demo's digits (:func:`export_live_digits`) are real MNIST test digits, stored as bytes
(``0..255``; the package's pictures are ``byte / 255``) with their labels and test-set indices.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

import torch
from torch import Tensor, nn

from .data import rotate, test_set
from .pretrained import pretrained, pretrained_metrics

__all__ = [
    "LIVE_MODELS",
    "LIVE_DIGITS_PER_CLASS",
    "RotateAndClassify",
    "export_onnx",
    "export_live_digits",
    "live_manifest",
    "add_onnx_commands",
    "run_onnx_command",
]

#: The models of the live demo, in the order the page shows them: the post's CNN and C4 G-CNN,
#: the CNN trained on turned digits (``cnn-rotaug``), and the shipped model with the best
#: accuracy on the rotated test set, trained upright (``tests/test_onnx.py`` checks that it
#: still is the best).
LIVE_MODELS = ("cnn", "gcnn-c4", "cnn-rotaug", "gcnn-c8-steer-one-pass")

#: How many test digits of each class the demo ships (the first ones in the test set).
LIVE_DIGITS_PER_CLASS = 5

OPSET = 18


class RotateAndClassify(nn.Module):
    """``softmax(model(rotate(image, angle)))``, and the turned picture, as one module.

    Args:
        model: a classifier ``[B, 1, 28, 28] -> [B, 10]`` logits (e.g. ``gcnn.pretrained(name)``).

    ``forward(image [B, 1, H, W], angle [])`` returns ``(probs [B, 10], rotated [B, 1, H, W])``;
    ``angle`` is in degrees, positive turns clockwise on screen, as :func:`gcnn.data.rotate`.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, image: Tensor, angle: Tensor):
        rotated = rotate(image, angle)
        return torch.softmax(self.model(rotated), dim=-1), rotated


@contextlib.contextmanager
def _quiet_exporter():
    """Silence the exporter's progress lines and warnings (the result is checked by tests)."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def export_onnx(name: str, out_dir: Union[str, Path], verbose: bool = False) -> Path:
    """Write ``out_dir/NAME.onnx``: the pretrained model ``name`` behind :func:`gcnn.data.rotate`.

    The graph takes ``image [1, 1, 28, 28]`` (float32) and ``angle []`` (float64, degrees) and
    returns ``probs [1, 10]`` and ``rotated [1, 1, 28, 28]`` (see :class:`RotateAndClassify`).
    The file is self-contained (weights inside) and written atomically.

    Raises:
        ValueError: an unknown name.
        FileNotFoundError: its weights are missing.
        ImportError: ``onnx`` or ``onnxscript`` is not installed (``pip install onnx onnxscript``),
            or torch is older than 2.6.
    """
    if tuple(int(v) for v in torch.__version__.split(".")[:2]) < (2, 6):
        raise ImportError(f"exporting to ONNX needs torch>=2.6 (torch.onnx.export with "
                          f"dynamo=True), this is torch {torch.__version__}")
    for module in ("onnx", "onnxscript"):
        try:
            __import__(module)
        except ImportError as err:
            raise ImportError(f"exporting to ONNX needs the {module!r} package, which is not "
                              f"installed: pip install onnx onnxscript") from err
    import onnx

    wrapped = RotateAndClassify(pretrained(name)).eval()
    image = torch.zeros(1, 1, 28, 28)
    angle = torch.tensor(0.0, dtype=torch.float64)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{name}.onnx"
    quiet = contextlib.nullcontext() if verbose else _quiet_exporter()
    with torch.no_grad(), quiet:
        program = torch.onnx.export(
            wrapped, (image, angle), dynamo=True, opset_version=OPSET,
            input_names=["image", "angle"], output_names=["probs", "rotated"],
            optimize=True, verbose=verbose,
        )
    proto = program.model_proto
    proto.doc_string = (f"gcnn.pretrained({name!r}) behind gcnn.data.rotate: "
                        f"probs = softmax(model(rotate(image, angle))); see gcnn.onnx_export")
    tmp = target.with_name(target.name + ".tmp")
    onnx.save_model(proto, str(tmp), save_as_external_data=False)
    os.replace(tmp, target)
    return target


def export_live_digits(path: Union[str, Path], per_class: int = LIVE_DIGITS_PER_CLASS,
                       root=None) -> Path:
    """Write the demo's test digits: the first ``per_class`` test digits of each class, as JSON.

    The file holds ``{"source", "indices", "labels", "pixels"}``; ``pixels[i]`` is 784 bytes in
    base64 (row-major, upright), the picture ``test_set()[0][indices[i]]`` times 255.

    Raises:
        ValueError: ``per_class`` is not a positive int.
    """
    if not isinstance(per_class, int) or per_class < 1:
        raise ValueError(f"per_class must be a positive int, got {per_class!r}")
    x, y = test_set(root, download=False)
    indices: List[int] = []
    for label in range(10):
        indices += (y == label).nonzero().flatten()[:per_class].tolist()
    indices.sort()
    bytes_ = (x[indices, 0] * 255).round().to(torch.uint8)
    if not torch.equal(bytes_.float() / 255, x[indices, 0]):
        raise ValueError("the test pictures are not bytes / 255; cannot store them as bytes")
    data = {
        "source": (f"MNIST test set: the first {per_class} digits of each class "
                   f"(python -m gcnn.pretrained live-digits)"),
        "indices": indices,
        "labels": y[indices].tolist(),
        "pixels": [base64.b64encode(bytes(row)).decode("ascii")
                   for row in bytes_.reshape(len(indices), 784).tolist()],
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def live_manifest(names: Sequence[str]) -> Dict[str, object]:
    """What the page shows about each model: name, description, upright and rotated accuracy."""
    from .pretrained import PRETRAINED

    models = []
    for name in names:
        metrics = pretrained_metrics(name)
        models.append({
            "name": name, "file": f"{name}.onnx", "description": PRETRAINED[name].description,
            "test_acc": metrics.get("test_acc"),
            "rotated_test_acc": metrics.get("rotated_test_acc"),
        })
    return {"models": models}


# -- command line (hooked into python -m gcnn.pretrained) -------------------------------------
def add_onnx_commands(sub) -> None:
    """Add the ``onnx`` and ``live-digits`` subcommands to ``python -m gcnn.pretrained``.

    ``sub`` is the ``add_subparsers()`` object of its argument parser.
    """
    from .pretrained import PRETRAINED

    ox = sub.add_parser("onnx", help="export pretrained models to ONNX (rotation in the graph)")
    ox.add_argument("names", nargs="*", metavar="NAME",
                    help=(f"models to export (default: {' '.join(LIVE_MODELS)}); "
                          f"known: {' '.join(sorted(PRETRAINED))}"))
    ox.add_argument("--out", required=True, help="folder for NAME.onnx")
    ox.add_argument("--manifest", action="store_true",
                    help="also write OUT/models.json (names, descriptions, accuracies)")
    dg = sub.add_parser("live-digits", help="write the live demo's MNIST test digits as JSON")
    dg.add_argument("--out", required=True, help="the JSON file to write")
    dg.add_argument("--per-class", type=int, default=LIVE_DIGITS_PER_CLASS)


def run_onnx_command(args) -> Optional[str]:
    """Run ``onnx`` or ``live-digits`` (``args`` as parsed); returns what to print.

    Returns None for any other command. Raises ValueError for an unknown model name.
    """
    if args.cmd == "onnx":
        from .pretrained import PRETRAINED

        names = list(args.names) or list(LIVE_MODELS)
        unknown = [n for n in names if n not in PRETRAINED]
        if unknown:
            raise ValueError(f"unknown pretrained model(s) {unknown}; known: {sorted(PRETRAINED)}")
        lines = [f"wrote {export_onnx(n, args.out)}" for n in names]
        if args.manifest:
            target = Path(args.out) / "models.json"
            target.write_text(json.dumps(live_manifest(names), indent=1) + "\n", encoding="utf-8")
            lines.append(f"wrote {target}")
        return "\n".join(lines)
    if args.cmd == "live-digits":
        return f"wrote {export_live_digits(args.out, args.per_class)}"
    return None
