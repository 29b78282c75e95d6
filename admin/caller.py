"""The Caller of a Gradio event, built from what the server received: sign-in session and request headers."""

from __future__ import annotations

import gradio as gr

from admin.access import Caller


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
