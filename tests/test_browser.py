"""The built book in a real browser, as a reader at 1280x800 sees it, offline.

The book is built once per session into a temporary folder with the notebooks' *stored*
outputs (execution off, through a copy of ``_config.yml`` given to ``jupyter-book build
--config``): the notebooks are executed once in the test suite, by nbval (``book/*.ipynb``),
which checks that those stored outputs are reproducible. ``GCNN_BOOK_HTML`` may name an
already built book instead (a folder with ``index.html``)::

    python scripts/web_assets.py && jupyter-book build . -W -n --keep-going
    GCNN_BOOK_HTML=_build/html pytest -m browser tests/test_browser.py

Every page listed in ``_toc.yml`` is served from 127.0.0.1 and opened once in Debian's chromium
(``/usr/bin/chromium``, driven by Playwright; no browser is ever downloaded), with every request
to another host blocked. ``test_page_in_browser`` fails on

* an uncaught JavaScript exception or a ``console.error`` message, a failed local request, a
  request to a host other than the ``OFFLINE_CDN_HOSTS`` (blocked either way),
* an ``<img>`` that does not decode, fewer figures than the notebook's saved outputs, a cell's
  markdown table shown as raw text,
* a jshtml animation (``div.animation``, the kernel-free control) without frame, slider and
  buttons, or one whose picture does not change on "Next frame" and on moving the slider,
* test scaffolding on the page (``NBVAL``), a traceback, raw TeX (``\\(`` ``$$`` ...) or a
  backtick (Markdown that did not render, e.g. a ``|`` inside code in a table) in the text,
  a formula (``.math``) that MathJax did not typeset (MathJax is served from ``_static``),
* code before the page's title (``h1``),
* a code block, output, table, formula or image wider than the text column (it scrolls
  sideways or sticks out),
* an exercise solution that is open before it is clicked, or stays closed when clicked.

Separate tests: page height (``MAX_PAGE_HEIGHT_PX``), at least two exercises on each page of
``EXERCISE_CHAPTERS``, the size of each page with its images (``MAX_PAGE_BYTES``).
What was measured (heights, the widest blocks) is written to
``test-artifacts/browser-measurements.json``, a full-page screenshot of each page to
``test-artifacts/screenshots/<page>.png``.

Without ``/usr/bin/chromium`` or the ``playwright`` package the test is skipped, unless the
environment variable ``CI`` is set: then it fails.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List
from urllib.parse import urlparse

import pytest
from browsing import serve

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
MEASUREMENTS = ARTIFACTS / "browser-measurements.json"
VIEWPORT = {"width": 1280, "height": 800}
BUILD_TIMEOUT_S = int(os.environ.get("GCNN_BOOK_BUILD_TIMEOUT", "1800"))
PAGE_TIMEOUT_MS = 60_000

#: Hosts a page may ask for, which are blocked here (the tests run offline) without failing:
#: the ipywidgets embed manager with require.js (myst-nb, only on pages with saved widget
#: state) from jsdelivr/cdnjs, and the Font Awesome 4 stylesheet that matplotlib's jshtml
#: template links (the theme ships its own icons, so the buttons still show). MathJax is not
#: one of them: the book serves it from ``_static/mathjax`` (scripts/web_assets.py).
OFFLINE_CDN_HOSTS = {"cdn.jsdelivr.net", "cdnjs.cloudflare.com", "maxcdn.bootstrapcdn.com"}

#: Pages that must show at least this many jshtml animations (the kernel-free controls).
MIN_ANIMATIONS = {
    "book/03_rotating_the_goat": 1,
    "book/07_rotated_digits": 1,
}

#: Every numbered chapter of the toc must hold at least ``MIN_EXERCISES`` exercises
#: (sphinx-exercise), as issue #15 asks; a chapter goes in ``EXERCISES_EXEMPT``, with the reason,
#: only while it cannot have them yet.
EXERCISES_EXEMPT: Dict[str, str] = {}
MIN_EXERCISES = 2

#: A page taller than this (at 1280 px) is too long to read as one chapter.
MAX_PAGE_HEIGHT_PX = 16_000
#: Pages known to be too tall, with the reason; the test is an xfail(strict) for them, so it
#: reports when the page is fixed.
TALL_PAGES: Dict[str, str] = {}
#: Pages a reader looks things up in rather than reads through: no height limit.
REFERENCE_PAGES = {"book/api"}
#: A page's HTML plus the images it shows (jshtml frames are inside the HTML).
MAX_PAGE_BYTES = 3_000_000


FIGURES_JS = """
() => Array.from(document.querySelectorAll("div.cell_output img"))
  .filter(img => !(img.id || "").startsWith("_anim_img")).length
