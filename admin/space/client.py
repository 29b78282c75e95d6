"""The Space's own runtime: what the Hub says about it (SpaceState) and the calls that change it (SpaceClient)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from functools import partial
from typing import Any

from huggingface_hub import SpaceRuntime, SpaceStage

from admin.hub import HubClient
from admin.space.replicas import request_replicas
from settings import Settings

# A Space is on its way somewhere in these stages; the runtime is worth polling until it leaves them.
# (huggingface_hub keeps the same tuple in a private module, INTERMEDIATE_SPACE_STAGES.)
CHANGING_STAGES = (
    SpaceStage.BUILDING,
    SpaceStage.RUNNING_BUILDING,
    SpaceStage.APP_STARTING,
    SpaceStage.RUNNING_APP_STARTING,
)


@dataclass(frozen=True)
class SpaceState:
    """What `get_space_runtime` (or any Space call) says about the Space right now."""

    repo_id: str
    """e.g. "alice/gpu-self-check"."""
    stage: str
    """A `SpaceStage` value, e.g. "RUNNING"; kept as text so a stage the Hub adds later still shows."""
    hardware: str | None
    """Hardware it runs on now, e.g. "cpu-basic"; None while building for the first time."""
    requested_hardware: str | None
    """Hardware asked for, e.g. "t4-small"; differs from `hardware` until the switch is done."""
    sleep_time: int | None
    """Seconds without visitors before it sleeps, e.g. 3600; -1 never; None: the Hub's default."""
    raw: dict = field(default_factory=dict, repr=False, compare=False)
    """The Hub's JSON, for what this class does not model (replicas, storage, dev mode...)."""

    @classmethod
    def from_runtime(cls, repo_id: str, runtime: SpaceRuntime) -> SpaceState:
        return cls(
            repo_id=repo_id,
            stage=str(runtime.stage.value if isinstance(runtime.stage, Enum) else runtime.stage),
            hardware=_text(runtime.hardware),
            requested_hardware=_text(runtime.requested_hardware),
            sleep_time=runtime.sleep_time,
            raw=dict(runtime.raw or {}),
        )

    @property
    def is_changing(self) -> bool:
        """Building, starting, or running while a hardware switch is pending."""
        if self.stage in CHANGING_STAGES:
            return True
        return self.stage == SpaceStage.RUNNING and self.requested_hardware not in (None, self.hardware)

    @property
    def is_paused(self) -> bool:
        return self.stage == SpaceStage.PAUSED

    @property
    def billed_hardware(self) -> str | None:
        """The flavor billing follows: the requested one once asked for."""
        return self.requested_hardware or self.hardware


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return str(value.value if isinstance(value, Enum) else value)


class SpaceClient(HubClient):
    """The few Space calls the Admin tab makes, for one Space with one token."""

    def __init__(self, repo_id: str, token: str, **kwargs: Any):
        super().__init__(repo_id, token, **kwargs)
        self.repo_id = repo_id

    def __repr__(self) -> str:
        return f"SpaceClient(repo_id={self.repo_id!r}, endpoint={self._api.endpoint!r})"

    @classmethod
    def from_settings(cls, settings: Settings, **kwargs: Any) -> SpaceClient:
        return cls.for_space(settings, **kwargs)

    def runtime(self) -> SpaceState:
        return self._space("read the Space's runtime", self._api.get_space_runtime)

    def list_hardware(self) -> list[Any]:
        """`JobHardwareInfo` per flavor, with prices (see catalogue.catalogue_from_hub)."""
        return self._call("list the Spaces hardware", self._api.list_spaces_hardware)

    def request_hardware(self, flavor: str, sleep_time: int | None = None) -> SpaceState:
        return self._space(f"request {flavor}", self._api.request_space_hardware, flavor, sleep_time=sleep_time)

    def set_sleep_time(self, seconds: int) -> SpaceState:
        return self._space("set the sleep time", self._api.set_space_sleep_time, seconds)

    def pause(self) -> SpaceState:
        return self._space("pause the Space", self._api.pause_space)

    def restart(self, factory_reboot: bool = False) -> SpaceState:
        return self._space("restart the Space", self._api.restart_space, factory_reboot=factory_reboot)

    def set_replicas(self, replicas: int) -> SpaceState:
        """No HfApi method exists: admin/space/replicas.py makes the request through huggingface_hub's session."""
        return self._space("set the number of replicas", partial(request_replicas, self._api), replicas)

    def _space(self, what: str, method: Callable[..., SpaceRuntime], *args: Any, **kwargs: Any) -> SpaceState:
        """`method(repo_id, *args, **kwargs)` through the timeout, its runtime as a SpaceState."""
        runtime = self._call(what, lambda: method(self.repo_id, *args, **kwargs))
        return SpaceState.from_runtime(self.repo_id, runtime)
