"""Keep secrets out of everything the app shows or logs: reports, Admin messages, Hub error texts, log lines.

Two rules, used where data comes in (probe output, Hub errors) and again where it goes out (report JSON,
Markdown, downloads, the Admin tab, every log record):

1. Environment variables are shown by allow-list. `environment_report` gives the values of the variables
   that explain how the frameworks find and use the GPU and where the app runs (SHOWN_NAMES, SHOWN_PREFIXES)
   and only the names of the other variables under RELATED_PREFIXES. A variable nobody listed never shows
   its value, whatever it is called.
2. Every text that leaves the process goes through `redact_text`: the values of secret-named variables,
   the userinfo of URLs (postgres://user:pw@host), secret-named URL parameters (?token=..., &sig=...)
   and anything shaped like a known credential (SECRET_SHAPES) are masked, whichever variable or
   library it came from.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping

REDACTED = "[redacted]"

# Values shown in diagnostics: what decides whether torch, JAX and TensorFlow see the GPU and how much
# memory they take, the CUDA libraries' search path, and which Space and hardware this is.
SHOWN_NAMES = frozenset(
    {
        # Libraries and threads.
        "LD_LIBRARY_PATH",
        "LD_PRELOAD",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "TOKENIZERS_PARALLELISM",
        # torch.
        "PYTORCH_CUDA_ALLOC_CONF",
        "PYTORCH_ALLOC_CONF",
        "PYTORCH_NVML_BASED_CUDA_CHECK",
        "PYTORCH_NO_CUDA_MEMORY_CACHING",
        "TORCH_CUDA_ARCH_LIST",
        "TORCH_USE_CUDA_DSA",
        # JAX / XLA.
        "JAX_PLATFORMS",
        "JAX_PLATFORM_NAME",
        "JAX_ENABLE_X64",
        "XLA_FLAGS",
        # TensorFlow: memory, allocator and log settings.
        "TF_FORCE_GPU_ALLOW_GROWTH",
        "TF_GPU_ALLOCATOR",
        "TF_CPP_MIN_LOG_LEVEL",
        "TF_CPP_MAX_VLOG_LEVEL",
        "TF_ENABLE_ONEDNN_OPTS",
        "TF_XLA_FLAGS",
        "TF_USE_LEGACY_KERAS",
        # Hugging Face Spaces and Hub client settings (no credentials among them).
        "SYSTEM",
        "SPACE_ID",
        "SPACE_AUTHOR_NAME",
        "SPACE_REPO_NAME",
        "SPACE_HOST",
        "ACCELERATOR",
        "CPU_CORES",
        "MEMORY",
        "SPACES_ZERO_GPU",
        "HF_HOME",
        "HF_HUB_CACHE",
        "HF_HUB_OFFLINE",
        "HF_ENDPOINT",
        "HF_HUB_ENABLE_HF_TRANSFER",
    }
)
SHOWN_PREFIXES = ("CUDA_", "NVIDIA_", "NCCL_", "XLA_PYTHON_CLIENT_")
"""CUDA_VISIBLE_DEVICES, NVIDIA_DRIVER_CAPABILITIES, NCCL_DEBUG, XLA_PYTHON_CLIENT_PREALLOCATE and their kin."""
RELATED_PREFIXES = ("CUDA_", "NVIDIA_", "NCCL_", "XLA_", "TF_", "JAX_", "PYTORCH_", "TORCH_", "HF_", "SPACE", "OAUTH_")
"""Variables whose names the report lists, value withheld unless allowed above (e.g. HF_TOKEN, OAUTH_CLIENT_ID)."""

# A second guard inside the allow-list (NVIDIA_API_KEY starts with NVIDIA_), and the names whose values are
# scrubbed from every text. A name is cut into words at "_", "-", "." and lower-to-upper case changes
# (apiKey), a trailing plural "S" ignored; it is secret when one word is a secret word (DB_PASSWORD),
# ends in one of the longer ones (PGPASSWORD), or is secret words and credential qualifiers run together
# (SECRETKEY, ACCESSKEY, ROOTPWD). The qualifiers are fixed so that AUTHOR (AUTH + OR), MONKEY and NCCL's
# PKEY (InfiniBand partition key) stay plain words.
_SECRET_WORDS = frozenset(
    {
        "TOKEN",
        "SECRET",
        "PASSWORD",
        "PASSWD",
        "PASS",
        "PWD",
        "PW",
        "PSW",  # Jenkins' credentials(): NAME_PSW
        "PASSPHRASE",
        "CREDENTIAL",
        "CREDS",
        "KEY",
        "APIKEY",
        "PRIVATE",
        "AUTH",
        "COOKIE",
        "DSN",
        "WEBHOOK",  # a Slack or Discord webhook URL is its own credential
        "SIG",  # signed URLs: Azure SAS sig=, AWS X-Amz-Signature=
        "SIGNATURE",
    }
)
_SECRET_WORD_ENDINGS = ("TOKEN", "SECRET", "PASSWORD", "APIKEY")
_QUALIFIERS = frozenset(
    {"ACCESS", "ACCOUNT", "ADMIN", "API", "APP", "CLIENT", "DB", "ID", "MASTER", "ROOT", "SESSION", "USER"}
)
_PARTS_BY_LETTER: dict[str, tuple[str, ...]] = {
    letter: tuple(part for part in _SECRET_WORDS | _QUALIFIERS if part[0] == letter)
    for letter in {part[0] for part in _SECRET_WORDS | _QUALIFIERS}
}
_ONLY_AFTER_A_FIRST_WORD = frozenset({"PWD", "PW", "PSW"})
"""Abbreviations secret only after a first word (MYSQL_PWD): `PWD` alone is the shell's working directory."""