"""


RAW_TABLES_JS = """
() => Array.from(document.querySelectorAll("div.cell_output p"))
  .map(p => p.textContent.trim())
  .filter(t => t.startsWith("|") && t.split("\\n")
    .some(l => /^\\|[\\s:|\\u2013\\u2014-]+\\|$/.test(l.trim())))   // a |---|:--| row
  .map(t => t.slice(0, 80))
"""

#: What a reader sees: NBVAL, tracebacks, raw TeX, the title before code, formulas typeset.
READER_JS = r"""
() => {
  const article = document.querySelector("article.bd-article") || document.body;
  const text = document.body.innerText;
  // Text outside code and typeset math: where raw TeX would be a rendering failure.
  const walker = document.createTreeWalker(article, NodeFilter.SHOW_TEXT, {
    acceptNode: n => n.parentElement.closest("pre, code, script, style, mjx-container, "
      + "mjx-assistive-mml, .highlight, textarea") ? NodeFilter.FILTER_REJECT
                                                   : NodeFilter.FILTER_ACCEPT});
  const rawTex = [], backticks = [];
  const pattern = /\\\(|\\\)|\\\[|\\\]|\$\$|\\begin\{|\\frac|\\mathbb|\\operatorname/;
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const t = n.textContent;
    const m = t.match(pattern);
    if (m) rawTex.push(t.slice(Math.max(0, m.index - 30), m.index + 30).trim());
    // A backtick in prose is Markdown that did not render (e.g. a | inside `code` in a table).
    const b = t.indexOf("`");
    if (b >= 0) backticks.push(t.slice(Math.max(0, b - 30), b + 30).trim());
  }
  const maths = Array.from(article.querySelectorAll("span.math, div.math"));
  const h1 = article.querySelector("h1");
  const code = article.querySelector("div.cell, div.highlight");
  return {
    nbval: text.includes("NBVAL"),
    traceback: text.includes("Traceback (most recent call last)")
               || !!article.querySelector(".output.traceback, .output.error"),
    rawTex: rawTex.slice(0, 5),
    backticks: backticks.slice(0, 5),
    maths: maths.length,
    untypeset: maths.filter(m => !m.querySelector("mjx-container")).length,
    titleFirst: !code || (!!h1 && !!(h1.compareDocumentPosition(code)
                                     & Node.DOCUMENT_POSITION_FOLLOWING)),
    height: document.documentElement.scrollHeight,
  };
}
"""

#: Blocks wider than the text column: they scroll sideways (scrollWidth > clientWidth) or
#: stick out of the column on the right.
WIDE_JS = r"""
() => {
  const article = document.querySelector("article.bd-article") || document.body;
  const right = article.getBoundingClientRect().right;
  const sel = "div.highlight pre, div.cell_output pre, div.cell_output img, table, "
            + "div.pst-scrollable-table-container, div.math, div.animation, "
            + "mjx-container[display='true'], "   // a display formula scrolls inside it
            + "div.cell_output div.output";
  const out = [];
  for (const el of article.querySelectorAll(sel)) {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;        // hidden (a closed solution, say)
    const over = Math.max(el.scrollWidth - el.clientWidth, r.right - right);
    if (over > 1) {
      const where = el.closest("div.cell") ? (el.closest("div.cell_output") ? "output"
                                                                            : "code")
                                           : "text";
      out.push({what: `${where} ${el.tagName.toLowerCase()}.${el.className}`.slice(0, 60),
                over_px: Math.round(over), width_px: Math.round(el.scrollWidth),
                text: (el.textContent || el.getAttribute("src") || "").trim().slice(0, 60)});
    }
  }
  return {column_px: Math.round(article.clientWidth), wide: out};
}
"""

EXERCISES_JS = """
() => ({exercises: document.querySelectorAll("article .exercise").length,
        solutions: document.querySelectorAll("article .solution").length})
