"""Apply a verdict's fix: the real HfApi talks to the Hub stand-in, which records the variable calls, the
pull request and the commit; hardware waits for a confirmation; nobody else changes anything."""

from __future__ import annotations

import base64

import pytest

from admin.access import Caller
from admin.activity import ActivityLog, compact_activity
from admin.desk import Outcome, Pending
from admin.fixes.client import FixClient
from admin.fixes.requirements import edited
from admin.fixes.service import FixService
from admin.space.client import SpaceClient
from admin.space.service import SpaceService
from admin.state_store import JsonLinesStore
from diagnostics.verdicts import Status, Verdict
from diagnostics.verdicts.actions import ActionKind, FixAction, RequirementEdit
from settings import load_settings
from tests.hub_standin import REPO_CHANGES, HubStandIn, allow_hub_requests_fixture  # noqa: F401 (fixture)

pytestmark = pytest.mark.usefixtures("allow_hub_requests")

OWNER, STRANGER = "space-owner", "mallory"
HOST = "127.0.0.1:7860"
REQUIREMENTS = "# the template's stack\ngradio[oauth,mcp]==6.31.0\njax==0.9.0\njaxlib==0.10.2\ntorch==2.10.0\n"
FIX_ENDPOINTS = ("variables", "file", "preupload", *REPO_CHANGES, "hardware", "restart")

MEMORY = Verdict(
    "jax",
    Status.FAIL,
    "GPU memory ran out: RESOURCE_EXHAUSTED",
    "free GPU memory ...",
    "out-of-memory",
    action=FixAction(
        ActionKind.VARIABLES,
        set_variables=(("XLA_PYTHON_CLIENT_PREALLOCATE", "false"), ("TF_FORCE_GPU_ALLOW_GROWTH", "true")),
    ),
)
CVD = Verdict(
    "torch",
    Status.FAIL,
    "CUDA_VISIBLE_DEVICES='' hides every GPU from PyTorch",
    "unset CUDA_VISIBLE_DEVICES",
    "cuda-visible-devices-empty",
    action=FixAction(ActionKind.VARIABLES, remove_variables=("CUDA_VISIBLE_DEVICES",)),
)
SKEW = Verdict(
    "jax",
    Status.FAIL,
    "jax, jaxlib and the CUDA plugin are different versions (jax 0.9.0, jaxlib 0.10.2)",
    "pin one version for all three: `jax[cuda12]==0.10.2`",
    "jax-jaxlib-skew",
    action=FixAction(
        ActionKind.REQUIREMENTS,
        requirements=(RequirementEdit("jax", "jax[cuda12]==0.10.2"), RequirementEdit("jaxlib", None)),
    ),
)
NO_GPU = Verdict(
    "torch",
    Status.WARN,
    "no GPU on this hardware (cpu-basic)",
    "upgrade the Space's hardware",
    "no-gpu",
    action=FixAction(ActionKind.HARDWARE, flavor="t4-small"),
)
HOST_FAULT = Verdict(
    "gpu",
    Status.FAIL,
    "the GPU reports a hardware fault",
    "restart the Space (Settings → Factory rebuild)",
    "gpu-hardware-fault",
    action=FixAction(ActionKind.RESTART, factory_reboot=True),
)
SKEWED = "# the template's stack\ngradio[oauth,mcp]==6.31.0\njax[cuda12]==0.10.2\ntorch==2.10.0\n"


def caller(username: str | None, *, origin: str | None = f"http://{HOST}") -> Caller:
    return Caller(username, session="tab-1", origin=origin, host=HOST)


@pytest.fixture
def hub():
    with HubStandIn(
        user=OWNER, hardware="cpu-basic", settle_after_polls=0, files={"requirements.txt": REQUIREMENTS}
    ) as hub:
        yield hub


def fixes_for(hub: HubStandIn, activity: ActivityLog | None = None) -> FixService:
    settings = load_settings({"ADMIN_SPACE_ID": hub.space_id, "SPACE_AUTHOR_NAME": OWNER, "HF_TOKEN": hub.token})
    space = SpaceService(
        settings, client=SpaceClient(hub.space_id, hub.token, endpoint=hub.url, timeout_s=5.0), activity=activity
    )
    return FixService(space, client=FixClient(hub.space_id, hub.token, endpoint=hub.url, timeout_s=5.0))


def fix_requests(hub: HubStandIn) -> list:
    return [r for r in hub.requests if r.endpoint in FIX_ENDPOINTS]


