"""Every environment variable the app reads, read once into one frozen dataclass.

README.md's configuration table documents each variable below; keep the two in step.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

DEVICE_CHOICES = ("auto", "cpu", "cuda")
CPU_RUNTIME_CHOICES = ("auto", "torch", "onnx", "onnx-int8")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class SettingsError(ValueError):
    """A variable holds a value the app cannot use; the message names the variable."""


@dataclass(frozen=True)
class Settings:
    model_id: str | None
    """Hub id or local path of the model; None serves the embedded all-MiniLM-L6-v2."""
    task: str | None
    """Demo task, e.g. "text-classification"; None picks the model's natural task."""
    device: str = "auto"
    """"auto" (CUDA when torch sees it), "cpu" or "cuda"."""
    half_precision: bool = True
    """On CUDA, run in bf16 (or fp16 where the GPU lacks bf16)."""
    cpu_runtime: str = "auto"
    """On the CPU: "auto" (ONNX Runtime where it serves the task, else torch), "torch", "onnx" or "onnx-int8"."""
    max_batch_size: int = 32
    """Most requests of concurrent visitors folded into one forward pass."""
    queue_max_size: int = 256
    """Requests waiting beyond this are refused with a "queue is full" answer."""
    max_input_chars: int = 10_000
    """Longer text is cut to this many characters before tokenising (and the caller is told)."""
    max_candidates: int = 32
    """Most candidate sentences one similarity request may rank."""
    max_embedding_inputs: int = 2048
    """Most texts one embeddings request (/v1/embeddings, /inference feature extraction) may send: OpenAI's limit."""
    max_embedding_chars: int = 1_000_000
    """Most characters one embeddings request may send in all (OpenAI allows 300,000 tokens, about this many)."""
    max_new_tokens: int = 64
    """Most tokens one text-generation request may produce."""
    mcp_server: bool = True
    """Serve the Demo and Diagnostics as MCP tools at /gradio_api/mcp/."""
    diagnostics_timeout_s: float = 60.0
    """Each diagnostics probe subprocess is killed after this many seconds."""
    diagnostics_at_startup: bool = True
    """Log a diagnostics summary in the background at start-up."""
    diagnostics_min_interval_s: float = 60.0
    """Least seconds between two diagnostics runs; callers in between share the latest report."""
    diagnostics_smoke_min_interval_s: float = 600.0
    """Least seconds between two diagnostics runs with the smoke test."""
    diagnostics_max_waiting: int = 8
    """Most callers waiting for a diagnostics run under way; beyond that they get the latest report."""
    space_id: str | None = None
    """The Space the Admin tab manages: SPACE_ID on Spaces, ADMIN_SPACE_ID elsewhere."""
    space_author: str | None = None
    """Owner of the Space (SPACE_AUTHOR_NAME), allowed to administer it."""
    space_host: str | None = None
    """The Space's own host (SPACE_HOST, e.g. "alice-gpu-self-check.hf.space"): Admin changes come only from it."""
    admin_users: frozenset[str] = frozenset()
    """Further Hugging Face usernames allowed to administer the Space."""
    hf_token: str | None = field(default=None, repr=False)
    """Write token for the Admin tab; never shown anywhere."""
    zero_gpu: bool = False
    """Running on ZeroGPU hardware (SPACES_ZERO_GPU)."""
    accelerator: str | None = None
    """Hardware flavor the Space runs on (ACCELERATOR), e.g. "t4-small"."""
    inference_url: str | None = None
    """A remote server the Demo sends its batches to instead of loading a model (models/remote.py)."""
    inference_endpoint: str | None = None
    """The owner's Inference Endpoint the Admin tab manages: "name" (the token's own account) or "namespace/name"."""
    inference_token: str | None = field(default=None, repr=False)
    """Token sent to INFERENCE_URL (default: HF_TOKEN); never shown anywhere."""
    inference_timeout_s: float = 60.0
    """Each call to INFERENCE_URL gives up after this many seconds."""
    inference_max_wait_s: float = 180.0
    """How long a batch waits in all for INFERENCE_URL to start (503 while scaling up from zero)."""
    max_request_bytes: int = 2_097_152
    """Most bytes in a request body to Gradio's routes (/gradio_api/...); the lean routes have their own limit."""
    body_timeout_s: float = 20.0
    """Seconds a request body may take to arrive in full; a slower one gets 408."""
    max_bodies_per_client: int = 16
    """Request bodies one client address may be sending at once; more get 429."""
    max_json_depth: int = 32
    """Deepest nesting of arrays and objects in a JSON body, refused before parsing."""
    max_json_containers: int = 10_000
    """Most arrays and objects in a JSON body, refused before parsing."""
    max_file_size: int = 0
    """Most bytes in one file uploaded to /gradio_api/upload: the app takes no files."""
    state_dir: str | None = None
    """A mounted Storage Bucket (e.g. "/data") where the Admin tab's activity and start-up diagnostics are kept."""
    sweep_step_timeout_s: float = 1800.0
    """A hardware sweep's flavor not back within this many seconds is recorded as failed and skipped."""


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{name}={raw!r} is not a boolean: use true or false.")


def _number(environ: Mapping[str, str], name: str, default, kind, minimum, maximum):
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    try:
        value = kind(raw.strip())
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number.") from None
    if not minimum <= value <= maximum:
        raise SettingsError(f"{name}={raw!r} must be between {minimum} and {maximum}.")
    return value


def _text(environ: Mapping[str, str], name: str) -> str | None:
    value = environ.get(name, "").strip()
    return value or None


