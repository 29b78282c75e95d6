"""A token in the environment never reaches any output: JSON, Markdown, CLI, tab, start-up log."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from diagnostics.redaction import REDACTED, redact_data
from diagnostics.render import summary_lines, to_markdown
from diagnostics.report import Report, collect_report
from diagnostics.runner import ROOT
from tests.fixtures.diagnostics import FAKE_TOKEN, RAISES, SEGFAULTS

PLAIN_SECRET = "correct-horse-battery-staple"
"""Not token-shaped: only its variable's name (MY_API_KEY) marks it secret."""


@pytest.fixture
def leaky_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """Secrets set, and stand-ins on PYTHONPATH that echo them into an import error and onto stderr."""
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    monkeypatch.setenv("OTHER_SECRET", FAKE_TOKEN)
    monkeypatch.setenv("MY_API_KEY", PLAIN_SECRET)
    monkeypatch.setenv("SPACE_NOTE", f"token is {FAKE_TOKEN}")
    path = os.pathsep.join(map(str, (RAISES, SEGFAULTS)))
    monkeypatch.setenv("PYTHONPATH", path)
    return path


def _clean(text: str) -> None:
    assert FAKE_TOKEN not in text and PLAIN_SECRET not in text


@pytest.fixture
def leaky_report(leaky_env: str) -> Report:
    return collect_report(60)


def test_report_json_markdown_and_summary_hold_no_secret(leaky_report: Report):
    text = json.dumps(leaky_report.to_dict())
    _clean(text)
    assert REDACTED in leaky_report.torch.import_error  # the stand-in did try to leak it
    assert leaky_report.host.environment["HF_TOKEN"] == REDACTED
    _clean(to_markdown(leaky_report))
    _clean("\n".join(summary_lines(leaky_report)))


def test_cli_output_holds_no_secret(leaky_env: str):
    out = subprocess.run(
        [sys.executable, "-m", "diagnostics", "--json", "--timeout", "60"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2
    _clean(out.stdout + out.stderr)
    markdown = subprocess.run(
        [sys.executable, "-m", "diagnostics"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    _clean(markdown.stdout + markdown.stderr)
    assert REDACTED in markdown.stdout


def test_tab_handlers_hold_no_secret(leaky_env: str):
    from diagnostics.cache import LatestReport
    from diagnostics.tab import render, run_diagnostics

    data = run_diagnostics(LatestReport(timeout_s=60))
    _clean(json.dumps(data))
    _clean(json.dumps([str(value) for value in render(data)]))


def test_startup_log_holds_no_secret(leaky_env: str, caplog: pytest.LogCaptureFixture):
    from diagnostics.cache import LatestReport
    from diagnostics.startup import start_background_summary

    with caplog.at_level(logging.INFO, logger="diagnostics"):
        start_background_summary(LatestReport(timeout_s=60)).join(120)
    _clean(caplog.text)
    assert "torch" in caplog.text


def test_redact_data_walks_nested_json():
    data = {"a": [f"x {FAKE_TOKEN}", {"b": PLAIN_SECRET}], "n": 1}
    assert redact_data(data, [PLAIN_SECRET]) == {"a": [f"x {REDACTED}", {"b": REDACTED}], "n": 1}


def test_log_records_are_scrubbed_message_arguments_and_traceback(caplog):
    import logging

    from diagnostics.redaction import RedactingFilter

    token = "hf_" + "Q" * 34
    logger = logging.getLogger("test.redaction")
    caplog.handler.addFilter(RedactingFilter([token]))
    with caplog.at_level(logging.INFO, logger="test.redaction"):
        logger.info("calling the Hub with %s", token)
        try:
            raise RuntimeError(f"401 for token {token}")
        except RuntimeError:
            logger.exception("failed")
    assert token not in caplog.text
    assert caplog.text.count("[redacted]") >= 2


@pytest.mark.parametrize(
    "name", ["HF_TOKEN", "OAUTH_CLIENT_SECRET", "AWS_SECRET_ACCESS_KEY", "DB_PASSWORD", "API_KEY", "OPENAI_APIKEY",
             "GITHUB_AUTH", "HUGGINGFACEHUB_API_TOKEN", "session-cookie"],
)
def test_secret_names_are_recognised(name):
    from diagnostics.redaction import is_secret_name

    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["SPACE_AUTHOR_NAME", "KEYBOARD_LAYOUT", "MONKEY_PATCH", "TOKENIZERS_PARALLELISM"])
def test_ordinary_names_that_merely_contain_a_secret_word_are_not(name):
    from diagnostics.redaction import is_secret_name

    assert not is_secret_name(name)
