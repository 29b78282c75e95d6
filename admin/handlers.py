"""What every Admin tab handler shares (Gradio side): the Caller built from what the server received, the one
queue slot of all changes, the result line of an Outcome, and the net that keeps a bug's text off the page.

No handler declares a gr.OAuthToken: Gradio fills one from the request body when the session has none, so it
proves nothing about who calls. The Hub is called with the Space's own HF_TOKEN.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import TypeVar

import gradio as gr

from admin.access import Caller
from admin.desk import Outcome
from redaction import redact_text

log = logging.getLogger("admin.tab")

T = TypeVar("T")

CHANGES = {
    "concurrency_limit": 1,
    "concurrency_id": "admin-changes",
    "trigger_mode": "once",
    "api_visibility": "private",
}
"""Every change of every section shares one queue slot: two clicks (or two owners) never send two at once."""


def caller_of(profile: gr.OAuthProfile | None, request: gr.Request | None) -> Caller:
    """Who calls (the sign-in session's username, never anything the caller sends) and from which page."""
    headers = {str(k).lower(): str(v) for k, v in dict(getattr(request, "headers", None) or {}).items()}
    return Caller(
        username=getattr(profile, "username", None) if profile is not None else None,
        session=getattr(request, "session_hash", None),
        origin=headers.get("origin"),
        referer=headers.get("referer"),
        host=headers.get("host"),
    )


def result_line(outcome: Outcome) -> str:
    return f"{'✅' if outcome.ok else '⚠️'} {outcome.message}"


def close_confirm(row: gr.Row, outcome: Outcome) -> dict:
    """A refused call leaves the session's confirm row alone: the session hash may be someone else's."""
    return {row: gr.Row(visible=False)} if outcome.ok else {}


def safely(action: Callable[[], T], secrets: list[str | None]) -> T | Outcome:
    """The services answer every failure they know; anything else still must not reach the page raw."""
    try:
        return action()
    except Exception as error:  # noqa: BLE001  a bug, not a Hub failure: log it scrubbed, say so plainly
        where = traceback.extract_tb(error.__traceback__)[-1]
        log.error(
            "admin handler failed at %s:%s: %s",
            where.filename,
            where.lineno,
            redact_text(f"{type(error).__name__}: {error}", secrets),
        )
        return Outcome(False, "Internal error in the Admin tab; nothing is known to have been changed. See the logs.")