SECRET_SHAPES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("Hugging Face token", re.compile(r"\bhf_(?:oauth_)?[A-Za-z0-9]{20,}")),
    ("OpenAI / Anthropic style key", re.compile(r"\bsk-[A-Za-z0-9_-]{16,}")),
    ("GitHub token", re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,})")),
    ("AWS access key id", re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")),
    ("JSON Web Token", re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")),
    ("NVIDIA API key", re.compile(r"\bnvapi-[A-Za-z0-9_-]{20,}")),
    ("Google API key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}")),
    ("Slack token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}")),
)
"""Credentials recognisable by their look, masked wherever they appear."""
# Credentials after a scheme word: "Bearer xyz" in echoed headers, "Authorization: Basic xyz".
_AFTER_SCHEME = re.compile(r"(?i)(\bbearer\s+|\bauthorization:\s*basic\s+)[A-Za-z0-9._~+/=-]{8,}")
# scheme://user:password@host -> scheme://[redacted]@host (the user name alone can be a token too).
_URL_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#@\"'<>]+@")
# name=value after "?", "&", "#" or ";": URL queries and fragments (?token=, #access_token=, &sig=) and
# connection strings (;Password=...;AccountKey=...); the value is masked when the name is a secret's.
_PARAMETER = re.compile(r"([?&#;][A-Za-z][A-Za-z0-9_.\-]{0,63}=)([^&#;\s\"'<>]+)")


def is_secret_name(name: str) -> bool:
    """Whether a variable's (or URL parameter's) name says it holds a secret: HF_TOKEN, HF_SECRETS, MYSQL_PWD,
    NCCL_SECRETKEY, access_token, apiKey... but not SPACE_AUTHOR_NAME, TOKENIZERS_PARALLELISM, PWD."""
    words = [word.upper() for word in re.split(r"[_\-.]|(?<=[a-z0-9])(?=[A-Z])", name)]
    return any(
        (form not in _ONLY_AFTER_A_FIRST_WORD or position > 0)
        and (form in _SECRET_WORDS or form.endswith(_SECRET_WORD_ENDINGS) or _fused_secret(form))
        for position, word in enumerate(words)
        for form in (word, word.removesuffix("S"))
    )


