"""Browser packages the book serves itself, fetched from npm and copied into the built HTML.

The pages must work offline (a reader's laptop on a train, the browser test in CI), so nothing
they need may come from a CDN. Each package in :data:`PACKAGES` is fetched once, pinned, with
``npm pack`` (no ``node_modules``, no install scripts) into ``.web_assets/`` (git-ignored), and
:mod:`sphinx_gcnn` adds what is there to ``html_static_path``, so it lands in the book's
``_static/<target>/``::

    python scripts/web_assets.py          # fetch what is missing (a no-op when all is there)
    python scripts/web_assets.py --check  # exit 1 and name what is missing, fetch nothing

To ship another package, add a :class:`WebPackage` to :data:`PACKAGES`; a page then loads its
files from ``_static/<target>/...``.
"""

from __future__ import annotations

import argparse
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
    ``_static/<target>/<path>`` of the built book.
    """

    name: str
    version: str
    target: str
    root: str
    paths: Tuple[str, ...]

    @property
    def folder(self) -> Path:
        """The staged copy: ``.web_assets/<name>-<version>/<target>/...``."""
        return VENDOR / f"{self.name}-{self.version}"


#: MathJax 3, as Sphinx 7 loads it from the CDN by default (``tex-mml-chtml.js``), plus what that
#: component loads on demand: TeX extensions (autoload), the CHTML fonts, the menu and the
#: accessibility modules it offers. ``mathjax_path`` in ``_config.yml`` points at it.
MATHJAX = WebPackage(
    name="mathjax", version="3.2.2", target="mathjax", root="es5",
    paths=("tex-mml-chtml.js", "input/tex/extensions", "output/chtml", "ui", "a11y", "sre",
           "adaptors"),
)

PACKAGES: Tuple[WebPackage, ...] = (MATHJAX,)


def is_staged(pkg: WebPackage) -> bool:
    """True when every path of ``pkg`` is in its staged folder."""
    return all((pkg.folder / pkg.target / p).exists() for p in pkg.paths)


def missing(packages: Sequence[WebPackage] = PACKAGES) -> List[WebPackage]:
    return [pkg for pkg in packages if not is_staged(pkg)]


def fetch(pkg: WebPackage, npm: str = "npm") -> Path:
    """``npm pack`` the pinned version of ``pkg`` and stage its ``paths``; returns the folder."""
    if shutil.which(npm) is None:
        raise RuntimeError(f"{pkg.name}@{pkg.version} is not in {VENDOR} and there is no "
                           f"'{npm}' on PATH to fetch it (Debian: apt-get install npm)")
    with tempfile.TemporaryDirectory(prefix="web_assets-") as tmp:
        tmp_path = Path(tmp)
        proc = subprocess.run([npm, "pack", f"{pkg.name}@{pkg.version}", "--silent",
                               "--pack-destination", str(tmp_path)],
                              capture_output=True, text=True)
        tarballs = list(tmp_path.glob("*.tgz"))
        if proc.returncode != 0 or len(tarballs) != 1:
            raise RuntimeError(f"npm pack {pkg.name}@{pkg.version} failed "
                               f"(exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
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
