"""The built book in a real browser: no JavaScript errors, every image loads, the animations move.

The book is built once per session with ``jupyter-book build . -W -n --keep-going`` into a
temporary folder (this executes every chapter), or taken from ``GCNN_BOOK_HTML``, a folder with
an already built ``index.html``::

    jupyter-book build . -W -n --keep-going
    GCNN_BOOK_HTML=_build/html pytest -m browser tests/test_browser.py

Every page listed in ``_toc.yml`` is served from 127.0.0.1 and opened in Debian's chromium
(``/usr/bin/chromium``, driven by Playwright; no browser is ever downloaded). For each page the
test fails on

* an uncaught JavaScript exception or a ``console.error`` message,
* a request to the local server that fails or answers with an HTTP error,
* a request to any other host except the CDNs listed in ``OFFLINE_CDN_HOSTS`` (all other
  requests are blocked, so the check is the same with or without network),
* an ``<img>`` that does not decode (or has no size),
* fewer figures in the page's cell outputs than the chapter notebook has image outputs (a
  figure that the build did not render, e.g. with ``MPLBACKEND=Agg`` set for the kernel),
* a markdown table displayed by a cell that reached the page as raw text (``| a | b |``),
* a matplotlib ``to_jshtml`` animation (``div.animation``) without its frame, slider and
  buttons, or one whose frame does not change on "Next frame" and on moving the slider.

A full-page screenshot of each page is saved to ``test-artifacts/screenshots/<page>.png``
(``<page>`` is the file name without folder and suffix, e.g. ``03_rotating_the_goat``).

Without ``/usr/bin/chromium`` or the ``playwright`` package the test is skipped, unless the
environment variable ``CI`` is set: then it fails.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, Iterator, List
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
CHROMIUM = Path(os.environ.get("GCNN_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BUILD_TIMEOUT_S = int(os.environ.get("GCNN_BOOK_BUILD_TIMEOUT", "3600"))
PAGE_TIMEOUT_MS = 60_000

#: Hosts a page may ask for, which are blocked here (the tests run offline) without failing:
#: MathJax (Sphinx) and the ipywidgets embed manager with require.js (myst-nb, only on pages
#: with saved widget state) from jsdelivr/cdnjs, and the Font Awesome 4 stylesheet that
#: matplotlib's jshtml template links (the theme ships its own icons, so the buttons still show).
OFFLINE_CDN_HOSTS = {"cdn.jsdelivr.net", "cdnjs.cloudflare.com", "maxcdn.bootstrapcdn.com"}

#: Pages that must show at least this many jshtml animations (the kernel-free rotation demos).
MIN_ANIMATIONS = {
    "book/03_rotating_the_goat": 1,
    "book/07_rotated_digits": 1,
}


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


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"{reason} (CI is set, so the browser test may not be skipped)")
    pytest.skip(reason)


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


# -- fixtures ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def browser():
    """Debian's chromium, headless, through Playwright, with a fresh temporary profile."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package is not installed (pip install playwright)")
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"no chromium at {CHROMIUM} (Debian: apt-get install chromium)")
    with sync_playwright() as pw:
        # launch() gives every browser a new temporary user-data dir, removed on close.
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                      args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def book_html(tmp_path_factory) -> Path:
    """The folder with the built HTML book (built here unless GCNN_BOOK_HTML names one)."""
    given = os.environ.get("GCNN_BOOK_HTML")
    if given:
        html = Path(given).resolve()
        if not (html / "index.html").is_file():
            pytest.fail(f"GCNN_BOOK_HTML={given!r} has no index.html; build the book first")
        return html
    out = tmp_path_factory.mktemp("book")
    cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()",
           "build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going"]
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


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the signature of the base class
        pass


@pytest.fixture(scope="session")
def site(book_html: Path) -> Iterator[str]:
    """The book served at ``http://127.0.0.1:<port>/``."""
    handler = functools.partial(_QuietHandler, directory=str(book_html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# -- the check --------------------------------------------------------------------------------
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


@pytest.mark.parametrize("docname", PAGES)
def test_page_in_browser(browser, book_html: Path, site: str, docname: str) -> None:
    html_file = book_html / f"{docname}.html"
    assert html_file.is_file(), f"{docname} is in _toc.yml but {html_file} was not built"
    url = site + f"{docname}.html"
    local = urlparse(site).netloc

    problems: List[str] = []
    blocked: Dict[str, int] = {}

    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  service_workers="block")
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
    try:
        page.goto(url, wait_until="load")
        try:
            page.wait_for_load_state("networkidle", timeout=15_000)
        except Exception:  # noqa: BLE001 - a busy page is fine, the checks below still run
            pass

        n_animations = _check_animations(page, docname, problems)

        if (ROOT / f"{docname}.ipynb").is_file():
            expected, found = _expected_figures(docname), page.evaluate(FIGURES_JS)
            if expected == 0:
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

        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"{Path(docname).name}.png"
        page.evaluate("() => window.scrollTo(0, 0)")
        page.screenshot(path=str(shot), full_page=True)
    finally:
        context.close()

    for host in {urlparse(u).hostname for u in blocked} - OFFLINE_CDN_HOSTS:
        problems.append(f"the page asks for a resource from {host}, which is not in "
                        f"OFFLINE_CDN_HOSTS: {sorted(u for u in blocked if host in u)[:3]}")
    assert not problems, (f"{docname} ({n_animations} animation(s), screenshot {shot}):\n  "
                          + "\n  ".join(problems))