def _url(environ: Mapping[str, str], name: str) -> str | None:
    value = _text(environ, name)
    if value is not None and not value.lower().startswith(("http://", "https://")):
        # Not echoed: the value may carry credentials (https://user:secret@host).
        raise SettingsError(f"{name} must be an http:// or https:// URL.")
    return value


_ENDPOINT_NAME = re.compile(r"(?:[A-Za-z0-9][A-Za-z0-9_.-]{0,95}/)?[a-z0-9][a-z0-9-]{0,63}")


def _endpoint_name(environ: Mapping[str, str], name: str) -> str | None:
    value = _text(environ, name)
    if value is not None and not _ENDPOINT_NAME.fullmatch(value):
        raise SettingsError(
            f"{name}={value[:100]!r} is not an Inference Endpoint name: use name or namespace/name "
            "(lower-case letters, digits and hyphens in the name)."
        )
    return value


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read the configuration from `environ` (default: the process environment)."""
    env = os.environ if environ is None else environ
    device = (env.get("DEVICE") or "auto").strip().lower()
    if device not in DEVICE_CHOICES:
        raise SettingsError(f"DEVICE={env.get('DEVICE')!r} is not one of {', '.join(DEVICE_CHOICES)}.")
    cpu_runtime = (env.get("CPU_RUNTIME") or "auto").strip().lower()
    if cpu_runtime not in CPU_RUNTIME_CHOICES:
        raise SettingsError(
            f"CPU_RUNTIME={env.get('CPU_RUNTIME')!r} is not one of {', '.join(CPU_RUNTIME_CHOICES)}."
        )
    admin_users = frozenset(
        name.strip() for name in env.get("ADMIN_USERS", "").replace(";", ",").split(",") if name.strip()
    )
    accelerator = _text(env, "ACCELERATOR")
    return Settings(
        model_id=_text(env, "MODEL_ID"),
        task=_text(env, "TASK"),
        device=device,
        half_precision=_flag(env, "HALF_PRECISION", True),
        cpu_runtime=cpu_runtime,
        max_batch_size=_number(env, "MAX_BATCH_SIZE", 32, int, 1, 1024),
        queue_max_size=_number(env, "QUEUE_MAX_SIZE", 256, int, 1, 100_000),
        max_input_chars=_number(env, "MAX_INPUT_CHARS", 10_000, int, 1, 10_000_000),
        max_candidates=_number(env, "MAX_CANDIDATES", 32, int, 1, 10_000),
        max_embedding_inputs=_number(env, "MAX_EMBEDDING_INPUTS", 2048, int, 1, 100_000),
        max_embedding_chars=_number(env, "MAX_EMBEDDING_CHARS", 1_000_000, int, 1, 100_000_000),
        max_new_tokens=_number(env, "MAX_NEW_TOKENS", 64, int, 1, 4096),
        mcp_server=_flag(env, "MCP_SERVER", True),
        diagnostics_timeout_s=_number(env, "DIAGNOSTICS_TIMEOUT", 60.0, float, 1.0, 3600.0),
        diagnostics_at_startup=_flag(env, "DIAGNOSTICS_AT_STARTUP", True),
        diagnostics_min_interval_s=_number(env, "DIAGNOSTICS_MIN_INTERVAL", 60.0, float, 0.0, 86_400.0),
        diagnostics_smoke_min_interval_s=_number(env, "DIAGNOSTICS_SMOKE_MIN_INTERVAL", 600.0, float, 0.0, 86_400.0),
        diagnostics_max_waiting=_number(env, "DIAGNOSTICS_MAX_WAITING", 8, int, 0, 1000),
        space_id=_text(env, "SPACE_ID") or _text(env, "ADMIN_SPACE_ID"),
        space_author=_text(env, "SPACE_AUTHOR_NAME"),
        space_host=_text(env, "SPACE_HOST"),
        admin_users=admin_users,
        hf_token=_text(env, "HF_TOKEN"),
        zero_gpu=_flag(env, "SPACES_ZERO_GPU", False),
        accelerator=None if accelerator == "none" else accelerator,
        inference_url=_url(env, "INFERENCE_URL"),
        inference_endpoint=_endpoint_name(env, "INFERENCE_ENDPOINT"),
        inference_token=_text(env, "INFERENCE_TOKEN"),
        inference_timeout_s=_number(env, "INFERENCE_TIMEOUT", 60.0, float, 1.0, 3600.0),
        inference_max_wait_s=_number(env, "INFERENCE_MAX_WAIT", 180.0, float, 0.0, 3600.0),
        max_request_bytes=_number(env, "MAX_REQUEST_BYTES", 2_097_152, int, 1024, 1_073_741_824),
        body_timeout_s=_number(env, "BODY_TIMEOUT", 20.0, float, 0.1, 3600.0),
        max_bodies_per_client=_number(env, "MAX_BODIES_PER_CLIENT", 16, int, 1, 100_000),
        max_json_depth=_number(env, "MAX_JSON_DEPTH", 32, int, 2, 1000),
        max_json_containers=_number(env, "MAX_JSON_CONTAINERS", 10_000, int, 2, 10_000_000),
        max_file_size=_number(env, "MAX_FILE_SIZE", 0, int, 0, 1_099_511_627_776),
        state_dir=_text(env, "STATE_DIR"),
        sweep_step_timeout_s=_number(env, "SWEEP_STEP_TIMEOUT", 1800.0, float, 10.0, 86_400.0),
    )
