"""The lean JSON routes, on the FastAPI app Gradio serves: POST /inference and POST /v1/embeddings.

HTTP only: reading the body, status codes and error shapes. What a body means and what answers it is
models/inference_api.py; the model runs in the Demo's Batcher through `submit`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Request, Response

from models.inference_api import BAD_INPUT, NOT_JSON, TOO_LARGE, ApiError, BatchItem, BatchResult, Call, InferenceApi

Submit = Callable[[BatchItem], Awaitable[BatchResult]]
ErrorBody = Callable[[ApiError], Any]

INFERENCE_PATH, EMBEDDINGS_PATH = "/inference", "/v1/embeddings"

log = logging.getLogger("app.routes")
# Enough of an exception's text for the owner to recognise it; a caller's megabyte stays out of the log.
LOGGED_MESSAGE_CHARS = 300


def _inference_error(error: ApiError) -> dict[str, Any]:
    # What huggingface_hub reads into HfHubHTTPError's message.
    return {"error": error.message}


def _openai_error(error: ApiError) -> dict[str, Any]:
    kind = "invalid_request_error" if error.status < 500 else "server_error"
    return {"error": {"message": error.message, "type": kind, "param": None, "code": None}}


def _json(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(content), status_code=status, headers=headers, media_type="application/json")


async def _read_json(request: Request, max_bytes: int) -> Any:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json":
        raise ApiError(NOT_JSON, "Send the body as JSON, with Content-Type: application/json.")
    too_large = ApiError(TOO_LARGE, f"The body is larger than {max_bytes:,} bytes.")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    # Chunked bodies declare no length: count while reading and stop at the limit.
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > max_bytes:
            raise too_large
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise ApiError(BAD_INPUT, "The body is not valid JSON.") from None


def refusal_body(path: str, status: int, message: str) -> dict[str, Any]:
    """A body refused before it reaches a route (http_guard.py), told in the error format of that route."""
    error = ApiError(status, message)
    return _openai_error(error) if path == EMBEDDINGS_PATH else _inference_error(error)


def body_limits(api: InferenceApi) -> dict[str, int]:
    """The most bytes each lean route this app serves takes in a body."""
    served = {INFERENCE_PATH: api.serves_inference, EMBEDDINGS_PATH: api.serves_embeddings}
    return {path: api.max_body_bytes for path, serves in served.items() if serves}


def inference_routes(api: InferenceApi, submit: Submit) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A lifespan for `demo.launch(app_kwargs={"lifespan": ...})`: it adds the routes to the FastAPI app
    that launch() builds, at start-up, so they answer from the first request on."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        add_inference_routes(app, api, submit)
        yield

    return lifespan


def add_inference_routes(app: FastAPI, api: InferenceApi, submit: Submit) -> None:
    """Add the routes the served task has to `app`."""

    async def serve(request: Request, parse: Callable[[Any], Call], error_body: ErrorBody) -> Response:
        try:
            call = parse(await _read_json(request, api.max_body_bytes))
            with api.gate.enter():
                try:
                    result = await submit(call.item)
                except Exception as error:  # noqa: BLE001 - the owner reads it in the log; the caller gets no trace
                    log.error(
                        "%s failed: %s: %s", request.url.path, type(error).__name__, str(error)[:LOGGED_MESSAGE_CHARS]
                    )
                    raise ApiError(500, "The model failed on this input.") from None
            return _json(call.answer(result))
        except ApiError as error:
            headers = {"Retry-After": str(error.retry_after_s)} if error.retry_after_s else None
            return _json(error_body(error), error.status, headers)

    if api.serves_inference:

        @app.post(INFERENCE_PATH, include_in_schema=False)
        async def inference(request: Request) -> Response:
            return await serve(request, api.inference, _inference_error)

    if api.serves_embeddings:

        @app.post(EMBEDDINGS_PATH, include_in_schema=False)
        async def embeddings(request: Request) -> Response:
            return await serve(request, api.embeddings, _openai_error)