def test_setting_variables_adds_each_one_and_says_the_space_restarts(hub):
    fixes = fixes_for(hub)
    outcome = fixes.apply(caller(OWNER), MEMORY)
    assert isinstance(outcome, Outcome) and outcome.ok, outcome.message
    assert [(r.method, r.endpoint, r.body) for r in hub.changes()] == [
        ("POST", "variables-add", {"key": "XLA_PYTHON_CLIENT_PREALLOCATE", "value": "false"}),
        ("POST", "variables-add", {"key": "TF_FORCE_GPU_ALLOW_GROWTH", "value": "true"}),
    ]
    assert hub.variables() == {"XLA_PYTHON_CLIENT_PREALLOCATE": "false", "TF_FORCE_GPU_ALLOW_GROWTH": "true"}
    assert "restarts" in outcome.message
    entry = fixes.guard.activity.entries()[0]
    assert entry.action.startswith("apply the fix for jax (out-of-memory): Space variables: set XLA_")
    assert entry.restarts and entry.tags["rule"] == "out-of-memory" and entry.tags["status"] == "FAIL"


def test_removing_a_variable_deletes_it():
    with HubStandIn(user=OWNER, settle_after_polls=0, variables={"CUDA_VISIBLE_DEVICES": ""}) as hub:
        outcome = fixes_for(hub).apply(caller(OWNER), CVD)
        assert outcome.ok, outcome.message
        assert [(r.method, r.endpoint, r.body) for r in hub.changes()] == [
            ("DELETE", "variables-delete", {"key": "CUDA_VISIBLE_DEVICES"})
        ]
        assert hub.variables() == {}


def test_requirements_become_a_pull_request_showing_the_diff_and_main_is_unchanged(hub):
    outcome = fixes_for(hub).apply(caller(OWNER), SKEW)
    assert isinstance(outcome, Outcome) and outcome.ok, outcome.message
    [pull] = hub.pull_requests()
    assert pull["files"] == {"requirements.txt": SKEWED}
    assert pull["title"] == "Fix jax (jax-jaxlib-skew): requirements.txt: pin `jax[cuda12]==0.10.2`, remove `jaxlib`"
    diff = "-jax==0.9.0\n-jaxlib==0.10.2\n+jax[cuda12]==0.10.2\n"
    assert diff in pull["description"] and diff in outcome.message
    assert f"{hub.url}/spaces/{hub.space_id}/discussions/1" in outcome.message
    assert hub.files()["requirements.txt"] == REQUIREMENTS
    [commit] = [r for r in hub.changes() if r.endpoint == "commit"]
    assert commit.query == {"create_pr": ["1"]}
    files = [line for line in commit.body.splitlines() if '"key": "file"' in line]
    assert len(files) == 1 and base64.b64encode(SKEWED.encode()).decode() in files[0]


def test_a_commit_to_main_waits_for_a_second_confirmation(hub):
    fixes = fixes_for(hub)
    pending = fixes.apply(caller(OWNER), SKEW, commit_to_main=True)
    assert isinstance(pending, Pending)
    assert "commit requirements.txt to main" in pending.prompt and "+jax[cuda12]==0.10.2" in pending.estimate
    assert [r.endpoint for r in hub.changes()] == []
    assert not fixes.confirm(caller(STRANGER)).ok
    outcome = fixes.confirm(caller(OWNER))
    assert outcome.ok, outcome.message
    assert hub.files()["requirements.txt"] == SKEWED and hub.pull_requests() == []
    [commit] = [r for r in hub.changes() if r.endpoint == "commit"]
    assert commit.query == {}


def test_requirements_already_fixed_send_nothing():
    with HubStandIn(user=OWNER, settle_after_polls=0, files={"requirements.txt": SKEWED}) as hub:
        outcome = fixes_for(hub).apply(caller(OWNER), SKEW)
        assert not outcome.ok and "nothing was sent" in outcome.message
        assert hub.changes() == []


def test_hardware_is_billed_so_it_waits_for_a_confirmation_with_its_price(hub):
    fixes = fixes_for(hub)
    pending = fixes.apply(caller(OWNER), NO_GPU)
    assert isinstance(pending, Pending)
    assert pending.prompt == "Confirm: switch to t4-small at $0.40/hour (sleep: 1 h)"
    assert hub.changes() == []
    assert fixes.cancel(caller(OWNER)).ok and hub.changes() == []
    assert isinstance(fixes.apply(caller(OWNER), NO_GPU), Pending)
    outcome = fixes.confirm(caller(OWNER))
    assert outcome.ok, outcome.message
    assert [(r.endpoint, r.body) for r in hub.changes()] == [
        ("hardware", {"flavor": "t4-small", "sleepTimeSeconds": 3600})
    ]
    assert fixes.guard.activity.entries()[0].action == "apply the fix for torch (no-gpu): request hardware t4-small"


