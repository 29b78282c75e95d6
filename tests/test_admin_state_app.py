"""STATE_DIR and replicas in the real app, run as on Spaces (see test_admin_hardening.py for the minted
owner cookie and the Origin of the Space's own page); the Hub is the stand-in.

The restart test is what a hardware switch does to a Space: the app that sent the switch is killed, a new
one starts on the new hardware with the same bucket mounted, and its start-up diagnostics must appear next
to the switch. The probes see a TensorFlow that segfaults on import, so the diagnostics have a verdict to show.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from admin.state_store import ACTIVITY_FILE
from tests.admin_app import AdminApp, output_text, session_cookie, spaces_app
from tests.fixtures.diagnostics import SEGFAULTS
from tests.hub_standin import HubStandIn, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def hub() -> Iterator[HubStandIn]:
    with HubStandIn(user="alice", space_id="alice/self-check", settle_after_polls=0) as standin:
        yield standin


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bucket")


def start_app(hub: HubStandIn, state_dir: Path, log: Path, **extra: str) -> AdminApp:
    return spaces_app(
        hub,
        log,
        STATE_DIR=str(state_dir),
        DIAGNOSTICS_AT_STARTUP="true",
        PYTHONPATH=os.pathsep.join(filter(None, [str(SEGFAULTS), os.environ.get("PYTHONPATH")])),
        **extra,
    )


@pytest.fixture(scope="module")
def app(hub: HubStandIn, state_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AdminApp]:
    server = start_app(hub, state_dir, tmp_path_factory.mktemp("state-app") / "first.log", ACCELERATOR="cpu-basic")
    yield server
    server.close()


@pytest.fixture(autouse=True)
def fresh_hub(hub: HubStandIn) -> None:
    hub.clear_failures()
    hub.clear_requests()


def stored(state_dir: Path) -> list[dict]:
    path = state_dir / ACTIVITY_FILE
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def activity_rows(app: AdminApp) -> list[list[str]]:
    [loaded], _ = app.call(app.dependency("on_load"))
    table = loaded["output"]["data"][-1]
    return table["data"] if isinstance(table, dict) else table


def test_the_tab_says_where_the_activity_is_kept(app: AdminApp, state_dir: Path) -> None:
    config = httpx.get(f"{app.url}/config", timeout=10).text
    assert f"Kept in {state_dir / ACTIVITY_FILE}: survives restarts" in config


def test_owner_sets_replicas_after_confirming(app: AdminApp, hub: HubStandIn) -> None:
    """On paid hardware: the owner asks for 3, confirms, and the Hub receives {"replicas": 3}."""
    hub.set_runtime(current="a10g-small", requested="a10g-small", replicas_requested=1, replicas_current=1)
    cookie, session = session_cookie("alice"), "replica-session"
    [chosen], _ = app.call(app.dependency("on_replicas_choose"), cookie=cookie, session=session, data=[3])
    assert "Confirm: run 3 replicas of a10g-small" in output_text(chosen)
    assert "$3.00/hour" in output_text(chosen)
    assert hub.changes() == []
    [confirmed], _ = app.call(app.dependency("on_replicas_confirm"), cookie=cookie, session=session, data=[])
    result = confirmed["output"]["data"][1]
    assert result.startswith("✅ Asked for 3 replicas"), result
    assert [r.body for r in hub.changes()] == [{"replicas": 3}]
    assert hub.runtime()["replicas"]["requested"] == 3
    hub.set_runtime(replicas_requested=1, replicas_current=1)


@pytest.mark.parametrize("who", ["mallory", None])
def test_anyone_else_cannot_set_replicas(app: AdminApp, hub: HubStandIn, who: str | None) -> None:
    hub.set_runtime(current="a10g-small", requested="a10g-small")
    cookie = session_cookie(who) if who else None
    for name, data in (("on_replicas_choose", [1]), ("on_replicas_choose", [5]), ("on_replicas_confirm", [])):
        [message], _ = app.call(app.dependency(name), cookie=cookie, data=data)
        assert "Refused: " in output_text(message), output_text(message)
    assert hub.changes() == []


def test_the_owners_cookie_from_another_site_sets_no_replicas(app: AdminApp, hub: HubStandIn) -> None:
    hub.set_runtime(current="a10g-small", requested="a10g-small")
    [message], _ = app.call(
        app.dependency("on_replicas_choose"), cookie=session_cookie("alice"), origin="https://evil.example", data=[1]
    )
    assert "Refused: " in output_text(message)
    assert hub.changes() == []


def test_a_hardware_switch_survives_the_restart_with_the_new_diagnostics_attached(
    app: AdminApp, hub: HubStandIn, state_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Switch as the owner, kill the app, start it again on the new hardware with the same STATE_DIR:
    the switch is still listed, followed by "→ back at ... on a10g-small: ..." with the new diagnostics."""
    hub.set_runtime(current="cpu-basic", requested="cpu-basic")
    assert wait_for(lambda: any(r["kind"] == "startup" for r in stored(state_dir)), timeout_s=180), app.log()
    cookie, session = session_cookie("alice"), "switch-session"
    app.call(app.dependency("on_load"), cookie=cookie, session=session)
    choose = app.dependency("on_choose")
    rest = app.inputs_for(choose)[2:]
    app.call(choose, cookie=cookie, session=session, data=["a10g-small", "1 h", *rest])
    [confirmed], _ = app.call(app.dependency("on_confirm"), cookie=cookie, session=session)
    assert confirmed["output"]["data"][1].startswith("✅ Requested a10g-small"), output_text(confirmed)

    app._process.process.kill()  # no shutdown of any kind: what was written before is all there is
    app._process.process.wait(30)
    app.close()
    second = start_app(hub, state_dir, tmp_path_factory.mktemp("state-app") / "second.log", ACCELERATOR="a10g-small")
    try:

        def switch_row() -> list[str] | None:
            rows = [row for row in activity_rows(second) if row[2] == "request hardware a10g-small (sleep: 1 h)"]
            return rows[0] if rows and "→ back at" in rows[0][3] else None

        assert wait_for(lambda: switch_row() is not None, timeout_s=180, interval_s=1.0), second.log()
        when, who, what, result = switch_row()
        assert who == "alice"
        assert result.startswith("Requested a10g-small.")
        back = result.split("→ back at", 1)[1]
        assert " on a10g-small: " in back
        assert "torch " in back and "TF FAIL (" in back, back
        # The first start (on cpu-basic, before the switch) stays a row of its own.
        starts = [row for row in activity_rows(second) if row[2] == "start on cpu-basic"]
        assert len(starts) == 1 and "TF FAIL" in starts[0][3]
        assert hub.token not in (state_dir / ACTIVITY_FILE).read_text()
    finally:
        second.close()