"""


def _expected_figures(docname: str) -> int:
    """Image outputs of the chapter notebook (as committed), in cells whose output is shown."""
    path = ROOT / f"{docname}.ipynb"
    if not path.is_file():
        return 0
    count = 0
    for cell in json.loads(path.read_text(encoding="utf8"))["cells"]:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if cell["cell_type"] != "code" or tags & {"remove-output", "remove-cell"}:
            continue
        count += sum(any(k.startswith("image/") for k in out.get("data", {}))
                     for out in cell.get("outputs", []))
    return count


def _toc_pages() -> List[str]:
    """The docnames in ``_toc.yml`` (root first, then the chapters in order)."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf8"))
    pages = [toc["root"]]

    def walk(entries) -> None:
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [str(Path(p).with_suffix("")) if Path(p).suffix in (".md", ".ipynb") else p
            for p in pages]


PAGES = _toc_pages()
EXERCISE_CHAPTERS = tuple(p for p in PAGES
                          if Path(p).name[:2].isdigit() and p not in EXERCISES_EXEMPT)


def _stored_outputs_config(folder: Path) -> Path:
    """``_config.yml`` with execution off, written into ``folder`` for ``--config``.

    The notebooks' stored outputs are what nbval checks, so the browser reads those instead
    of executing every notebook a second time. Paths that jupyter-book reads relative to the
    config file (the local Sphinx extension) are made absolute.
    """
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf8"))
    config["execute"]["execute_notebooks"] = "off"
    local = config.get("sphinx", {}).get("local_extensions") or {}
    for name, path in local.items():
        local[name] = str((ROOT / path).resolve())
    path = folder / "_config.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf8")
    return path


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def book_html(tmp_path_factory) -> Path:
    """The folder with the built HTML book (built here unless GCNN_BOOK_HTML names one)."""
    given = os.environ.get("GCNN_BOOK_HTML")
    if given:
        html = Path(given).resolve()
        if not (html / "index.html").is_file():
            pytest.fail(f"GCNN_BOOK_HTML={given!r} has no index.html; build the book first")
        return html
    # MathJax (and any other package of scripts/web_assets.py) must be served by the book.
    fetch = subprocess.run([sys.executable, str(ROOT / "scripts" / "web_assets.py")],
                           cwd=ROOT, capture_output=True, text=True)
    if fetch.returncode != 0:
        pytest.fail(f"scripts/web_assets.py could not stage the web assets:\n"
                    f"{fetch.stdout}{fetch.stderr}", pytrace=False)
    out = tmp_path_factory.mktemp("book")
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
           "build", str(ROOT), "--path-output", str(out),
           "--config", str(_stored_outputs_config(out)), "-W", "-n", "--keep-going"]
    ARTIFACTS.mkdir(exist_ok=True)
    log_path = ARTIFACTS / "book-build.log"
    start = time.monotonic()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True,
                              timeout=BUILD_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        log = "\n".join(part.decode("utf8", "replace") if isinstance(part, bytes) else part
                        for part in (exc.stdout, exc.stderr) if part)
        log_path.write_text(log, encoding="utf8")
        pytest.fail(f"the book build took more than {BUILD_TIMEOUT_S} s; log in {log_path}")
    log = proc.stdout + "\n" + proc.stderr
    log_path.write_text(log, encoding="utf8")
    html = out / "_build" / "html"
    if proc.returncode != 0 or not (html / "index.html").is_file():
        tail = "\n".join(log.splitlines()[-150:])
        pytest.fail(f"the book build failed (exit {proc.returncode}, "
                    f"{time.monotonic() - start:.0f} s): {' '.join(cmd)}\n"
                    f"full log: {log_path}\n...\n{tail}", pytrace=False)
    return html


@pytest.fixture(scope="session")
def site(book_html: Path) -> Iterator[str]:
    """The book served at ``http://127.0.0.1:<port>/``."""
    yield from serve(book_html)


