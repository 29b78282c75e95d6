"""Secrets never reach any output (JSON, Markdown, CLI, tab, start-up log): values shown by allow-list only,
URL userinfo and credential shapes masked in every text."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest

from diagnostics.render import summary_lines, to_markdown
from diagnostics.report import Report, collect_report
from diagnostics.runner import ROOT
from redaction import REDACTED, environment_report, is_shown, redact_data, redact_text, secret_values
from tests.fixtures.diagnostics import FAKE_TOKEN, RAISES, SEGFAULTS

PLAIN_SECRET = "correct-horse-battery-staple"
"""Not token-shaped: only its variable's name (MY_API_KEY) marks it secret."""
OPENAI_KEY = "sk-proj-" + "Zq7" * 12
DB_PASSWORD = "pg-Passw0rd-in-a-url"
# Values a deny-list of name words let through to signed-out visitors (issue 9, item 4).
LEAKED_BEFORE = {
    "HF_SECRETS": "swordfish-in-hf-secrets",
    "HF_HUB_PASS": "hunter2-hub-pass",
    "SPACE_DB_URL": f"postgres://app:{DB_PASSWORD}@db.internal:5432/app",
    "SPACE_NOTE": f"token is {FAKE_TOKEN}, openai {OPENAI_KEY}",
}


@pytest.fixture
def leaky_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """Secrets set, and stand-ins on PYTHONPATH that echo them into an import error and onto stderr."""
    monkeypatch.setenv("HF_TOKEN", FAKE_TOKEN)
    monkeypatch.setenv("OTHER_SECRET", FAKE_TOKEN)
    monkeypatch.setenv("MY_API_KEY", PLAIN_SECRET)
    for name, value in LEAKED_BEFORE.items():
        monkeypatch.setenv(name, value)
    path = os.pathsep.join(map(str, (RAISES, SEGFAULTS)))
    monkeypatch.setenv("PYTHONPATH", path)
    return path


def _clean(text: str) -> None:
    for secret in (FAKE_TOKEN, PLAIN_SECRET, OPENAI_KEY, DB_PASSWORD, *LEAKED_BEFORE.values()):
        assert secret not in text


@pytest.fixture
def leaky_report(leaky_env: str) -> Report:
    return collect_report(60)


def test_report_json_markdown_and_summary_hold_no_secret(leaky_report: Report):
    text = json.dumps(leaky_report.to_dict())
    _clean(text)
    assert REDACTED in leaky_report.torch.import_error  # the stand-in did try to leak it
    assert leaky_report.host.environment["HF_TOKEN"] == REDACTED
    for name in LEAKED_BEFORE:  # listed by name, value withheld
        assert leaky_report.host.environment[name] == REDACTED
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


def test_tab_json_displays_and_download_hold_no_secret(leaky_env: str, tmp_path):
    """What /diagnostics returns, every display of the page, and the downloadable JSON file."""
    from pathlib import Path

    from diagnostics.cache import LatestReport
    from diagnostics.downloads import ReportFiles
    from diagnostics.tab import ReportViews

    reports = LatestReport(timeout_s=60)
    views = ReportViews(reports, ReportFiles(parent=tmp_path))
    data = views.answer_json(reports.refresh())
    _clean(json.dumps(data))
    *displays, download = views.render(data)
    _clean(json.dumps([str(value) for value in displays]))
    _clean(Path(download.value["path"]).read_text())


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

    from redaction import RedactingFilter

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
    "name",
    [
        "HF_TOKEN",
        "OAUTH_CLIENT_SECRET",
        "AWS_SECRET_ACCESS_KEY",
        "DB_PASSWORD",
        "API_KEY",
        "OPENAI_APIKEY",
        "GITHUB_AUTH",
        "HUGGINGFACEHUB_API_TOKEN",
        "session-cookie",
    ],
)
def test_secret_names_are_recognised(name):
    from redaction import is_secret_name

    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["SPACE_AUTHOR_NAME", "KEYBOARD_LAYOUT", "MONKEY_PATCH", "TOKENIZERS_PARALLELISM"])