def test_a_host_fault_factory_reboots_through_the_space_service(hub):
    outcome = fixes_for(hub).apply(caller(OWNER), HOST_FAULT)
    assert outcome.ok, outcome.message
    [restart] = hub.changes()
    assert (restart.endpoint, restart.query) == ("restart", {"factory": ["true"]})


@pytest.mark.parametrize(
    "who, origin",
    [(None, f"http://{HOST}"), (STRANGER, f"http://{HOST}"), (OWNER, "https://evil.example"), (OWNER, None)],
    ids=["signed-out", "visitor", "owner-from-another-site", "owner-without-origin"],
)
@pytest.mark.parametrize("verdict", [MEMORY, CVD, SKEW, NO_GPU, HOST_FAULT], ids=lambda v: v.action.kind.value)
def test_nobody_else_changes_anything_and_the_hub_hears_nothing(hub, who, origin, verdict):
    fixes = fixes_for(hub)
    for outcome in (fixes.apply(caller(who, origin=origin), verdict), fixes.confirm(caller(who, origin=origin))):
        assert isinstance(outcome, Outcome) and not outcome.ok and outcome.message.startswith("Refused:")
    assert fix_requests(hub) == []  # not even requirements.txt is read
    assert fixes.guard.activity.entries() == [] and fixes.guard.activity.refused().total == 2


def test_a_verdict_without_an_action_sends_nothing(hub):
    unexplained = Verdict("torch", Status.FAIL, "no rule explains why", "1) ...", "unexplained")
    outcome = fixes_for(hub).apply(caller(OWNER), unexplained)
    assert not outcome.ok and "no fix the Space can make" in outcome.message
    assert fix_requests(hub) == []


def test_before_and_after_the_restart_the_fix_caused(hub, tmp_path):
    """The change is kept in STATE_DIR; the next process's start-up diagnostics show whether it worked."""
    store = JsonLinesStore(tmp_path / "admin-activity.jsonl", compact=compact_activity)
    fixes = fixes_for(hub, ActivityLog(store=store))
    assert fixes.apply(caller(OWNER), MEMORY).ok
    [waiting] = fixes.applied()
    assert (waiting.before, waiting.after, waiting.worked) == ("FAIL out-of-memory", None, None)

    restarted = ActivityLog(store=store)  # the Space restarted with the variables: a new process, same STATE_DIR
    restarted.record_startup("a10g-small", "GPU OK, jax OK", {"gpu": "OK gpu-ok", "jax": "OK ok"})
    [fixed] = fixes_for(hub, restarted).applied()
    assert (fixed.component, fixed.after, fixed.worked) == ("jax", "OK ok", True)
    assert fixed.fix.startswith("Space variables: set XLA_PYTHON_CLIENT_PREALLOCATE=false")


def test_a_fix_that_did_not_work_says_so(hub, tmp_path):
    store = JsonLinesStore(tmp_path / "admin-activity.jsonl", compact=compact_activity)
    assert fixes_for(hub, ActivityLog(store=store)).apply(caller(OWNER), HOST_FAULT).ok
    restarted = ActivityLog(store=store)
    restarted.record_startup("t4-small", "GPU FAIL (...)", {"gpu": "FAIL gpu-hardware-fault"})
    [row] = fixes_for(hub, restarted).applied()
    assert (row.before, row.after, row.worked) == ("FAIL gpu-hardware-fault", "FAIL gpu-hardware-fault", False)


@pytest.mark.parametrize(
    "text, edits, expected",
    [
        ("torch==2.9.0\n", [RequirementEdit("torch", "torch==2.10.0")], "torch==2.10.0\n"),
        ("Jax_CUDA12.plugin==0.9\njax\n", [RequirementEdit("jax-cuda12-plugin", None)], "jax\n"),
        (
            "# keep\n--extra-index-url x\n",
            [RequirementEdit("nvidia-ml-py", "nvidia-ml-py==13")],
            "# keep\n--extra-index-url x\nnvidia-ml-py==13\n",
        ),
        (
            "tensorflow>=2 # cpu\ntensorflow-cpu\n",
            [RequirementEdit("tensorflow", "tensorflow[and-cuda]==2.20.0")],
            "tensorflow[and-cuda]==2.20.0\ntensorflow-cpu\n",
        ),
        ("torch\ntorch==2.1\n", [RequirementEdit("torch", "torch==2.10.0")], "torch==2.10.0\n"),
    ],
)
def test_requirement_edits_touch_only_the_package_named(text, edits, expected):
    assert edited(text, edits) == expected