# -- the checks of one page -------------------------------------------------------------------
IMAGES_JS = """
async () => {
  const out = [];
  for (const img of Array.from(document.images)) {
    img.loading = "eager";
    let decoded = true;
    try { await img.decode(); } catch (e) { decoded = false; }
    const src = img.currentSrc || img.getAttribute("src") || "";
    out.push({src: src.slice(0, 120), decoded: decoded, width: img.naturalWidth,
              svg: /\\.svg(\\?|#|$)/i.test(src) || src.startsWith("data:image/svg")});
  }
  return out;
}
"""

ANIMATIONS_JS = """
() => Array.from(document.querySelectorAll("div.animation")).map((div, i) => ({
  index: i,
  img: !!div.querySelector("img[id^='_anim_img']"),
  src: (div.querySelector("img[id^='_anim_img']") || {}).src || "",
  slider: !!div.querySelector("input.anim-slider[type='range']"),
  max: parseInt((div.querySelector("input.anim-slider") || {}).max || "0"),
  buttons: Array.from(div.querySelectorAll(".anim-buttons button")).map(b => b.title),
}))
"""

REQUIRED_BUTTONS = {"First frame", "Previous frame", "Play", "Pause", "Next frame", "Last frame"}
def _frame_src(page, index: int) -> str:
    return page.evaluate(
        "(i) => document.querySelectorAll('div.animation')[i].querySelector('img').src", index)


def _check_animations(page, docname: str, problems: List[str]) -> int:
    # The jshtml script builds its Animation object in a setTimeout; wait for the first frame.
    try:
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('div.animation img'))"
            ".every(img => img.src && img.complete)", timeout=PAGE_TIMEOUT_MS)
    except Exception:  # noqa: BLE001 - reported below through the per-animation checks
        pass
    animations = page.evaluate(ANIMATIONS_JS)
    for anim in animations:
        i = anim["index"]
        missing = REQUIRED_BUTTONS - set(anim["buttons"])
        if not (anim["img"] and anim["slider"]) or missing:
            problems.append(f"animation {i}: incomplete controls (img={anim['img']}, "
                            f"slider={anim['slider']}, missing buttons {sorted(missing)})")
            continue
        if not anim["src"]:
            problems.append(f"animation {i}: no frame shown (its script did not run)")
            continue
        if anim["max"] < 1:
            problems.append(f"animation {i}: only one frame")
            continue
        div = page.locator("div.animation").nth(i)
        div.scroll_into_view_if_needed()
        before = _frame_src(page, i)
        div.locator("button[title='Next frame']").click()
        after_next = _frame_src(page, i)
        if after_next == before:
            problems.append(f"animation {i}: 'Next frame' did not change the picture")
        slider = div.locator("input.anim-slider")
        slider.evaluate("(el) => { el.value = el.max; "
                        "el.dispatchEvent(new Event('input', {bubbles: true})); }")
        after_slider = _frame_src(page, i)
        if after_slider == after_next:
            problems.append(f"animation {i}: moving the slider to the last frame did not change "
                            f"the picture")
        slider.evaluate("(el) => { el.value = 0; "
                        "el.dispatchEvent(new Event('input', {bubbles: true})); }")
        if _frame_src(page, i) != before:
            problems.append(f"animation {i}: the slider at 0 does not show the first frame")
    need = MIN_ANIMATIONS.get(docname, 0)
    if len(animations) < need:
        problems.append(f"expected at least {need} jshtml animation(s), found {len(animations)}")
    return len(animations)


def _check_solutions(page, problems: List[str]) -> int:
    """Every solution is closed until its title is clicked, and opens when it is."""
    solutions = page.locator("article .solution")
    for i in range(solutions.count()):
        solution = solutions.nth(i)
        body = solution.locator(":scope > :not(.admonition-title)").first
        if body.count() and body.is_visible():
            problems.append(f"solution {i}: open before it is clicked")
            continue
        title = solution.locator(":scope > .admonition-title").first
        if not title.count():
            problems.append(f"solution {i}: no title to click")
            continue
        title.scroll_into_view_if_needed()
        title.click()
        try:
            body.wait_for(state="visible", timeout=5_000)
        except Exception:  # noqa: BLE001 - reported as the problem it is
            problems.append(f"solution {i}: still closed after a click on its title")
            continue
        title.click()  # closed again for the screenshot
    return solutions.count()


