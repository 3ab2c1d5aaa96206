"""The live demo in a real browser: onnxruntime-web gives torch's answers, and the page responds.

The demo (``book/_static/gcnn-live/gcnn-live.js``) runs the ONNX exports of the shipped models
(``gcnn.onnx_export``) with onnxruntime-web's wasm backend. By default the test stages exactly
what the book build stages (``scripts/gcnn_live.py``'s ``stage_live``) beside a small page of
its own, so that it needs no book build; with ``GCNN_BOOK_HTML`` (a built book, as for
``tests/test_browser.py``) it opens the chapter page instead::

    python scripts/web_assets.py                           # once: npm pack onnxruntime-web
    pytest tests/test_live.py
    GCNN_BOOK_HTML=_build/html pytest tests/test_live.py   # the built chapter 7

Checks: ``gcnnLive.classify`` agrees with ``softmax(gcnn.pretrained(name)(gcnn.data.rotate(x,
angle)))`` on 20 real test digits at 5 angles (probabilities to 1e-3, same class), the turned
picture equals ``rotate``'s; dragging the slider, drawing a stroke, "Play" and "Pick a test digit"
change the bars; no JavaScript error or failed request; without onnxruntime-web, and from
``file://``, the demo says what to do. Screenshot: ``test-artifacts/screenshots/live-demo.png``.

Without chromium, playwright or the fetched onnxruntime-web the test is skipped, unless ``CI``
is set: then it fails.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Iterator, List
from urllib.parse import urlparse

import numpy as np
import pytest
import torch

import gcnn
from browsing import serve, unavailable
from gcnn.data import rotate
from gcnn.data import test_set as mnist_test_set
from gcnn.onnx_export import LIVE_MODELS

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import gcnn_live  # noqa: E402

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
TIMEOUT_MS = 120_000
CHAPTER = "book/07_rotated_digits.html"
#: The page whose demo starts on a 6 (``data-digit="6"``): chapter 8, or the small page's twin.
SIX_NINE = {CHAPTER: "book/08_six_and_nine.html", "demo.html": "demo6.html"}
ANGLES = (0.0, 45.0, 90.0, 137.5, 270.0)

HARNESS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>gcnn live demo</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="_static/gcnn-live/gcnn-live.css">
<script defer src="_static/gcnn-live/gcnn-live.js"></script></head>
<body style="font-family: sans-serif; max-width: 60rem; margin: 1rem auto">
<h1>Live demo</h1>
<div class="gcnn-live"><p>The live demo needs JavaScript.</p></div>
</body></html>
"""


def _harness(folder: Path, **stage) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    gcnn_live.stage_live(folder / "_static", **stage)
    (folder / "demo.html").write_text(HARNESS, encoding="utf-8")
    (folder / "demo6.html").write_text(HARNESS.replace('class="gcnn-live"',
                                                       'class="gcnn-live" data-digit="6"'),
                                       encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory) -> Iterator[str]:
    """The page with the demo: the built chapter (GCNN_BOOK_HTML) or a staged small page."""
    given = os.environ.get("GCNN_BOOK_HTML")
    if given:
        html = Path(given).resolve()
        if not (html / CHAPTER).is_file():
            pytest.fail(f"GCNN_BOOK_HTML={given!r} has no {CHAPTER}; build the book first")
        config = json.loads((html / "_static/gcnn-live/config.json").read_text(encoding="utf8"))
        if not config["ort"]:
            unavailable(f"the book in {html} was built without onnxruntime-web: "
                         f"python scripts/web_assets.py, then build again")
        yield from (base + CHAPTER for base in serve(html))
        return
    if not gcnn_live.ort_available():
        unavailable(f"onnxruntime-web {gcnn_live.ORT_WEB_VERSION} is not fetched: "
                     f"python scripts/web_assets.py")
    folder = _harness(tmp_path_factory.mktemp("live"))
    yield from (base + "demo.html" for base in serve(folder))


class Page:
    """A page with every JavaScript error and failed local request collected in ``problems``."""

    def __init__(self, browser, url: str):
        self.problems: List[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900},
                                           service_workers="block")
        self.page = self.context.new_page()
        self.page.set_default_timeout(TIMEOUT_MS)
        local = urlparse(url).netloc

        def route(r):
            parsed = urlparse(r.request.url)
            if parsed.scheme in ("http", "https") and parsed.netloc != local:
                r.abort("blockedbyclient")   # offline: the CDNs of the book theme
            else:
                r.continue_()

        self.page.route("**/*", route)
        self.page.on("pageerror", lambda exc: self.problems.append(f"JavaScript error: {exc}"))

        def on_console(msg):
            where = (msg.location or {}).get("url", "")
            if msg.type == "error" and urlparse(where).netloc == local:
                self.problems.append(f"console error: {msg.text} (at {where})")

        self.page.on("console", on_console)
        self.page.on("response", lambda r: urlparse(r.url).netloc == local and r.status >= 400
                     and self.problems.append(f"HTTP {r.status} for {r.url}"))
        self.page.on("requestfailed", lambda r: urlparse(r.url).netloc == local
                     and self.problems.append(f"request failed: {r.url} ({r.failure})"))
        self.page.goto(url, wait_until="load")

    def close(self) -> None:
        self.context.close()


