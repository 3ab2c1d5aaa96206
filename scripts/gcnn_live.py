"""The live demo's files in the built book: ONNX models, onnxruntime-web, the page script.

Readers of the HTML book draw a digit, turn it, and watch the shipped models answer in their own
browser (``book/_static/gcnn-live/gcnn-live.js``, onnxruntime-web's wasm backend). This module
puts everything that demo needs into ``<html>/_static/gcnn-live/``:

* ``gcnn-live.js``, ``gcnn-live.css``, ``digits.json``: committed in ``book/_static/gcnn-live/``;
* ``models/NAME.onnx`` and ``models/models.json``: exported from the shipped ``.pt`` weights by
  ``python -m gcnn.pretrained onnx --manifest`` (re-exported only when a source is newer);
* ``ort/``: onnxruntime-web's wasm build (``ORT_FILES``, about 15 MB), the package
  ``web_assets.ONNXRUNTIME_WEB`` pinned in ``scripts/web_assets.py``, copied from where
  ``python scripts/web_assets.py`` stages it (``.web_assets/``, git-ignored, fetched with
  ``npm pack`` and an integrity check). Without it the build still succeeds and the demo says
  how to get the library;
* ``config.json``: which of these are there, read by the page script when the demo starts.

Nothing is loaded by a page until the reader reaches the demo. The book's Sphinx extension
(``scripts/sphinx_gcnn.py``) calls :func:`setup`: the files are staged after every HTML build,
and the script and stylesheet are added only to pages that hold a ``<div class="gcnn-live">``.
The browser test (``tests/test_live.py``) stages the same files with :func:`stage_live` for a
small page of its own. Command line::

    python scripts/web_assets.py                 # once: npm pack onnxruntime-web (and MathJax)
    python scripts/gcnn_live.py stage DIR        # DIR/gcnn-live/ as the book build makes it
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import web_assets

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "book" / "_static" / "gcnn-live"
#: The committed files of the demo, copied as they are.
PAGE_FILES = ("gcnn-live.js", "gcnn-live.css", "digits.json")

ORT_WEB_VERSION = web_assets.ONNXRUNTIME_WEB.version
#: What the wasm backend needs: the script (sets ``window.ort``), its wasm glue and the wasm.
ORT_FILES = web_assets.ONNXRUNTIME_WEB.paths

#: Sources of the ONNX files: a model is exported again when one of them is newer.
EXPORT_SOURCES = ("gcnn/onnx_export.py", "gcnn/data.py", "gcnn/models.py", "gcnn/layers.py")


def _ort(version: str = ORT_WEB_VERSION) -> web_assets.WebPackage:
    return dataclasses.replace(web_assets.ONNXRUNTIME_WEB, version=version)


def ort_dir(version: str = ORT_WEB_VERSION) -> Path:
    """Where ``python scripts/web_assets.py`` stages onnxruntime-web's ``ORT_FILES``."""
    return _ort(version).files


def ort_available(version: str = ORT_WEB_VERSION) -> bool:
    return web_assets.is_staged(_ort(version))


def _newer(sources: Sequence[Path], target: Path) -> bool:
    if not target.is_file():
        return True
    stamp = target.stat().st_mtime
    return any(s.is_file() and s.stat().st_mtime > stamp for s in sources)


def export_models(out: Path, names: Optional[Sequence[str]] = None) -> List[str]:
    """Export the demo's models to ``out/NAME.onnx`` + ``out/models.json`` where out of date.

    Runs ``python -m gcnn.pretrained onnx`` in a child process (the exporter's tracing and
    logging stay out of the caller). Returns the exported names.
    """
    sys.path.insert(0, str(ROOT))
    try:
        from gcnn.onnx_export import LIVE_MODELS
    finally:
        sys.path.remove(str(ROOT))
    names = list(names or LIVE_MODELS)
    todo = [n for n in names
            if _newer([ROOT / "gcnn" / "pretrained" / f"{n}.pt", *(ROOT / s for s in
                       EXPORT_SOURCES)], out / f"{n}.onnx")]
    if todo or not (out / "models.json").is_file():
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
        cmd = [sys.executable, "-m", "gcnn.pretrained", "onnx", *names, "--out", str(out),
               "--manifest"]
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=1200)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[1:])} failed (exit {proc.returncode}): "
                               f"{(proc.stdout + proc.stderr).strip()[-3000:]}")
    return names


