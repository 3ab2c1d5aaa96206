"""Fast checks of the book's scaffolding (no build, no browser): toc, API page, bibliography.

The full build and the pages in a browser are checked by ``tests/test_browser.py``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")
nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"

CHAPTERS = [
    "book/01_introduction",
    "book/02_the_group_c4",
    "book/03_rotating_the_goat",
    "book/04_lifting_convolution",
    "book/05_group_convolution",
    "book/06_gcnn",
    "book/07_rotated_digits",
    "book/08_challenge",
]


def _toc_files() -> list:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8"))
    assert toc["format"] == "jb-book"
    files = [toc["root"]]
    for part in toc["parts"]:
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


def _source(docname: str) -> Path:
    for suffix in (".ipynb", ".md"):
        path = ROOT / f"{docname}{suffix}"
        if path.is_file():
            return path
    raise FileNotFoundError(f"{docname} is in _toc.yml but neither {docname}.ipynb nor .md exists")


def test_toc_lists_the_chapters_in_order():
    assert _toc_files() == ["book/index", *CHAPTERS, "book/api", "book/references"]


def test_toc_and_book_folder_list_the_same_pages():
    # Every page of the toc has its source, and every page source in book/ is in the toc
    # (with only_build_toc_files a page left out would silently vanish from the book).
    listed = {_source(docname).relative_to(ROOT).as_posix() for docname in _toc_files()}
    on_disk = {p.relative_to(ROOT).as_posix() for p in BOOK.iterdir()
               if p.suffix in (".ipynb", ".md") and p.is_file()}
    assert listed == on_disk, (f"in _toc.yml only: {sorted(listed - on_disk)}; "
                               f"in book/ only: {sorted(on_disk - listed)}")
    assert len(listed) == len(_toc_files()) == len(set(_toc_files())), "a page is listed twice"


@pytest.mark.parametrize("docname", CHAPTERS)
def test_chapter_notebook_is_valid_and_titled(docname):
    path = ROOT / f"{docname}.ipynb"
    if not path.is_file():
        pytest.fail(f"missing chapter notebook {path.relative_to(ROOT)}")
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("language", "python") == "python"
    first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    assert first is not None and first.source.lstrip().startswith("# "), (
        f"{path.name}: the first markdown cell must start with the '# Title' of the chapter")
    title = first.source.lstrip().splitlines()[0]
    # The title also appears in the sidebar and the previous/next links, where MathJax does not
    # run: "$C_4$" would show as "\(C_4\)". Write C4 or C₄ in titles.
    assert "$" not in title, f"{path.name}: no math in the chapter title {title!r}"


def test_api_page_documents_every_module_and_reexport():
    api = (BOOK / "api.md").read_text(encoding="utf8")
    documented = set(re.findall(r"^\.\. automodule:: (gcnn\.\w+)\s*$", api, flags=re.M))
    gcnn = importlib.import_module("gcnn")
    modules = {f"gcnn.{m.name}" for m in pkgutil.iter_modules(gcnn.__path__)
               if not m.name.startswith("_")}      # gcnn.train and gcnn.pretrained are packages
    assert modules - documented == set(), "modules missing from book/api.md"
    assert documented - modules == set(), "book/api.md documents modules that do not exist"
    summary = set(re.findall(r"^   (\w+\.\w+)\s*$", api, flags=re.M))
    for name in gcnn.__all__:
        obj = getattr(gcnn, name)
        if inspect.ismodule(obj):          # a re-exported module has its own automodule section
            assert obj.__name__ in documented, f"{obj.__name__} is missing from book/api.md"
            continue
        where = f"{obj.__module__.removeprefix('gcnn.')}.{obj.__qualname__}"
        assert where in summary, f"gcnn.{name} ({where}) is missing from the list in book/api.md"


def test_citations_exist_in_the_bibliography():
    bib = (BOOK / "references.bib").read_text(encoding="utf8")
    keys = set(re.findall(r"^@\w+\{([^,\s]+),", bib, flags=re.M))
    assert {"keydana2023gcnn", "knigge2022regular", "cohen2016group", "weiler2019general",
            "lecun1998gradient", "cesa2022program"} <= keys
    sources = [BOOK / "index.md", BOOK / "references.md"]
    sources += [ROOT / f"{c}.ipynb" for c in CHAPTERS if (ROOT / f"{c}.ipynb").is_file()]
    for path in sources:
        text = path.read_text(encoding="utf8")
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text):
            for key in group.split(","):
                assert key.strip() in keys, f"{path.name} cites unknown key {key.strip()!r}"


def test_config_points_at_existing_files():
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
    for bib in config["bibtex_bibfiles"]:
        assert (ROOT / bib).is_file()
    for name, folder in config["sphinx"].get("local_extensions", {}).items():
        assert (ROOT / folder / f"{name}.py").is_file()
    assert config["only_build_toc_files"] is True
    assert config["execute"]["execute_notebooks"] == "cache"