def test_ordinary_names_that_merely_contain_a_secret_word_are_not(name):
    from redaction import is_secret_name

    assert not is_secret_name(name)


@pytest.mark.parametrize("name", ["HF_SECRETS", "HF_HUB_PASS", "MY_KEYS", "DATABASE_DSN"])
def test_plural_and_short_secret_words_are_recognised(name):
    from redaction import is_secret_name

    assert is_secret_name(name)


def test_environment_shows_values_only_by_allow_list():
    """GPU settings show their values; everything else under the related prefixes shows by name only."""
    env = {
        "CUDA_VISIBLE_DEVICES": "0",
        "NVIDIA_DRIVER_CAPABILITIES": "compute,utility",
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
        "TF_FORCE_GPU_ALLOW_GROWTH": "true",
        "LD_LIBRARY_PATH": "/usr/local/nvidia/lib64",
        "SPACE_ID": "alice/gpu-self-check",
        "ACCELERATOR": "t4-small",
        "NVIDIA_API_KEY": "nvapi-" + "k" * 40,  # allowed prefix, secret name: still withheld
        "HF_ENDPOINT": f"https://user:{DB_PASSWORD}@hub.example",
        "TF_SOMETHING_NEW": "who knows",
        "OAUTH_CLIENT_ID": "0000-1111",
        "HOME": "/home/user",  # unrelated: not listed at all
        **LEAKED_BEFORE,
    }
    shown = environment_report(env)
    assert shown["CUDA_VISIBLE_DEVICES"] == "0"
    assert shown["NVIDIA_DRIVER_CAPABILITIES"] == "compute,utility"
    assert shown["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"
    assert shown["TF_FORCE_GPU_ALLOW_GROWTH"] == "true"
    assert shown["LD_LIBRARY_PATH"] == "/usr/local/nvidia/lib64"
    assert shown["SPACE_ID"] == "alice/gpu-self-check" and shown["ACCELERATOR"] == "t4-small"
    assert shown["HF_ENDPOINT"] == f"https://{REDACTED}@hub.example"
    for name in ("NVIDIA_API_KEY", "TF_SOMETHING_NEW", "OAUTH_CLIENT_ID", *LEAKED_BEFORE):
        assert shown[name] == REDACTED, name
    assert "HOME" not in shown
    assert list(shown) == sorted(shown)
    assert not is_shown("NVIDIA_API_KEY") and is_shown("CUDA_HOME")


@pytest.mark.parametrize(
    "secret",
    [
        FAKE_TOKEN,
        "hf_oauth_" + "a1B2" * 8,
        OPENAI_KEY,
        "sk-ant-api03-" + "x" * 40,
        "ghp_" + "G" * 36,
        "github_pat_" + "11ABCDEFG0" * 5,
        "AKIAIOSFODNN7EXAMPLE",
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
        "nvapi-" + "n" * 40,
    ],
)
def test_credential_shapes_are_masked_in_any_text(secret):
    text = redact_text(f"The Hub said: 401 for {secret}, retry.")
    assert secret not in text and REDACTED in text and text.startswith("The Hub said: 401 for ")


def test_url_userinfo_and_bearer_values_are_masked():
    text = redact_text(f"connect postgres://app:{DB_PASSWORD}@db:5432/x with Authorization: Bearer abc.def.ghi123")
    assert DB_PASSWORD not in text and "abc.def.ghi123" not in text
    assert f"postgres://{REDACTED}@db:5432/x" in text


def test_ordinary_text_is_left_alone():
    text = "task-classification on cuda:0, disk-usage 3 GiB, https://huggingface.co/spaces/a/b, Basic plan"
    assert redact_text(text) == text


def test_passwords_inside_url_variables_are_scrubbed_wherever_they_appear():
    secrets = secret_values({"SPACE_DB_URL": LEAKED_BEFORE["SPACE_DB_URL"], "HF_SECRETS": "swordfish-in-hf-secrets"})
    text = redact_text(f"auth failed for password {DB_PASSWORD}; secrets swordfish-in-hf-secrets", secrets)
    assert DB_PASSWORD not in text and "swordfish" not in text