def _visit(browser, site: str, docname: str) -> Dict[str, Any]:
    """Open one page offline and measure it; ``problems`` lists what a reader would trip on."""
    url = site + f"{docname}.html"
    local = urlparse(site).netloc
    problems: List[str] = []
    blocked: Dict[str, int] = {}
    report: Dict[str, Any] = {"problems": problems}

    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)

    def route(r):
        parsed = urlparse(r.request.url)
        if parsed.scheme in ("http", "https") and parsed.netloc != local:
            blocked[r.request.url] = blocked.get(r.request.url, 0) + 1
            r.abort("blockedbyclient")
        else:
            r.continue_()

    def on_console(msg):
        if msg.type != "error":
            return
        where = (msg.location or {}).get("url", "")
        if urlparse(where).hostname in OFFLINE_CDN_HOSTS and where in blocked:
            return  # "Failed to load resource" for a CDN file blocked on purpose
        problems.append(f"console error: {msg.text} (at {where})")

    def on_response(resp):
        if urlparse(resp.url).netloc == local and resp.status >= 400:
            problems.append(f"HTTP {resp.status} for {resp.url}")

    def on_request_failed(req):
        if urlparse(req.url).netloc == local:
            problems.append(f"request failed: {req.url} ({req.failure})")

    page.route("**/*", route)
    page.on("pageerror", lambda exc: problems.append(f"JavaScript error: {exc}"))
    page.on("console", on_console)
    page.on("response", on_response)
    page.on("requestfailed", on_request_failed)
    shot = SCREENSHOTS / f"{Path(docname).name}.png"
    try:
        page.goto(url, wait_until="load")
        try:
            page.wait_for_load_state("networkidle", timeout=15_000)
        except Exception:  # noqa: BLE001 - a busy page is fine, the checks below still run
            pass
        try:  # MathJax typesets after load; wait until every formula holds its output
            page.wait_for_function(
                "() => Array.from(document.querySelectorAll('span.math, div.math'))"
                ".every(m => m.querySelector('mjx-container'))", timeout=30_000)
        except Exception:  # noqa: BLE001 - reported below as formulas not typeset
            pass

        report["animations"] = _check_animations(page, docname, problems)
        report["solutions"] = _check_solutions(page, problems)
        report.update(page.evaluate(EXERCISES_JS))

        if (ROOT / f"{docname}.ipynb").is_file():
            expected, found = _expected_figures(docname), page.evaluate(FIGURES_JS)
            if expected == 0 and Path(docname).name[:2].isdigit():   # a chapter
                problems.append(f"{docname}.ipynb has no figure in its saved outputs: execute "
                                f"it with the inline backend (MPLBACKEND unset) and save it")
            elif found < expected:
                problems.append(f"{found} figure(s) in the cell outputs, but {docname}.ipynb has "
                                f"{expected}: was the book executed with MPLBACKEND=Agg?")

        for text in page.evaluate(RAW_TABLES_JS):
            problems.append(f"a cell's markdown table is shown as raw text: {text!r}")

        for img in page.evaluate(IMAGES_JS):
            if not img["decoded"] or (img["width"] == 0 and not img["svg"]):
                problems.append(f"image did not load: {img['src']!r} "
                                f"(decoded={img['decoded']}, naturalWidth={img['width']})")

        reader = page.evaluate(READER_JS)
        report["height_px"] = reader["height"]
        report["formulas"] = reader["maths"]
        if reader["nbval"]:
            problems.append("test scaffolding on the page: the text 'NBVAL' is visible")
        if reader["traceback"]:
            problems.append("a traceback is shown")
        for text in reader["rawTex"]:
            problems.append(f"raw TeX in the text: {text!r}")
        for text in reader["backticks"]:
            problems.append(f"a backtick in the text (Markdown that did not render): {text!r}")
        if reader["untypeset"]:
            problems.append(f"{reader['untypeset']} of {reader['maths']} formulas were not "
                            f"typeset by MathJax (is _static/mathjax there?)")
        if not reader["titleFirst"]:
            problems.append("code comes before the page's title (h1)")

        wide = page.evaluate(WIDE_JS)
        report["column_px"] = wide["column_px"]
        report["wide"] = sorted(wide["wide"], key=lambda w: -w["over_px"])
        for w in report["wide"]:
            problems.append(f"wider than the {wide['column_px']} px column by {w['over_px']} px: "
                            f"{w['what']} {w['text']!r}")

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(shot), full_page=True)
    except Exception as exc:  # noqa: BLE001 - one broken page must not hide the others
        problems.append(f"the page could not be checked: {type(exc).__name__}: {exc}")
    finally:
        context.close()

    for host in {urlparse(u).hostname for u in blocked} - OFFLINE_CDN_HOSTS:
        problems.append(f"the page asks for a resource from {host}, which is not in "
                        f"OFFLINE_CDN_HOSTS: {sorted(u for u in blocked if host in u)[:3]}")
    report["screenshot"] = str(shot.relative_to(ROOT))
    return report


