"""gr.Blocks whose every event answers its caller in words, whatever goes wrong.

Gradio 6.31 answers an exception that is not a `gr.Error` with `{"error": null}` and prints its
traceback, and it checks a call's values only for being too few ("didn't receive enough input
values", the same `null` to the caller) while silently dropping extra ones. Here every event of
the app, whichever tab and route (`/call/<name>`, `/queue/join`, the MCP server) it is reached by:
- refuses a call with the wrong number of values, naming the parameters it takes;
- turns an unexpected exception into a `gr.Error` that names the endpoint and the kind of failure
  (never the exception's text, which may hold paths or a visitor's input), and logs it once, in
  one line; a traceback only the first time a kind of failure is seen at a place in the code.

Gradio's keyword route, `POST /gradio_api/call/v2/<name>` with `{"<parameter>": value, ...}`, checks the
name and the keywords before any event runs, by raising KeyError and TypeError out of the route: a bare
500 and a traceback each time. `CALL_V2_ERRORS` (FastAPI exception handlers for launch's `app_kwargs`)
answers those 404 and 422 with Gradio's own message instead, and logs one line.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

import gradio as gr
from fastapi import Request
from fastapi.responses import JSONResponse
from gradio.block_function import BlockFunction
from gradio.utils import get_function_params
from starlette.middleware import Middleware

from http_guard import BodyGuard, GuardLimits, Refusal
from settings import Settings

log = logging.getLogger("app.errors")

# Enough of an exception's text for the owner to recognise it; a visitor's megabyte stays out of the log.
LOGGED_MESSAGE_CHARS = 300


def parameter_names(block_fn: BlockFunction) -> list[str]:
    """The names an API caller gives the event's values, as /gradio_api/info documents them."""
    from_signature = [name for name, *_ in get_function_params(block_fn.fn)] if block_fn.fn else []
    names = []
    for index, block in enumerate(block_fn.inputs):
        if block.skip_api:
            continue
        given = block_fn.input_parameter_names[index] if index < len(block_fn.input_parameter_names) else None
        inferred = from_signature[index] if index < len(from_signature) else None
        names.append(given or inferred or getattr(block, "label", None) or f"param_{index}")
    return names


def endpoint_name(block_fn: BlockFunction) -> str:
    return f"/{block_fn.api_name}" if block_fn.api_name else f"event {block_fn._id}"


def failure_site(error: BaseException) -> str:
    """Where `error` was raised, as `file.py:123 in function`."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "unknown place"
    frame = frames[-1]
    return f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"


class GuardedBlocks(gr.Blocks):
    """gr.Blocks whose events refuse a wrong number of values by name and never answer `error: null`."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        # (exception type, failure site) already logged with a traceback; finite, as places in code are.
        self._failures_logged: set[tuple[str, str]] = set()

    def validate_inputs(self, block_fn: BlockFunction, inputs: list[Any]) -> None:
        if len(inputs) == len(block_fn.inputs):
            return
        names = parameter_names(block_fn)
        raise gr.Error(
            f"{endpoint_name(block_fn)} takes {len(names)} value(s), in this order: {', '.join(names)}; "
            f"{len(inputs)} sent.",
            title="Wrong number of inputs",
            print_exception=False,
        )

    async def process_api(self, block_fn: BlockFunction | int, *args: Any, **kwargs: Any) -> dict[str, Any]:
        if isinstance(block_fn, int):
            block_fn = self.fns[block_fn]
        try:
            return await super().process_api(block_fn, *args, **kwargs)
        except gr.Error:
            raise
        except Exception as error:  # noqa: BLE001 - any bug becomes one worded gr.Error and one log line
            raise self._told(block_fn, error) from None

    def _told(self, block_fn: BlockFunction, error: Exception) -> gr.Error:
        endpoint, site = endpoint_name(block_fn), failure_site(error)
        kind = type(error).__name__
        first = (kind, site) not in self._failures_logged
        self._failures_logged.add((kind, site))
        log.error(
            "%s failed: %s at %s: %s",
            endpoint,
            kind,
            site,
            str(error)[:LOGGED_MESSAGE_CHARS],
            exc_info=error if first else None,
        )
        return gr.Error(
            f"{endpoint} could not be completed ({kind}). Try again or with other input; "
            "if it keeps failing, tell the Space owner, who finds the details in the logs.",
            title="Something went wrong",
            print_exception=False,
        )


CALL_V2_ROUTE = "/call/v2/"


async def _call_v2_refused(request: Request, error: Exception) -> JSONResponse:
    path = request.url.path
    if CALL_V2_ROUTE not in path:
        raise error  # not this route's: Gradio's usual handling
    name = path.split(CALL_V2_ROUTE, 1)[1].strip("/")
    if isinstance(error, KeyError):
        status, message = 404, f"There is no endpoint /{name}: GET /gradio_api/info lists them."
    else:  # gradio_client.utils.construct_args: a keyword the endpoint does not take, or one missing
        status, message = 422, str(error)[:LOGGED_MESSAGE_CHARS]
    log.warning("POST %s refused (%d): %s", path[:LOGGED_MESSAGE_CHARS], status, message)
    return JSONResponse({"error": message}, status_code=status)


CALL_V2_ERRORS = {KeyError: _call_v2_refused, TypeError: _call_v2_refused}
"""Exception handlers for `launch(app_kwargs={"exception_handlers": ...})`."""


UPLOAD_PATH = "/gradio_api/upload"
UPLOAD_FORM_BYTES = 65_536
"""Room for a multipart form's own headers and boundaries around an uploaded file."""


def body_guard(settings: Settings, lean_route_bytes: dict[str, int], refusal: Refusal) -> Middleware:
    """http_guard.py's BodyGuard as `launch(app_kwargs={"middleware": [...]})` takes it: MAX_REQUEST_BYTES for
    Gradio's routes, the lean routes' own byte limits, and uploads bounded by MAX_FILE_SIZE instead (none at all
    by default: the app has no file input)."""
    limits = GuardLimits(
        settings.max_request_bytes,
        settings.body_timeout_s,
        settings.max_bodies_per_client,
        settings.max_json_depth,
        settings.max_json_containers,
    )
    upload_bytes = settings.max_file_size + UPLOAD_FORM_BYTES if settings.max_file_size else 0
    route_max_bytes = {**lean_route_bytes, UPLOAD_PATH: upload_bytes}
    return Middleware(BodyGuard, limits=limits, route_max_bytes=route_max_bytes, refusal=refusal)
