"""A newcomer without Chromium gets the browser tests skipped with how to install it; CI, which must run them, fails."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.apptools import REPO

pytestmark = pytest.mark.slow

BROWSER_TESTS = ["tests/test_browser_demo.py", "tests/test_browser_diagnostics.py", "tests/test_browser_admin.py"]


def run_pytest(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", *BROWSER_TESTS],
        cwd=REPO,
        env={**os.environ, "CHROMIUM": "/nonexistent/chromium", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_without_chromium_the_browser_tests_are_skipped_with_how_to_install_it():
    result = run_pytest({"REQUIRE_BROWSER": ""})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "9 skipped" in result.stdout and "error" not in result.stdout.lower()
    assert "apt-get install chromium" in result.stdout


def test_where_the_browser_tests_must_run_a_missing_chromium_fails_the_run():
    result = run_pytest({"REQUIRE_BROWSER": "1"})
    assert result.returncode != 0
    assert "REQUIRE_BROWSER=1: 9 browser tests cannot run" in result.stdout + result.stderr
