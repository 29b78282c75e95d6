"""Start the real app (`python app.py`) as a process on a free port, for end-to-end tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class AppProcess:
    """`python app.py` (or another Gradio `script`) with extra environment; `url` once it answers,
    `log()` for what it printed."""

    def __init__(
        self,
        env: dict[str, str],
        log_path: Path,
        startup_timeout_s: float = 240.0,
        script: Path = REPO / "app.py",
        port: int | None = None,
    ):
        # A given port: the same app started again where its callers expect it (a server coming back).
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.script = script
        self._timeout = startup_timeout_s
        self._env = {
            **os.environ,
            "HF_HUB_OFFLINE": "1",
            "GRADIO_ANALYTICS_ENABLED": "False",
            "GRADIO_SERVER_NAME": "127.0.0.1",
            "GRADIO_SERVER_PORT": str(self.port),
            "PYTHONUNBUFFERED": "1",
            **env,
        }
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> AppProcess:
        self._log_file = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [sys.executable, str(self.script)], cwd=REPO, env=self._env, stdout=self._log_file, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.script.name} exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/gradio_api/info", timeout=2):
                    return self
            except OSError:
                time.sleep(0.5)
        self.__exit__(None, None, None)
        raise TimeoutError(f"{self.script.name} did not answer within {self._timeout}s:\n{self.log()}")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
