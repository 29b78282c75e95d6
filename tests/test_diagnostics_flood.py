"""Diagnostics under a signed-out flood, against the app started as a process, by plain HTTP.

The jax probe is a stand-in whose import hangs, so every run lasts DIAGNOSTICS_TIMEOUT: a flood
always arrives while a run is under way."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from pathlib import Path

import aiohttp
import httpx
import pytest

from benchmarks.flood import runs_started
from benchmarks.loadgen import call_api, run_load
from tests.apptools import AppProcess
from tests.fixtures.diagnostics import HANGS

pytestmark = pytest.mark.slow

QUEUE_MAX_SIZE = 24


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> AppProcess:
    root = tmp_path_factory.mktemp("flood")
    (root / "tmp").mkdir()
    (root / "gradio").mkdir()
    env = {
        "PYTHONPATH": str(HANGS),
        "DIAGNOSTICS_TIMEOUT": "8",
        "DIAGNOSTICS_AT_STARTUP": "false",
        "DIAGNOSTICS_MIN_INTERVAL": "3600",
        "DIAGNOSTICS_MAX_WAITING": "4",
        "QUEUE_MAX_SIZE": str(QUEUE_MAX_SIZE),
        "TMPDIR": str(root / "tmp"),
        "GRADIO_TEMP_DIR": str(root / "gradio"),
    }
    with AppProcess(env, root / "app.log") as app:
        app.root = root
        yield app


async def flood(url: str, calls: int, seconds: float) -> tuple[Counter, list[str], object]:
    """`calls` diagnostics calls over `seconds`, none waiting for another (one in four a smoke test),
    while four Demo visitors keep calling."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one(index: int) -> tuple[str, str]:
            await asyncio.sleep(index * seconds / calls)
            return await call_api(session, url, "diagnostics_smoke" if index % 4 == 3 else "diagnostics", [])

        diagnostics = asyncio.gather(*(one(i) for i in range(calls)))
        answers, demo = await asyncio.wait_for(asyncio.gather(diagnostics, run_load(url, 4, 15)), timeout=120)
    outcomes = Counter(outcome for outcome, _ in answers)
    run_ids = [json.loads(detail)[0]["run"]["id"] for outcome, detail in answers if outcome == "complete"]
    errors = [detail for outcome, detail in answers if outcome != "complete"]
    return outcomes, errors, (run_ids, demo)


def test_a_flood_of_diagnostics_calls_starts_one_run_and_the_demo_keeps_being_served(app):
    calls = 3 * QUEUE_MAX_SIZE  # before the fix, they pile up in the queue the Demo shares
    outcomes, errors, (run_ids, demo) = asyncio.run(flood(app.url, calls, seconds=6))
    assert runs_started(app.log()) == 1
    assert outcomes["queue_full"] == 0 and sum(outcomes.values()) == calls
    assert set(run_ids) == {1} and len(run_ids) >= 1
    # Everyone else was answered at once with the reason, not left waiting in the queue.
    assert all("busy" in e or "under way" in e for e in errors), errors[:3]
    assert demo.served > 0 and demo.failures == 0 and demo.queue_full == 0, demo.failure_samples
    # Later callers share run 1 until the interval has passed.
    later = httpx.post(f"{app.url}/gradio_api/call/diagnostics", json={"data": []}).json()["event_id"]
    stream = httpx.get(f"{app.url}/gradio_api/call/diagnostics/{later}", timeout=60).text
    report = json.loads(stream.split("data:", 1)[1].strip())[0]
    assert report["run"]["id"] == 1 and "at most once every 3600 s" in report["run"]["note"]
    assert runs_started(app.log()) == 1


def render_dependency(url: str) -> int:
    """The private event that fills the page from a report (its outputs include the download button)."""
    config = httpx.get(f"{url}/config").json()
    components = config["components"]
    download = next(c["id"] for c in components if c.get("props", {}).get("elem_id") == "diagnostics-download")
    return next(d["id"] for d in config["dependencies"] if download in d["outputs"])


def call_by_index(url: str, fn_index: int, data: list) -> dict:
    session_hash = uuid.uuid4().hex
    body = {"data": data, "fn_index": fn_index, "session_hash": session_hash, "event_data": None, "trigger_id": None}
    joined = httpx.post(f"{url}/gradio_api/queue/join", json=body, timeout=60)
    assert joined.status_code == 200, joined.text
    with httpx.stream("GET", f"{url}/gradio_api/queue/data", params={"session_hash": session_hash}, timeout=60) as s:
        for line in s.iter_lines():
            if line.startswith("data:"):
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    return message
    raise AssertionError("no result")


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def test_render_by_plain_http_shows_the_servers_report_and_writes_no_file_of_the_callers(app):
    own = httpx.post(f"{app.url}/gradio_api/call/diagnostics", json={"data": []}).json()["event_id"]
    stream = httpx.get(f"{app.url}/gradio_api/call/diagnostics/{own}", timeout=60).text
    created_at = json.loads(stream.split("data:", 1)[1].strip())[0]["created_at"]
    fn_index = render_dependency(app.url)
    call_by_index(app.url, fn_index, [{"run": {"id": 1}}])  # the page's own call: one file for report 1
    before = files_under(app.root / "tmp") + files_under(app.root / "gradio")
    forged = {
        "created_at": "../../../evil:\u0000<b>x</b>",
        "duration_s": "NaN",
        "smoke": True,
        "probes": {"torch": {"name": "torch", "outcome": "ok"}},
        "run": {"id": 999},
        # Just under MAX_REQUEST_BYTES (2 MiB): bigger bodies never reach the app (tests/test_http_guard.py).
        "padding": "x" * (2**21 - 2**16),
    }
    for data in (forged, {"run": {"id": "1; rm -rf /"}}, "not json", None):
        message = call_by_index(app.url, fn_index, [data])
        assert message["success"], message
        headline = message["output"]["data"][0]
        assert created_at in headline and "evil" not in headline
    assert files_under(app.root / "tmp") + files_under(app.root / "gradio") == before
    assert len([p for p in before if p.suffix == ".json"]) == 2  # our file, and Gradio's copy of it
    assert "Traceback" not in app.log()