@pytest.fixture(scope="module")
def page(browser, demo_url) -> Iterator[Page]:
    p = Page(browser, demo_url)
    try:
        yield p
    finally:
        p.close()
    assert not p.problems, "\n".join(p.problems)


def _digits(root: Path, n: int = 20):
    x, y = mnist_test_set(root, download=False)
    idx = torch.randperm(len(y), generator=torch.Generator().manual_seed(1616))[:n]
    return x[idx], y[idx]


CLASSIFY_JS = """
async ([images, angles]) => {
  const names = await window.gcnnLive.ready;
  const out = [];
  for (const image of images) {
    for (const angle of angles) {
      const r = await window.gcnnLive.run(Float32Array.from(image), angle);
      const probs = {};
      for (const name of names) probs[name] = Array.from(r.probs[name]);
      out.push({probs: probs, rotated: Array.from(r.rotated)});
    }
  }
  const direct = await window.gcnnLive.classify(Float32Array.from(images[0]), angles[1]);
  return {names: names, out: out, direct: Object.fromEntries(
    Object.entries(direct).map(([k, v]) => [k, [v.constructor.name, Array.from(v)]]))};
}
"""


def test_classify_matches_torch(page, root):
    """20 test digits x 5 angles: the browser's probabilities are torch's to 1e-3, same class."""
    x, _ = _digits(root)
    images = x.reshape(len(x), 784).tolist()
    got = page.page.evaluate(CLASSIFY_JS, [images, list(ANGLES)])
    assert got["names"] == list(LIVE_MODELS)
    worst, worst_rot, disagree = 0.0, 0.0, []
    for name in got["names"]:
        model = gcnn.pretrained(name)
        for i in range(len(x)):
            for j, angle in enumerate(ANGLES):
                turned = rotate(x[i : i + 1], angle)
                with torch.no_grad():
                    want = torch.softmax(model(turned), dim=-1)[0].numpy()
                result = got["out"][i * len(ANGLES) + j]
                probs = np.asarray(result["probs"][name], dtype=np.float64)
                assert probs.shape == (10,) and abs(probs.sum() - 1) < 1e-4
                worst = max(worst, float(np.abs(probs - want).max()))
                worst_rot = max(worst_rot, float(np.abs(
                    np.asarray(result["rotated"]) - turned.flatten().numpy()).max()))
                if probs.argmax() != want.argmax():
                    disagree.append((name, i, angle, int(probs.argmax()), int(want.argmax())))
    assert worst <= 1e-3, f"largest probability difference to torch: {worst:.2e}"
    assert not disagree, f"(model, digit, angle, browser, torch) that disagree: {disagree}"
    assert worst_rot <= 1e-5, f"the turned picture differs from gcnn.data.rotate by {worst_rot}"
    for name, (kind, values) in got["direct"].items():
        assert kind == "Float32Array" and len(values) == 10
        assert np.allclose(values, got["out"][1]["probs"][name])


def test_classify_rejects_bad_input(page):
    message = page.page.evaluate("""async () => {
      try { await window.gcnnLive.classify(new Float32Array(10), 0); return null; }
      catch (e) { return e.name + ": " + e.message; } }""")
    assert message and message.startswith("TypeError") and "784" in message


def _bars(page) -> List[str]:
    return page.evaluate(
        "() => Array.from(document.querySelectorAll('.gcnn-live .gl-model'))"
        ".map(m => m.dataset.probs || '')")


def _wait_for_change(page, before: List[str], what: str) -> List[str]:
    try:
        page.wait_for_function(
            "(before) => { const now = Array.from(document.querySelectorAll("
            "'.gcnn-live .gl-model')).map(m => m.dataset.probs || '');"
            "return now.length && now.every(p => p) && now.join('|') !== before.join('|'); }",
            arg=before, timeout=30_000)
    except Exception as err:  # noqa: BLE001 - turned into a readable failure
        raise AssertionError(f"the bars did not change after {what}") from err
    return _bars(page)


def _wait_for_angle(page, angle: int) -> None:
    """Until the picture the models saw last is the one turned by ``angle``."""
    page.wait_for_function(
        "(a) => document.querySelector('.gcnn-live .gl-seen-caption').textContent"
        ".includes(`turned by ${a}°`)", arg=angle, timeout=30_000)


