"""What the browser tests share: Debian's Chromium, skipping (or failing under CI), a local server.

``tests/test_browser.py`` (the built book) and ``tests/test_live.py`` (the live demo) both drive
Chromium through Playwright against pages served on a loopback port; the ``browser`` fixture
itself is in ``conftest.py``.
"""

from __future__ import annotations

import functools
import http.server
import os
import threading
from pathlib import Path
from typing import Iterator

import pytest

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


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    """Skip, or fail under CI, where the browser tests may not be skipped."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so the browser tests may not be skipped)")
    pytest.skip(reason)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the signature of the base class
        pass


def serve(folder: Path) -> Iterator[str]:
    """Serve ``folder`` on a free loopback port; yields ``http://127.0.0.1:<port>/``."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
