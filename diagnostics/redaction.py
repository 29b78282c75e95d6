"""Keep secrets out of everything the app shows or logs: reports, Hub error texts, log lines."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping

REDACTED = "[redacted]"

# Names such as HF_TOKEN, OAUTH_CLIENT_SECRET, AWS_SECRET_ACCESS_KEY, DB_PASSWORD, OPENAI_APIKEY, judged
# by their "_"-separated words: SPACE_AUTHOR_NAME or KEYBOARD_LAYOUT must not hide what they hold.
_SECRET_WORDS = frozenset(
    {"TOKEN", "SECRET", "PASSWORD", "PASSWD", "PASSPHRASE", "CREDENTIAL", "CREDENTIALS", "KEY", "APIKEY",
     "PRIVATE", "AUTH", "COOKIE"}
)
_SECRET_WORD_ENDINGS = ("TOKEN", "SECRET", "PASSWORD", "APIKEY")
# Hugging Face user and OAuth tokens: hf_ / hf_oauth_ followed by a long alphanumeric run.
_HF_TOKEN = re.compile(r"\bhf_(?:oauth_)?[A-Za-z0-9]{20,}\b")
# "Bearer xyz" in echoed request headers.
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]{8,}")


def is_secret_name(name: str) -> bool:
    """Whether an environment variable's name says it holds a secret."""
    words = re.split(r"[_\-.]", name.upper())
    return any(word in _SECRET_WORDS or word.endswith(_SECRET_WORD_ENDINGS) for word in words)


def redact_text(text: str, known_secrets: Iterable[str | None] = ()) -> str:
    """`text` with every known secret value and anything shaped like a token replaced."""
    for secret in sorted({s for s in known_secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    text = _HF_TOKEN.sub(REDACTED, text)
    return _BEARER.sub(lambda m: m.group(1) + REDACTED, text)


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """Values of the variables whose names look secret, to be scrubbed wherever they appear."""
    return [value for name, value in environ.items() if value and is_secret_name(name)]


def redact_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """A copy of `environ` fit to show: secret-named variables blanked, token-like values scrubbed."""
    secrets = secret_values(environ)
    return {
        name: REDACTED if is_secret_name(name) and value else redact_text(value, secrets)
        for name, value in sorted(environ.items())
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


def install_log_redaction(environ: Mapping[str, str]) -> None:
    """Put a RedactingFilter on every handler of the root logger (call after logging is configured)."""
    redacting = RedactingFilter(secret_values(environ))
    for handler in logging.getLogger().handlers:
        handler.addFilter(redacting)