def _fused_secret(word: str) -> bool:
    """Whether `word` is secret words and qualifiers run together, one at least a secret word (SECRETKEY,
    ROOTPWD; not APPID). Spelled out position by position: linear in the word, where a regex of the same
    alternatives backtracks exponentially on a name made up to fail late ("APIKEY" * 20 + "X")."""
    # reach[i]: how word[:i] can be spelt from the parts: 0 not at all, 1 qualifiers only, 2 with a secret word.
    reach = [1] + [0] * len(word)
    for start in range(len(word)):
        if reach[start]:
            for part in _PARTS_BY_LETTER.get(word[start], ()):
                if word.startswith(part, start):
                    end = start + len(part)
                    reach[end] = max(reach[end], reach[start], 2 if part in _SECRET_WORDS else 1)
    return reach[-1] == 2


def is_shown(name: str) -> bool:
    """Whether the report may show this variable's value: listed, and not named like a secret."""
    return (name in SHOWN_NAMES or name.startswith(SHOWN_PREFIXES)) and not is_secret_name(name)


def redact_text(text: str, known_secrets: Iterable[str | None] = ()) -> str:
    """`text` with every known secret value, URL userinfo and anything shaped like a credential replaced."""
    for secret in sorted({s for s in known_secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _URL_USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", text)
    text = _PARAMETER.sub(lambda m: m.group(1) + REDACTED if is_secret_name(m.group(1)[1:-1]) else m.group(0), text)
    for _, shape in SECRET_SHAPES:
        text = shape.sub(REDACTED, text)
    return _AFTER_SCHEME.sub(lambda m: m.group(1) + REDACTED, text)


def _url_credentials(value: str) -> list[str]:
    """The userinfo of every URL in `value` and its password part, e.g. ["user:pw", "pw"]."""
    found = []
    for match in re.finditer(r"(?i)\b[a-z][a-z0-9+.-]*://([^\s/?#@\"'<>]+)@", value):
        userinfo = match.group(1)
        found.append(userinfo)
        _, _, password = userinfo.partition(":")
        if password:
            found.append(password)
    return found


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """Values to scrub wherever they appear: secret-named variables' values, and passwords inside URLs."""
    found = [value for name, value in environ.items() if value and is_secret_name(name)]
    for value in environ.values():
        found.extend(_url_credentials(value))
    return found


def environment_report(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables diagnostics show, sorted: allowed ones with their (scrubbed) values, related ones by name.

    e.g. {"CUDA_VISIBLE_DEVICES": "0", "HF_ENDPOINT": "https://[redacted]@hub.example", "HF_TOKEN": "[redacted]"}.
    """
    secrets = secret_values(environ)
    return {
        name: redact_text(value, secrets) if is_shown(name) else REDACTED
        for name, value in sorted(environ.items())
        if is_shown(name) or name.startswith(RELATED_PREFIXES)
    }


def redact_data(value: object, known_secrets: Iterable[str | None] = ()) -> object:
    """`value` (JSON-like: dicts, lists, strings) with every string passed through `redact_text`."""
    if isinstance(value, str):
        return redact_text(value, known_secrets)
    if isinstance(value, Mapping):
        return {key: redact_data(item, known_secrets) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [redact_data(item, known_secrets) for item in value]
    return value


class RedactingFilter(logging.Filter):
    """Scrubs secrets from every record a handler writes, whichever library logged it."""

    def __init__(self, known_secrets: Iterable[str | None]):
        super().__init__()
        self._secrets = [s for s in known_secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_text(message, self._secrets)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info:
            # Format the traceback now, scrubbed, so the handler never formats the raw one.
            record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info), self._secrets)
            record.exc_info = None
        return True


UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


def install_log_redaction(environ: Mapping[str, str]) -> None:
    """Put a RedactingFilter on every handler of the root logger (call after logging is configured)."""
    redacting = RedactingFilter(secret_values(environ))
    for handler in logging.getLogger().handlers:
        handler.addFilter(redacting)
    # uvicorn (Gradio's server) configures its loggers later, with handlers of their own that never reach the
    # root's: a filter on the loggers themselves survives that configuration and covers what they log.
    for name in UVICORN_LOGGERS:
        logging.getLogger(name).addFilter(redacting)