def stage_live(static_dir, names: Optional[Sequence[str]] = None,
               version: str = ORT_WEB_VERSION) -> Dict[str, object]:
    """Put the demo's files into ``static_dir/gcnn-live/``; returns its ``config.json``.

    The page files and the models are always staged; onnxruntime-web only when
    ``python scripts/web_assets.py`` has fetched it (else ``config["ort"]`` is None and
    ``config["missing"]`` says how to get it, which the demo shows).
    """
    out = Path(static_dir) / "gcnn-live"
    out.mkdir(parents=True, exist_ok=True)
    for name in PAGE_FILES:
        shutil.copyfile(SOURCE / name, out / name)
    export_models(out / "models", names)
    manifest = json.loads((out / "models" / "models.json").read_text(encoding="utf-8"))
    config: Dict[str, object] = {"models": manifest["models"], "ort": None, "missing": None}
    if ort_available(version):
        (out / "ort").mkdir(exist_ok=True)
        for name in ORT_FILES:
            src, dst = ort_dir(version) / name, out / "ort" / name
            if not dst.is_file() or dst.stat().st_size != src.stat().st_size or _newer([src], dst):
                shutil.copyfile(src, dst)
        config["ort"] = {"version": version, "license": "MIT", "script": "ort/ort.wasm.min.js",
                         "mjs": "ort/ort-wasm-simd-threaded.mjs",
                         "wasm": "ort/ort-wasm-simd-threaded.wasm"}
    else:
        config["missing"] = (f"This build of the book does not include onnxruntime-web "
                             f"{version}, which runs the models. Run "
                             f"'python scripts/web_assets.py' (needs npm) and build the "
                             f"book again.")
    files = [out / n for n in PAGE_FILES if n != "gcnn-live.js"]
    files += [out / "models" / m["file"] for m in config["models"]]
    files += [out / "ort" / n for n in ORT_FILES] if config["ort"] else []
    config["bytes"] = sum(f.stat().st_size for f in files)
    (out / "config.json").write_text(json.dumps(config, indent=1) + "\n", encoding="utf-8")
    return config


# -- Sphinx -----------------------------------------------------------------------------------
def _page_assets(app, pagename, templatename, context, doctree) -> None:
    if 'class="gcnn-live"' in (context.get("body") or ""):
        app.add_js_file("gcnn-live/gcnn-live.js", loading_method="defer")
        app.add_css_file("gcnn-live/gcnn-live.css")


def _build_finished(app, exception) -> None:
    if exception is not None or getattr(app.builder, "format", None) != "html":
        return
    from sphinx.util import logging

    logger = logging.getLogger(__name__)
    config = stage_live(Path(app.outdir) / "_static")
    logger.info(f"gcnn-live: staged {len(config['models'])} model(s)"
                + (f", onnxruntime-web {config['ort']['version']}" if config["ort"]
                   else f"; {config['missing']}"))


def setup(app) -> dict:
    """Register the demo's hooks (called from ``scripts/sphinx_gcnn.py``)."""
    app.connect("html-page-context", _page_assets)
    app.connect("build-finished", _build_finished)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}


def main(argv: Optional[Sequence[str]] = None) -> None:
    p = argparse.ArgumentParser(prog="python scripts/gcnn_live.py", description=__doc__.split(
        "\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    st = sub.add_parser("stage", help="write DIR/gcnn-live/ as the book build does")
    st.add_argument("dir")
    args = p.parse_args(argv)
    try:
        config = stage_live(args.dir)
        print(f"staged {Path(args.dir) / 'gcnn-live'}: "
              f"{[m['name'] for m in config['models']]}, ort: {config['ort'] or 'missing'}")
    except (FileNotFoundError, RuntimeError) as err:
        p.exit(1, f"{p.prog} {args.cmd}: error: {err}\n")


if __name__ == "__main__":
    main()
