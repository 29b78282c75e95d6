"""What every framework probe does alike: import the framework without dying, record its warnings."""

from __future__ import annotations

import importlib
import logging
import time
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from types import ModuleType


def distribution_version(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def import_framework(name: str) -> tuple[ModuleType | None, dict]:
    """The module (or None) and the facts about importing it: installed, version, import_error, import_s."""
    started = time.perf_counter()
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as error:
        if error.name == name:
            return None, {"installed": False, "version": None, "import_error": None, "import_s": None}
        return None, _failed(name, started)
    except BaseException:  # noqa: BLE001 - a broken framework may raise anything, even SystemExit
        return None, _failed(name, started)
    facts = {
        "installed": True,
        "version": getattr(module, "__version__", None) or distribution_version(name),
        "import_error": None,
        "import_s": round(time.perf_counter() - started, 3),
    }
    return module, facts


def _failed(name: str, started: float) -> dict:
    return {
        "installed": True,
        "version": distribution_version(name),
        "import_error": traceback.format_exc(limit=-8),
        "import_s": round(time.perf_counter() - started, 3),
    }


class _Collect(logging.Handler):
    def __init__(self, sink: list[str]):
        super().__init__(logging.WARNING)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            text += f" [{type(record.exc_info[1]).__name__}: {record.exc_info[1]}]"
        self.sink.append(text)


@contextmanager
def captured_messages(logger_names: tuple[str, ...]) -> Iterator[list[str]]:
    """Warnings and WARNING+ log records, verbatim, from the given loggers while the block runs."""
    messages: list[str] = []
    handler = _Collect(messages)
    loggers = [logging.getLogger(name) for name in logger_names]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield messages
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        messages.extend(str(w.message) for w in caught if not issubclass(w.category, DeprecationWarning))


def error_text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"
