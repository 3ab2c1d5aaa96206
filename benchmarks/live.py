"""The live demo's speed and weight: one ``gcnnLive.classify`` in headless Chromium against torch.

    python scripts/web_assets.py               # once: onnxruntime-web (and MathJax) from npm
    python benchmarks/live.py                  # a small page with the demo, staged here
    python benchmarks/live.py --html _build/html   # the built book's chapter 7

What it prints (see benchmarks/README.md):

* the median (min, max) time of one ``gcnnLive.classify(pixels, angle)`` in the page: every
  model of the demo on one 28x28 digit turned by ``angle`` (onnxruntime-web, wasm, one thread),
  timed with ``performance.now()`` around the awaited call, ``--repeats`` calls after
  ``--warmup`` untimed ones, the angle changing from call to call as when the slider moves;
* torch's time for the same work in this process: ``softmax(gcnn.pretrained(name)(
  gcnn.data.rotate(x, angle)))`` for every model, batch 1, ``torch.no_grad``, ``--threads``
  threads (default 1, like the page), per model and all together;
* the bytes the page downloads for the demo (everything under ``_static/gcnn-live/``: script,
  stylesheet, config, test digits, ONNX models, onnxruntime-web), by file.

Chromium is Debian's (``/usr/bin/chromium``, or ``GCNN_CHROMIUM``), driven by Playwright; the
page is served from 127.0.0.1 and every other host is blocked.
"""

from __future__ import annotations

import argparse
import base64
import functools
import http.server
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout, too
sys.path.insert(0, str(ROOT / "scripts"))

import torch  # noqa: E402

import gcnn  # noqa: E402
import gcnn_live  # noqa: E402
from gcnn.data import rotate  # noqa: E402

CHAPTER = "book/07_rotated_digits.html"
HARNESS = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>live</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="_static/gcnn-live/gcnn-live.css">
<script defer src="_static/gcnn-live/gcnn-live.js"></script></head>
<body><div class="gcnn-live"></div></body></html>
"""

TIME_JS = """
async ([pixels, warmup, repeats]) => {
  const names = await window.gcnnLive.ready;
  const x = Float32Array.from(pixels);
  const times = [];
  for (let k = 0; k < warmup + repeats; k++) {
    const t0 = performance.now();
    await window.gcnnLive.classify(x, (7 * k) % 360);
    if (k >= warmup) times.push(performance.now() - t0);
  }
  return {names: names, times: times, agent: navigator.userAgent};
}
"""


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the signature of the base class
        pass


def _ms(values: List[float]) -> str:
    return (f"{statistics.median(values):7.2f} ms (min {min(values):.2f}, "
            f"max {max(values):.2f})")


def torch_times(names: List[str], pixels: torch.Tensor, warmup: int, repeats: int
                ) -> Dict[str, List[float]]:
    """Per model, the seconds of ``softmax(model(rotate(x, angle)))`` at batch 1."""
    models = {n: gcnn.pretrained(n) for n in names}
    x = pixels.reshape(1, 1, 28, 28)
    times: Dict[str, List[float]] = {n: [] for n in names}
    times["all"] = []
    with torch.no_grad():
        for k in range(warmup + repeats):
            angle = float((7 * k) % 360)
            total = 0.0
            for n, model in models.items():
                t0 = time.perf_counter()
                torch.softmax(model(rotate(x, angle)), dim=-1)
                dt = time.perf_counter() - t0
                total += dt
                if k >= warmup:
                    times[n].append(dt * 1e3)
            if k >= warmup:
                times["all"].append(total * 1e3)
    return times


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--html", help="a built book (default: stage a small page in a temp dir)")
    p.add_argument("--repeats", type=int, default=50)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = p.parse_args(argv)

    from playwright.sync_api import sync_playwright

    chromium = Path(os.environ.get("GCNN_CHROMIUM", "/usr/bin/chromium"))
    with tempfile.TemporaryDirectory() as tmp:
        if args.html:
            folder, page_path = Path(args.html).resolve(), CHAPTER
        else:
            if not gcnn_live.ort_available():
                sys.exit("onnxruntime-web is not fetched: python scripts/web_assets.py")
            folder, page_path = Path(tmp), "demo.html"
            gcnn_live.stage_live(folder / "_static")
            (folder / page_path).write_text(HARNESS, encoding="utf-8")
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(_Quiet, directory=str(folder)))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        local = f"127.0.0.1:{server.server_address[1]}"
        digits = json.loads((folder / "_static/gcnn-live/digits.json").read_text("utf-8"))
        raw = base64.b64decode(digits["pixels"][0])
        pixels = torch.tensor(list(raw), dtype=torch.float32) / 255

        responses = []
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(chromium), headless=True,
                                         args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page()
            page.route("**/*", lambda r: r.continue_() if local in r.request.url
                       or not r.request.url.startswith("http") else r.abort())
            page.on("response", lambda r: responses.append(r))
            page.goto(f"http://{local}/{page_path}", wait_until="load")
            # start the demo as a reader does (scroll to it) and let it show its first answer
            page.locator("div.gcnn-live").first.scroll_into_view_if_needed()
            page.wait_for_function("() => document.querySelector('.gcnn-live .gl-model')",
                                   timeout=300_000)
            result = page.evaluate(TIME_JS, [pixels.tolist(), args.warmup, args.repeats])
            downloaded = {}
            for r in responses:
                if "/_static/gcnn-live/" in r.url and r.status == 200:
                    size = r.header_value("content-length")
                    name = r.url.split("/_static/gcnn-live/")[1]
                    downloaded[name] = int(size) if size else len(r.body())
            browser.close()
        server.shutdown()

    torch.set_num_threads(args.threads)
    names = result["names"]
    tt = torch_times(names, pixels, args.warmup, args.repeats)

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPU(s), {platform.platform()}")
    print(f"browser: {result['agent']}")
    print(f"onnxruntime-web {gcnn_live.ORT_WEB_VERSION} (wasm, 1 thread); torch "
          f"{torch.__version__} ({args.threads} thread(s)); {args.repeats} calls after "
          f"{args.warmup} untimed, a test digit turned by 0, 7, 14, ... degrees")
    print(f"\none classify, all {len(names)} models ({', '.join(names)}):")
    width = max(len(n) for n in names) + 8
    print(f"  {'browser (gcnnLive.classify)':<{width}}: {_ms(result['times'])}")
    print(f"  {'torch (same work)':<{width}}: {_ms(tt['all'])}")
    for n in names:
        print(f"    {'torch ' + n:<{width - 2}}: {_ms(tt[n])}")
    total = sum(downloaded.values())
    print(f"\ndownloaded for the demo: {total / 1e6:.2f} MB in {len(downloaded)} files")
    for name, size in sorted(downloaded.items(), key=lambda kv: -kv[1]):
        print(f"  {size:>11,d} B  {name}")


if __name__ == "__main__":
    main()
