"""The Hub plumbing every Admin feature shares: huggingface_hub calls bounded by a timeout, every failure
turned into an AdminError whose message says what to do, and the token's permission in one sentence.

Everything the Hub says is scrubbed of the token before it reaches a message: some errors echo
request headers, and the messages end up on the page and in the logs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from enum import Enum
from typing import Any, Self, TypeVar

import httpx2
from huggingface_hub import HfApi
from huggingface_hub.errors import HfHubHTTPError, OfflineModeIsEnabled
from huggingface_hub.utils import parse_ratelimit_headers

from redaction import redact_text
from settings import Settings

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 20.0

TOKEN_PERMISSION = (
    "a fine-grained token (https://huggingface.co/settings/tokens) with the permission “Write access to "
    "contents/settings of selected repos” for this Space, and “Inference Endpoints: write” for the endpoint's "
    "namespace when INFERENCE_ENDPOINT is set; or a classic “write” token"
)
SECRETS_PLACE = "the Space's Settings → Variables and secrets"


class ErrorKind(str, Enum):
    NOT_CONFIGURED = "not_configured"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    BAD_REQUEST = "bad_request"
    RATE_LIMITED = "rate_limited"
    SERVER_ERROR = "server_error"
    TIMEOUT = "timeout"
    UNREACHABLE = "unreachable"
    OFFLINE = "offline"
    UNEXPECTED = "unexpected"


class AdminError(Exception):
    """A failure the owner can act on; `message` is safe to show and to log."""

    def __init__(self, kind: ErrorKind, message: str, status: int | None = None, retry_after_s: float | None = None):
        message = redact_text(message)  # whatever the Hub or the network said: no credential shape survives
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.status = status
        self.retry_after_s = retry_after_s
        """How long the Hub asked us to wait (Retry-After, or the rate limit's reset), when it said."""


def configuration_problems(settings: Settings) -> list[str]:
    """What is missing for the Admin tab to reach the Hub about this Space, each as an instruction naming variable
    and place."""
    problems = []
    if not settings.space_id:
        problems.append(
            "No Space to manage: SPACE_ID is set automatically on Hugging Face Spaces. When running "
            "elsewhere, set ADMIN_SPACE_ID=owner/space-name in the environment."
        )
    if not settings.hf_token:
        problems.append(
            f"No token: add a secret named HF_TOKEN in {SECRETS_PLACE}, holding {TOKEN_PERMISSION}. "
            "The Space restarts with it. When running elsewhere, set HF_TOKEN in the environment."
        )
    return problems


class HubClient:
    """HfApi with one token, for the calls of one feature: each bounded by `timeout_s`, failures as AdminError.

    huggingface_hub's shared HTTP session has no timeout and most of its calls take none, so each
    call runs in a worker thread that is abandoned (not killed) after `timeout_s`: the caller
    gets a clear answer, and the message says the request may still land.
    """

    def __init__(self, target: str, token: str, *, endpoint: str | None = None, timeout_s: float = DEFAULT_TIMEOUT_S):
        self._target = target
        """What the calls act on, named in messages, e.g. "alice/gpu-self-check"."""
        self._token = token
        self._api = HfApi(endpoint=endpoint, token=token)
        self._timeout_s = timeout_s

    @classmethod
    def for_space(cls, settings: Settings, **kwargs: Any) -> Self:
        """The client for this Space (SPACE_ID or ADMIN_SPACE_ID) with HF_TOKEN; AdminError saying what is missing."""
        problems = configuration_problems(settings)
        if problems:
            raise AdminError(ErrorKind.NOT_CONFIGURED, " ".join(problems))
        return cls(settings.space_id, settings.hf_token, **kwargs)

    def _call(self, what: str, call: Callable[[], T], *, where: str | None = None) -> T:
        """`call()` within the timeout; `where` names the server in messages (default: the Hub's URL)."""
        return call_with_timeout(what, call, self._timeout_s, where or self._api.endpoint, self._target, self._token)


def whoami_name(timeout_s: float = 10.0) -> str:
    """The user name `huggingface_hub.whoami()` gives for the machine's token (HF_TOKEN); raises AdminError.

    Gradio's local sign-in mock makes exactly this call when the app starts, and fails the start if it fails.
    """
    from huggingface_hub import constants, get_token, whoami

    token = get_token()
    if token is None:
        raise AdminError(ErrorKind.NOT_CONFIGURED, "No Hugging Face token on this machine (HF_TOKEN is not set).")
    user = call_with_timeout(
        "ask the Hub who the token belongs to", whoami, timeout_s, constants.ENDPOINT, "the Space", token
    )
    if user.get("type") != "user":
        raise AdminError(ErrorKind.NOT_CONFIGURED, "HF_TOKEN belongs to an organisation or app, not a user account.")
    return user["name"]


def call_with_timeout(what: str, call: Callable[[], T], timeout_s: float, endpoint: str, repo_id: str, token: str) -> T:
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["value"] = call()
        except BaseException as error:  # noqa: BLE001  handed to the caller's thread, which maps it
            outcome["error"] = error

    worker = threading.Thread(target=work, name=f"hub-{what}", daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise AdminError(
            ErrorKind.TIMEOUT,
            f"Could not {what}: the Hub did not answer within {timeout_s:g} s. The request may still "
            "take effect: refresh the runtime before trying again.",
        )
    if "error" in outcome:
        raise map_error(what, outcome["error"], endpoint, repo_id, lambda text: redact_text(text, [token])) from None
    return outcome["value"]


def map_error(what: str, error: BaseException, endpoint: str, repo_id: str, scrub: Callable[[str], str]) -> AdminError:
    if isinstance(error, HfHubHTTPError) and error.response is not None:
        return _http_error(what, error, repo_id, scrub)
    if isinstance(error, OfflineModeIsEnabled):
        return AdminError(
            ErrorKind.OFFLINE, f"Could not {what}: HF_HUB_OFFLINE is set, so huggingface_hub makes no requests."
        )
    if isinstance(error, httpx2.TimeoutException):
        return AdminError(ErrorKind.TIMEOUT, f"Could not {what}: the connection to {endpoint} timed out. Try again.")
    if isinstance(error, httpx2.TransportError | OSError):
        return AdminError(
            ErrorKind.UNREACHABLE,
            f"Could not {what}: cannot reach {endpoint} ({type(error).__name__}: {scrub(str(error))}). "
            "Check the network or HF_ENDPOINT.",
        )
    return AdminError(ErrorKind.UNEXPECTED, f"Could not {what}: {type(error).__name__}: {scrub(str(error))}")


def _http_error(what: str, error: HfHubHTTPError, repo_id: str, scrub: Callable[[str], str]) -> AdminError:
    response = error.response
    status = response.status_code
    said = scrub(error.server_message or "").strip()
    hub_says = f" The Hub says: {said}" if said else ""
    if status == 401:
        return AdminError(
            ErrorKind.UNAUTHORIZED,
            f"Could not {what}: the Hub did not accept HF_TOKEN (401), or the token cannot see {repo_id}. "
            f"Put {TOKEN_PERMISSION} in the HF_TOKEN secret ({SECRETS_PLACE}).{hub_says}",
            status,
        )
    if status == 403:
        return AdminError(
            ErrorKind.FORBIDDEN,
            f"Could not {what}: HF_TOKEN lacks write access to {repo_id} (403). It needs {TOKEN_PERMISSION}; "
            f"replace the HF_TOKEN secret in {SECRETS_PLACE}.{hub_says}",
            status,
        )
    if status == 404:
        return AdminError(
            ErrorKind.NOT_FOUND,
            f"Could not {what}: the Hub knows no Space {repo_id} (404). Check SPACE_ID (ADMIN_SPACE_ID when "
            f"running outside Spaces): it must be owner/space-name.{hub_says}",
            status,
        )
    if status == 429:
        advice, wait_s = _rate_limit_advice(response.headers)
        return AdminError(ErrorKind.RATE_LIMITED, f"Could not {what}: {advice}", status, wait_s)
    if status == 400:
        return AdminError(
            ErrorKind.BAD_REQUEST, f"Could not {what}: the Hub refused the request (400).{hub_says}", status
        )
    if status >= 500:
        return AdminError(
            ErrorKind.SERVER_ERROR,
            f"Could not {what}: the Hub had an internal error ({status}), so the change was most likely not made. "
            f"Refresh the runtime, then try again in a minute; https://status.huggingface.co shows outages.{hub_says}",
            status,
            _seconds(response.headers.get("retry-after", "")),
        )
    return AdminError(ErrorKind.UNEXPECTED, f"Could not {what}: the Hub answered {status}.{hub_says}", status)


def _seconds(header: str) -> float | None:
    """A Retry-After given in seconds; None for absent (or an HTTP date, which the Hub does not send)."""
    header = header.strip()
    return float(header) if header.isdigit() else None


def _rate_limit_advice(headers: Any) -> tuple[str, float | None]:
    info = parse_ratelimit_headers(headers)
    retry_after = _seconds(headers.get("retry-after", ""))
    if info is not None and info.remaining == 0:
        wait_s = info.reset_in_seconds
    elif retry_after is not None:
        wait_s = int(retry_after)
    else:
        return "the Hub is rate limiting this token (429). Wait a minute before trying again.", None
    return f"the Hub is rate limiting this token (429). Retry in {wait_s} s.", float(wait_s)