def test_a_damaged_private_bucket_file_neither_breaks_the_tab_nor_loses_the_next_record(
    hub: HubStandIn, tmp_path: Path
) -> None:
    """The bucket file as another program or a crash leaves it: private (0600), past its size limit, one
    record whose time has no zone, a torn last line. The tab loads and lists that record; the app's
    start-up record starts a line of its own; compaction keeps the file private."""
    path = tmp_path / ACTIVITY_FILE
    naive = {"kind": "change", "when": "2026-12-01T10:00:00", "who": "bob", "action": "restart the Space",
             "result": "Restarted.", "ok": True, "restarts": True}  # compared with the start-up that follows
    path.write_text(("x" * 999 + "\n") * 600 + json.dumps(naive) + "\n" + '{"kind": "chan')
    path.chmod(0o600)
    app = spaces_app(hub, tmp_path / "app.log", STATE_DIR=str(tmp_path), DIAGNOSTICS_AT_STARTUP="false")
    try:
        rows = activity_rows(app)
        assert ["2026-12-01 10:00:00 UTC", "bob", "restart the Space", "Restarted."] in rows, (rows, app.log())
        assert any(row[2] == "start on cpu" for row in rows), rows
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.stat().st_size < 512 * 1024, "compacted"
        assert "Traceback" not in app.log()
    finally:
        app.close()


def test_a_symlink_planted_in_place_of_the_bucket_file_is_never_followed(hub: HubStandIn, tmp_path: Path) -> None:
    """Someone with write access to the bucket links its file to another file: the app refuses it, says so
    in the tab, writes nothing there, and keeps its activity in memory."""
    bucket, target = tmp_path / "bucket", tmp_path / "target.txt"
    bucket.mkdir()
    target.write_text("not the app's\n")
    (bucket / ACTIVITY_FILE).symlink_to(target)
    app = spaces_app(hub, tmp_path / "app.log", STATE_DIR=str(bucket), DIAGNOSTICS_AT_STARTUP="false")
    try:
        config = httpx.get(f"{app.url}/config", timeout=10).text
        assert f"{bucket / ACTIVITY_FILE} is not a regular file" in config and "memory only" in config
        [message], _ = app.call(app.dependency("on_replicas_choose"), data=[3])
        assert "Refused: " in output_text(message)
        rows = activity_rows(app)
        assert any(row[2] == "start on cpu" for row in rows) and rows[0][1].startswith("refused callers"), rows
        assert target.read_text() == "not the app's\n"
    finally:
        app.close()
