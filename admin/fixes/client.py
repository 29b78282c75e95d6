"""The Hub calls a fix makes on the Space's own repository and settings: variables, and requirements.txt
read and committed (as a pull request, or straight to main). Hardware and restarts go through admin/space/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from huggingface_hub import CommitOperationAdd

from admin.hub import HubClient

REQUIREMENTS = "requirements.txt"


@dataclass(frozen=True)
class Committed:
    """What the Hub answered to a commit."""

    url: str
    """The commit, e.g. "https://huggingface.co/spaces/alice/demo/commit/0a1b2c…"."""
    pr_url: str | None
    """The pull request it opened, e.g. "https://huggingface.co/spaces/alice/demo/discussions/3"; None on main."""


class FixClient(HubClient):
    """The Space's variables and files, for one Space with one token; every failure an AdminError."""

    def __init__(self, repo_id: str, token: str, **kwargs: Any):
        super().__init__(repo_id, token, **kwargs)
        self.repo_id = repo_id

    def set_variable(self, key: str, value: str) -> None:
        self._call(f"set the variable {key}", lambda: self._api.add_space_variable(self.repo_id, key, value))

    def delete_variable(self, key: str) -> None:
        self._call(f"remove the variable {key}", lambda: self._api.delete_space_variable(self.repo_id, key))

    def read_text(self, path: str = REQUIREMENTS) -> str:
        """The file on the Space's main branch, as text ("" when the repo has none)."""

        def read() -> str:
            from huggingface_hub.errors import EntryNotFoundError

            with TemporaryDirectory(prefix="space-file-") as folder:
                try:
                    local = self._api.hf_hub_download(self.repo_id, path, repo_type="space", local_dir=folder)
                except EntryNotFoundError:
                    return ""
                return Path(local).read_text(encoding="utf-8")

        return self._call(f"read {path} of the Space", read)

    def commit_text(self, path: str, text: str, message: str, description: str, *, create_pr: bool) -> Committed:
        """`text` as the new `path`: a pull request on the Space's repo, or a commit to main (which rebuilds it)."""

        def commit() -> Committed:
            info = self._api.create_commit(
                self.repo_id,
                [CommitOperationAdd(path, text.encode("utf-8"))],
                commit_message=message,
                commit_description=description,
                repo_type="space",
                create_pr=create_pr,
            )
            return Committed(info.commit_url, info.pr_url)

        where = "open a pull request on" if create_pr else "commit to"
        return self._call(f"{where} the Space's {path}", commit)
