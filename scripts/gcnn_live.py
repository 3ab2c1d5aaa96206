"""The live demo's files in the built book: ONNX models, onnxruntime-web, the page script.

Readers of the HTML book draw a digit, turn it, and watch the shipped models answer in their own
browser (``book/_static/gcnn-live/gcnn-live.js``, onnxruntime-web's wasm backend). This module
puts everything that demo needs into ``<html>/_static/gcnn-live/``:

* ``gcnn-live.js``, ``gcnn-live.css``, ``digits.json``: committed in ``book/_static/gcnn-live/``;
* ``models/NAME.onnx`` and ``models/models.json``: exported from the shipped ``.pt`` weights by
  ``python -m gcnn.pretrained onnx --manifest`` (re-exported only when a source is newer);
* ``ort/``: onnxruntime-web's wasm build (``ORT_FILES``, about 15 MB) of the pinned
  ``ORT_WEB_VERSION``, copied from ``vendor/onnxruntime-web/VERSION/`` (git-ignored), which
  ``python scripts/gcnn_live.py fetch`` fills with ``npm pack`` (the tarball's sha512 is checked
  against ``ORT_WEB_INTEGRITY``). Without it the build still succeeds and the demo says how to
  get the library;
* ``config.json``: which of these are there, read by the page script when the demo starts.

Nothing is loaded by a page until the reader reaches the demo. The book's Sphinx extension
(``scripts/sphinx_gcnn.py``) calls :func:`setup`: the files are staged after every HTML build,
and the script and stylesheet are added only to pages that hold a ``<div class="gcnn-live">``.
The browser test (``tests/test_live.py``) stages the same files with :func:`stage_live` for a
small page of its own. Command line::

    python scripts/gcnn_live.py fetch            # npm pack onnxruntime-web@ORT_WEB_VERSION
    python scripts/gcnn_live.py stage DIR        # DIR/gcnn-live/ as the book build makes it
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Dict, List, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "book" / "_static" / "gcnn-live"
#: The committed files of the demo, copied as they are.
PAGE_FILES = ("gcnn-live.js", "gcnn-live.css", "digits.json")

ORT_WEB_VERSION = "1.31.1"
#: ``npm view onnxruntime-web@1.31.1 dist.integrity``: the registry's sha512 of the tarball.
ORT_WEB_INTEGRITY = ("sha512-5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPdSQ"
                     "eS7NmuZPXrQ73k82URw==")
#: What the wasm backend needs: the script (sets ``window.ort``), its wasm glue and the wasm.
ORT_FILES = ("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
VENDOR = ROOT / "vendor" / "onnxruntime-web"

#: Sources of the ONNX files: a model is exported again when one of them is newer.
EXPORT_SOURCES = ("gcnn/onnx_export.py", "gcnn/data.py", "gcnn/models.py", "gcnn/layers.py")


def ort_dir(version: str = ORT_WEB_VERSION) -> Path:
    """Where ``fetch`` puts onnxruntime-web's files (``vendor/onnxruntime-web/VERSION``)."""
    return VENDOR / version


def ort_available(version: str = ORT_WEB_VERSION) -> bool:
    return all((ort_dir(version) / f).is_file() for f in ORT_FILES)


def fetch_ort(version: str = ORT_WEB_VERSION, integrity: Optional[str] = ORT_WEB_INTEGRITY,
              npm: str = "npm") -> Path:
    """``npm pack onnxruntime-web@version`` and keep ``ORT_FILES`` in :func:`ort_dir`.

    Raises:
        FileNotFoundError: no ``npm`` on the PATH.
        RuntimeError: ``npm pack`` failed, or the tarball's sha512 is not ``integrity``.
    """
    target = ort_dir(version)
    if ort_available(version):
        return target
    if shutil.which(npm) is None:
        raise FileNotFoundError(f"{npm!r} is not on the PATH; install Node.js and npm "
                                f"(Debian: apt-get install npm) to fetch onnxruntime-web")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run([npm, "pack", f"onnxruntime-web@{version}", "--silent"],
                              cwd=tmp, capture_output=True, text=True, timeout=600)
        tarballs = list(Path(tmp).glob("onnxruntime-web-*.tgz"))
        if proc.returncode != 0 or len(tarballs) != 1:
            raise RuntimeError(f"npm pack onnxruntime-web@{version} failed (exit "
                               f"{proc.returncode}): {proc.stderr.strip()[-2000:]}")
        data = tarballs[0].read_bytes()
        got = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")
        if integrity is not None and got != integrity:
            raise RuntimeError(f"onnxruntime-web@{version}: the tarball's integrity is {got}, "
                               f"expected {integrity}")
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=target.parent))  # same file system as the target
        try:
            with tarfile.open(tarballs[0]) as tar:
                for name in ORT_FILES:
                    member = tar.getmember(f"package/dist/{name}")
                    with tar.extractfile(member) as src, open(staging / name, "wb") as dst:
                        shutil.copyfileobj(src, dst)
            staging.chmod(0o755)
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return target


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
    :func:`fetch_ort` has fetched it (else ``config["ort"]`` is None and ``config["missing"]``
    says how to get it, which the demo shows).
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
                             f"'python scripts/gcnn_live.py fetch' (needs npm) and build the "
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
    sub.add_parser("fetch", help=f"npm pack onnxruntime-web@{ORT_WEB_VERSION} into {VENDOR}")
    st = sub.add_parser("stage", help="write DIR/gcnn-live/ as the book build does")
    st.add_argument("dir")
    args = p.parse_args(argv)
    try:
        if args.cmd == "fetch":
            print(f"onnxruntime-web {ORT_WEB_VERSION} in {fetch_ort()}")
        else:
            config = stage_live(args.dir)
            print(f"staged {Path(args.dir) / 'gcnn-live'}: "
                  f"{[m['name'] for m in config['models']]}, ort: {config['ort'] or 'missing'}")
    except (FileNotFoundError, RuntimeError) as err:
        p.exit(1, f"{p.prog} {args.cmd}: error: {err}\n")


if __name__ == "__main__":
    main()
