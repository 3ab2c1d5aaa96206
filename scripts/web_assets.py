"""Browser packages the book serves itself, fetched from npm and copied into the built HTML.

The pages must work offline (a reader's laptop on a train, the browser test in CI), so nothing
they need may come from a CDN. Each package in :data:`PACKAGES` is fetched once, pinned, with
``npm pack`` (no ``node_modules``, no install scripts; the tarball's sha512 must match the
registry's ``dist.integrity`` recorded here) into ``.web_assets/`` (git-ignored). :mod:`sphinx_gcnn`
adds the staged packages to ``html_static_path``, so they land in the book's ``_static/<target>/``;
onnxruntime-web (``static=False``) is copied by the live demo instead (``scripts/gcnn_live.py``,
into ``_static/gcnn-live/ort/``), also for the demo's test page that has no book build::

    python scripts/web_assets.py          # fetch what is missing (a no-op when all is there)
    python scripts/web_assets.py --check  # exit 1 and name what is missing, fetch nothing

To ship another package, add a :class:`WebPackage` to :data:`PACKAGES` (with
``npm view NAME@VERSION dist.integrity``); a page then loads its files from
``_static/<target>/...``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import List, Sequence, Tuple

ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / ".web_assets"


@dataclass(frozen=True)
class WebPackage:
    """An npm package (pinned) and the files of it that the book serves.

    ``paths`` are files or folders relative to ``root`` inside the package; they are copied to
    ``_static/<target>/<path>`` of the built book (only when ``static``; otherwise a page-specific
    hook copies them from :attr:`files`). ``integrity`` is the registry's ``dist.integrity`` of
    the tarball (``npm view NAME@VERSION dist.integrity``), checked on every fetch.
    """

    name: str
    version: str
    integrity: str
    target: str
    root: str
    paths: Tuple[str, ...]
    static: bool = True

    @property
    def folder(self) -> Path:
        """The staged copy: ``.web_assets/<name>-<version>/<target>/...``."""
        return VENDOR / f"{self.name}-{self.version}"

    @property
    def files(self) -> Path:
        """Where the staged ``paths`` are: ``folder / target``."""
        return self.folder / self.target


#: MathJax 3, as Sphinx 7 loads it from the CDN by default (``tex-mml-chtml.js``), plus what that
#: component loads on demand: TeX extensions (autoload), the CHTML fonts, the menu and the
#: accessibility modules it offers. ``mathjax_path`` in ``_config.yml`` points at it.
MATHJAX = WebPackage(
    name="mathjax", version="3.2.2",
    integrity=("sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM"
               "1vO+geW0OhGw=="),
    target="mathjax", root="es5",
    paths=("tex-mml-chtml.js", "input/tex/extensions", "output/chtml", "ui", "a11y", "sre",
           "adaptors"),
)

#: onnxruntime-web's wasm backend for the live demo (about 15 MB): the script (sets
#: ``window.ort``), its wasm glue and the wasm. Not a static path: ``scripts/gcnn_live.py``
#: copies these files into ``_static/gcnn-live/ort/``, where ``gcnn-live.js`` loads them.
ONNXRUNTIME_WEB = WebPackage(
    name="onnxruntime-web", version="1.31.1",
    integrity=("sha512-5GeH+bWQ+HxM10z7erGlsWqryrwMbSvm/1tkIsKTT48g0fI19VXVVC435t4t7VsPdSQeS7Nmu"
               "ZPXrQ73k82URw=="),
    target="ort", root="dist",
    paths=("ort.wasm.min.js", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm"),
    static=False,
)

PACKAGES: Tuple[WebPackage, ...] = (MATHJAX, ONNXRUNTIME_WEB)


def is_staged(pkg: WebPackage) -> bool:
    """True when every path of ``pkg`` is in its staged folder."""
    return all((pkg.files / p).exists() for p in pkg.paths)


def missing(packages: Sequence[WebPackage] = PACKAGES) -> List[WebPackage]:
    return [pkg for pkg in packages if not is_staged(pkg)]


def integrity_of(tarball: Path) -> str:
    """The npm ``dist.integrity`` string of a file: ``sha512-`` and the base64 digest."""
    digest = hashlib.sha512(tarball.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode("ascii")


def fetch(pkg: WebPackage, npm: str = "npm") -> Path:
    """``npm pack`` the pinned version of ``pkg`` and stage its ``paths``; returns the folder.

    Raises:
        RuntimeError: no ``npm`` on the PATH, ``npm pack`` failed, the tarball's sha512 is not
            ``pkg.integrity``, or a path is not in the package.
    """
    if shutil.which(npm) is None:
        raise RuntimeError(f"{pkg.name}@{pkg.version} is not in {VENDOR} and there is no "
                           f"'{npm}' on PATH to fetch it (Debian: apt-get install npm)")
    with tempfile.TemporaryDirectory(prefix="web_assets-") as tmp:
        tmp_path = Path(tmp)
        proc = subprocess.run([npm, "pack", f"{pkg.name}@{pkg.version}", "--silent",
                               "--pack-destination", str(tmp_path)],
                              capture_output=True, text=True, timeout=600)
        tarballs = list(tmp_path.glob("*.tgz"))
        if proc.returncode != 0 or len(tarballs) != 1:
            raise RuntimeError(f"npm pack {pkg.name}@{pkg.version} failed "
                               f"(exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
        got = integrity_of(tarballs[0])
        if got != pkg.integrity:
            raise RuntimeError(f"{pkg.name}@{pkg.version}: the tarball's integrity is {got}, "
                               f"expected {pkg.integrity} (npm view {pkg.name}@{pkg.version} "
                               f"dist.integrity)")
        stage = tmp_path / "stage"
        prefix = PurePosixPath("package") / pkg.root
        wanted = [prefix / p for p in pkg.paths]
        with tarfile.open(tarballs[0]) as tar:
            for member in tar.getmembers():
                name = PurePosixPath(member.name)
                if not member.isfile() or not any(name == w or w in name.parents
                                                   for w in wanted):
                    continue
                dest = stage / pkg.target / name.relative_to(prefix)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(dest, "wb") as out:
                    shutil.copyfileobj(src, out)
        for p in pkg.paths:
            if not (stage / pkg.target / p).exists():
                raise RuntimeError(f"{pkg.name}@{pkg.version} has no {pkg.root}/{p}")
        if pkg.folder.exists():
            shutil.rmtree(pkg.folder)
        VENDOR.mkdir(exist_ok=True)
        shutil.move(str(stage), str(pkg.folder))
    return pkg.folder


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="only report what is missing (exit 1 if anything is)")
    args = parser.parse_args(argv)
    todo = missing()
    if args.check:
        for pkg in todo:
            print(f"missing: {pkg.name}@{pkg.version} (run python scripts/web_assets.py)")
        return 1 if todo else 0
    for pkg in todo:
        print(f"fetching {pkg.name}@{pkg.version} with npm pack ...", flush=True)
        print(f"  -> {fetch(pkg).relative_to(ROOT)}")
    if not todo:
        print(f"web assets present in {VENDOR.relative_to(ROOT)}: "
              + ", ".join(f"{p.name}@{p.version}" for p in PACKAGES))
    return 0


if __name__ == "__main__":
    sys.exit(main())
