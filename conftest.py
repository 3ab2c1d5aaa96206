"""Loaded by pytest before the unit tests and the notebooks (nbval) of ``book/``.

Notebooks run with ``book/`` as their working directory, so a relative ``$GCNN_DATA`` such as
``../shared/data`` would point somewhere else inside them. Make it absolute here, relative to
the directory pytest was started in, before any notebook kernel inherits the environment.
"""

import os
from pathlib import Path


def pytest_configure(config):
    root = os.environ.get("GCNN_DATA")
    if root and not Path(root).expanduser().is_absolute():
        os.environ["GCNN_DATA"] = str(Path(root).expanduser().resolve())
