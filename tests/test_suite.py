"""The test suite itself: property tests stay randomised, with a seed that can be repeated."""

from __future__ import annotations

import re
from pathlib import Path

from hypothesis import core, settings

TESTS = Path(__file__).resolve().parent


def test_property_tests_are_randomised_with_a_printed_seed():
    assert settings.default.derandomize is False and settings.default.print_blob is True
    assert settings.get_current_profile_name() == "gcnn"
    # tests/conftest.py draws a seed for each run (or takes --hypothesis-seed) and prints it
    assert core.global_force_seed is not None
    for path in sorted(TESTS.glob("*.py")):
        text = path.read_text(encoding="utf8")
        assert not re.search(r"derandomize\s*=\s*True", text), f"{path.name} derandomises"