def test_demo_responds(page):
    """The bars appear, and change when the slider is dragged, a stroke is drawn, on Play."""
    p = page.page
    demo = p.locator("div.gcnn-live").first
    demo.scroll_into_view_if_needed()
    p.wait_for_function("() => document.querySelectorAll('.gcnn-live .gl-model').length > 0 && "
                        "Array.from(document.querySelectorAll('.gcnn-live .gl-model'))"
                        ".every(m => m.dataset.probs)")
    status = demo.locator(".gl-status")
    assert "Models loaded" in status.inner_text()
    before = _bars(p)
    assert len(before) == len(LIVE_MODELS)

    # labelled, keyboard-usable controls
    slider = demo.locator("input.gl-angle")
    assert demo.locator(f"label[for='{slider.get_attribute('id')}']").count() == 1
    assert demo.locator("button.gl-play").count() == 1 and demo.locator("button.gl-pick").count()

    # drag the slider's thumb about a third of the way
    box = slider.bounding_box()
    y = box["y"] + box["height"] / 2
    p.mouse.move(box["x"] + 6, y)
    p.mouse.down()
    for k in range(1, 11):
        p.mouse.move(box["x"] + 6 + k * box["width"] / 30, y)
    p.mouse.up()
    angle = int(slider.input_value())
    assert 60 <= angle <= 180, f"dragging the slider moved it to {angle}"
    _wait_for_angle(p, angle)
    after_slider = _wait_for_change(p, before, "dragging the slider")

    # keyboard: the arrow key turns by one degree
    slider.focus()
    p.keyboard.press("ArrowRight")
    assert int(slider.input_value()) == angle + 1
    _wait_for_angle(p, angle + 1)
    after_key = _wait_for_change(p, after_slider, "pressing the right arrow key on the slider")

    # draw a stroke
    canvas = demo.locator("canvas.gl-draw")
    box = canvas.bounding_box()
    p.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.2)
    p.mouse.down()
    for k in range(1, 16):
        p.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * (0.2 + k * 0.04))
    p.mouse.up()
    after_stroke = _wait_for_change(p, after_key, "drawing a stroke on the canvas")
    assert "Your drawing" in demo.locator(".gl-info").inner_text()

    # play turns the picture; pause stops it
    play = demo.locator("button.gl-play")
    play.click()
    assert play.get_attribute("aria-pressed") == "true"
    p.wait_for_function("(a) => Number(document.querySelector('.gcnn-live input.gl-angle')"
                        ".value) !== a", arg=angle + 1, timeout=30_000)
    _wait_for_change(p, after_stroke, "Play")
    play.click()
    assert play.get_attribute("aria-pressed") == "false" and play.inner_text() == "Play"

    # pick a test digit
    demo.locator("button.gl-pick").click()
    p.wait_for_function("() => document.querySelector('.gcnn-live .gl-info').textContent"
                        ".startsWith('MNIST test digit')")
    p.wait_for_timeout(500)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    demo.screenshot(path=str(SCREENSHOTS / "live-demo.png"))


def test_lazy_loading(browser, demo_url):
    """Nothing heavy is fetched before the reader reaches the demo (or asks gcnnLive.ready)."""
    p = Page(browser, demo_url)
    try:
        fetched: List[str] = []
        p.page.on("request", lambda r: fetched.append(r.url))
        p.page.wait_for_timeout(1500)
        heavy = [u for u in fetched if u.endswith((".wasm", ".onnx", ".mjs"))]
        if CHAPTER not in demo_url:   # the small page shows the demo at once: it loads
            assert p.page.evaluate("async () => (await window.gcnnLive.ready).length") == len(
                LIVE_MODELS)
        else:
            assert not heavy, f"fetched before the demo was reached: {heavy}"
            p.page.locator("div.gcnn-live").first.scroll_into_view_if_needed()
            p.page.wait_for_function("() => document.querySelector('.gcnn-live .gl-model')")
        assert any(u.endswith(".wasm") for u in fetched)
    finally:
        p.close()
    assert not p.problems, "\n".join(p.problems)


def test_clear_message_without_library(browser, tmp_path):
    """A build without onnxruntime-web, and a page opened from disk, say what to do."""
    folder = _harness(tmp_path / "site", version="0.0.0-not-fetched")
    assert json.loads((folder / "_static/gcnn-live/config.json").read_text())["ort"] is None
    for url, expect in [(None, "scripts/web_assets.py"),
                        ((folder / "demo.html").as_uri(), "python -m http.server")]:
        if url is None:
            server = serve(folder)
            url = next(server) + "demo.html"
        p = Page(browser, url)
        try:
            p.page.wait_for_function("() => document.querySelector('.gcnn-live .gl-error')")
            text = p.page.locator(".gcnn-live .gl-status").inner_text()
            assert expect in text, text
            p.page.on("request", lambda r: r.url.endswith(".wasm") and p.problems.append(r.url))
        finally:
            p.close()
        if url.startswith("http"):
            assert not p.problems, "\n".join(p.problems)
            server.close()


def test_demo_starts_on_a_given_digit(browser, demo_url):
    """``data-digit="6"`` (chapter 8) starts on the first 6 of the shipped test digits."""
    page_path = next(k for k in SIX_NINE if demo_url.endswith(k))
    p = Page(browser, demo_url[: -len(page_path)] + SIX_NINE[page_path])
    try:
        p.page.locator("div.gcnn-live").first.scroll_into_view_if_needed()
        p.page.wait_for_function("() => document.querySelector('.gcnn-live .gl-model')")
        info = p.page.locator(".gcnn-live .gl-info").inner_text()
        assert info.startswith("MNIST test digit") and info.endswith("labelled 6."), info
    finally:
        p.close()
    assert not p.problems, "\n".join(p.problems)
