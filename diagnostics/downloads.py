"""The report as a JSON file to download: written once per report, from the server's own report only,
in a folder of this process that keeps just the newest few files."""

from __future__ import annotations

import atexit
import json
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class ReportFiles:
    """One file per run id; asking again for a kept run returns its file without writing it again."""

    def __init__(self, parent: str | Path | None = None) -> None:
        self._parent = parent
        self._folder: Path | None = None
        self._lock = threading.Lock()
        self._written: dict[int, Path] = {}

    @property
    def folder(self) -> Path:
        """Made on first use, under the system's temporary folder (where Gradio may serve files from)."""
        if self._folder is None:
            self._folder = Path(tempfile.mkdtemp(prefix="diagnostics-reports-", dir=self._parent))
            atexit.register(self.remove_all)
        return self._folder

    def path_for(self, run_id: int, data: dict[str, Any], keep: Iterable[int] = ()) -> Path:
        """The file of run `run_id` holding `data`; files of runs neither this one nor in `keep` are removed."""
        with self._lock:
            for old_id in set(self._written) - {run_id, *keep}:
                self._written.pop(old_id).unlink(missing_ok=True)
            if run_id in self._written:
                return self._written[run_id]
            # The name is built from the run id and digits of the server's start time, nothing else.
            stamp = re.sub(r"\D", "", str(data.get("created_at", "")))[:14]
            path = self.folder / f"gpu-diagnostics-{stamp}-run{run_id}.json"
            staging = path.with_suffix(".part")
            staging.write_text(json.dumps(data, indent=2))
            staging.replace(path)
            self._written[run_id] = path
            return path

    def remove_all(self) -> None:
        with self._lock:
            if self._folder is not None:
                shutil.rmtree(self._folder, ignore_errors=True)
            self._folder, self._written = None, {}