@pytest.fixture(scope="session")
def reports(browser, site: str) -> Dict[str, Dict[str, Any]]:
    """Every page of the toc, opened once; the measurements go to ``MEASUREMENTS``."""
    out = {docname: _visit(browser, site, docname) for docname in PAGES}
    ARTIFACTS.mkdir(exist_ok=True)
    MEASUREMENTS.write_text(json.dumps(out, indent=1, ensure_ascii=False), encoding="utf8")
    return out


# -- the tests --------------------------------------------------------------------------------
@pytest.mark.parametrize("docname", PAGES)
def test_page_in_browser(reports, docname: str) -> None:
    report = reports[docname]
    assert not report["problems"], (
        f"{docname} ({report.get('animations', 0)} animation(s), screenshot "
        f"{report['screenshot']}):\n  " + "\n  ".join(report["problems"]))


@pytest.mark.parametrize("docname", [
    pytest.param(d, marks=pytest.mark.xfail(reason=TALL_PAGES[d], strict=True))
    if d in TALL_PAGES else d for d in PAGES if d not in REFERENCE_PAGES])
def test_page_height(reports, docname: str) -> None:
    height = reports[docname].get("height_px")
    assert height is not None, f"{docname} could not be measured: {reports[docname]['problems']}"
    assert height <= MAX_PAGE_HEIGHT_PX, (
        f"{docname} is {height:,} px tall at {VIEWPORT['width']} px, more than "
        f"{MAX_PAGE_HEIGHT_PX:,}: split it or fold parts away")


@pytest.mark.parametrize("docname", EXERCISE_CHAPTERS)
def test_chapter_has_exercises(reports, docname: str) -> None:
    report = reports[docname]
    assert report.get("exercises", 0) >= MIN_EXERCISES, (
        f"{docname} shows {report.get('exercises', 0)} exercise(s) (sphinx-exercise, "
        f"'article .exercise'), at least {MIN_EXERCISES} expected")
    assert report.get("solutions", 0) >= MIN_EXERCISES, (
        f"{docname} shows {report.get('solutions', 0)} solution(s), at least "
        f"{MIN_EXERCISES} expected (closed until clicked: checked in test_page_in_browser)")


def test_book_has_a_kernel_free_control(reports) -> None:
    """At least one control of the static HTML (a jshtml slider) that changes the picture."""
    assert sum(r.get("animations", 0) for r in reports.values()) >= 1


@pytest.mark.parametrize("docname", PAGES)
def test_page_size(book_html: Path, docname: str) -> None:
    """The page's HTML and the local images it shows stay under ``MAX_PAGE_BYTES``."""
    html_file = book_html / f"{docname}.html"
    assert html_file.is_file(), f"{docname} is in _toc.yml but {html_file} was not built"
    html = html_file.read_text(encoding="utf8")
    images = {src for src in re.findall(r'<img[^>]+src="([^"]+)"', html)
              if not src.startswith(("data:", "http:", "https:"))}
    sizes = {src: (html_file.parent / src.split("?")[0]).stat().st_size for src in images
             if (html_file.parent / src.split("?")[0]).is_file()}
    total = html_file.stat().st_size + sum(sizes.values())
    biggest = sorted(sizes.items(), key=lambda kv: -kv[1])[:3]
    assert total < MAX_PAGE_BYTES, (
        f"{docname}: {total / 1e6:.1f} MB with its images (HTML "
        f"{html_file.stat().st_size / 1e6:.1f} MB; largest images {biggest})")
