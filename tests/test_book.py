"""Fast checks of the book's scaffolding (no build, no browser): toc, API page, bibliography.

The full build and the pages in a browser are checked by ``tests/test_browser.py``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
import subprocess
import sys
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
    "book/08_six_and_nine",
    "book/09_finer_groups",
    "book/10_closing_the_gap",
    "book/11_the_best_model",
]
REFERENCE = ["book/reproducing", "book/api", "book/references"]


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
    assert _toc_files() == ["book/index", *CHAPTERS, *REFERENCE]


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


# -- what a reader sees of the notebooks (issue #15) -------------------------------------------
HIDDEN = {"remove-cell", "remove-input"}
MAX_CODE_COLUMNS = 88


def _cells(docname):
    return nbformat.read(ROOT / f"{docname}.ipynb", as_version=4).cells


@pytest.mark.parametrize("docname", CHAPTERS)
def test_scaffolding_is_hidden(docname):
    """Test markers and the Colab install cell never reach the page; the title comes first.

    nbval's markers go in the cell's tags (``nbval-check-output``, which nbval reads like the
    ``# NBVAL_CHECK_OUTPUT`` comment); a cell that must keep such a comment is tagged
    ``remove-input`` or ``remove-cell``. The install cell is tagged ``remove-cell`` (it still
    runs in Jupyter, on Colab and under nbval).
    """
    cells = _cells(docname)
    for i, cell in enumerate(cells):
        tags = set(cell.metadata.get("tags", []))
        if cell.cell_type != "code" or tags & HIDDEN:
            continue
        assert "NBVAL" not in cell.source, (
            f"{docname} cell {i} shows an nbval marker: move it to the cell's tags "
            f"(nbval-check-output) or tag the cell remove-input")
        assert "pip install" not in cell.source, (
            f"{docname} cell {i} shows a pip install: put it after the title, tag remove-cell")
    first = next(c for c in cells if "remove-cell" not in c.metadata.get("tags", []))
    assert first.cell_type == "markdown" and first.source.startswith("# "), (
        f"{docname}: the first thing on the page must be the title, not {first.source[:40]!r}")


@pytest.mark.parametrize("docname", [*CHAPTERS, "book/reproducing"])
def test_shown_code_fits_the_page(docname):
    """Code a reader sees is at most 88 columns wide (no sideways scrolling at 1280 px)."""
    long = []
    for i, cell in enumerate(_cells(docname)):
        if cell.cell_type != "code" or set(cell.metadata.get("tags", [])) & HIDDEN:
            continue
        long += [f"cell {i}: {len(line)} columns: {line.strip()[:50]}"
                 for line in cell.source.splitlines() if len(line) > MAX_CODE_COLUMNS]
    assert not long, f"{docname}: lines over {MAX_CODE_COLUMNS} columns:\n  " + "\n  ".join(long)


def _script(name):
    """A module of ``scripts/`` (not a package), imported by file name."""
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)


def test_readme_is_short_and_its_table_is_printed_by_the_script(capsys, monkeypatch):
    """README under 120 lines; its results table is what its results_table.py command prints."""
    readme = (ROOT / "README.md").read_text(encoding="utf8")
    assert len(readme.splitlines()) < 120
    command = re.search(r"^python scripts/results_table\.py (.*?[^\\])$", readme,
                        flags=re.M | re.S)
    assert command, "README.md: no 'python scripts/results_table.py ...' command"
    # the shell's brace and glob expansion, from the repository root
    args = subprocess.run(["bash", "-c", "echo " + command.group(1).replace("\\\n", " ")],
                          cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    monkeypatch.chdir(ROOT)
    _script("results_table").main(args)
    first_table = capsys.readouterr().out.split("\n\n")[0]
    assert first_table.strip() in readme, "README.md: the table differs from the script's output"


def test_mathjax_path_is_the_staged_file():
    """``mathjax_path`` in _config.yml names the file scripts/web_assets.py stages."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
    mathjax = _script("web_assets").MATHJAX
    assert config["sphinx"]["config"]["mathjax_path"] == f"{mathjax.target}/{mathjax.paths[0]}"
