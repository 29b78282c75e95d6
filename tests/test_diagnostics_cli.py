"""`python -m diagnostics`: Markdown or JSON on stdout, exit code 0 OK / 1 WARN / 2 FAIL."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import diagnostics.__main__ as cli
from diagnostics.runner import ROOT
from tests.fixtures.diagnostics import HANGS, RAISES, SEGFAULTS, recorded_report


@pytest.mark.parametrize(("fixture", "code"), [("a10g_all_ok", 0), ("cpu_basic_space", 1), ("driver_too_old", 2)])
def test_exit_code_follows_the_overall_status(monkeypatch, capsys, fixture, code):
    monkeypatch.setattr(cli, "collect_report", lambda timeout, smoke: recorded_report(fixture))
    assert cli.main(["--json"]) == code
    assert json.loads(capsys.readouterr().out)["overall"] == ["OK", "WARN", "FAIL"][code]


def test_markdown_is_the_default_output(monkeypatch, capsys):
    monkeypatch.setattr(cli, "collect_report", lambda timeout, smoke: recorded_report("mixed_cu12_cu13"))
    assert cli.main([]) == 2
    out = capsys.readouterr().out
    assert out.startswith("# GPU diagnostics") and "| CUDA wheels | ❌ FAIL | CUDA 12 and 13 wheels mixed" in out


def _cli(*args: str, pythonpath: str = "") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": pythonpath}
    return subprocess.run(
        [sys.executable, "-m", "diagnostics", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_broken_frameworks_exit_2_within_the_timeout_given():
    out = _cli("--json", "--timeout", "4", pythonpath=os.pathsep.join(map(str, (RAISES, HANGS, SEGFAULTS))))
    assert out.returncode == 2, out.stderr
    report = json.loads(out.stdout)
    assert report["probes"]["jax"]["outcome"] == "timeout" and report["probes"]["jax"]["seconds"] < 7
    assert {v["component"]: v["status"] for v in report["verdicts"]}["tensorflow"] == "FAIL"


@pytest.mark.slow
def test_cpu_machine_exits_1_with_a_verdict_per_framework():
    out = _cli("--json")
    assert out.returncode == 1, out.stderr
    verdicts = {v["component"]: v["status"] for v in json.loads(out.stdout)["verdicts"]}
    assert verdicts == {"gpu": "WARN", "wheels": "OK", "torch": "WARN", "jax": "WARN", "tensorflow": "WARN"}
