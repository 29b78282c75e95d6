"""Apply a verdict's fix to the Space, without Gradio: one table from the action's kind to the change it makes.

Every change goes through the change desk (admin/desk.py) over the app's Guard: owner or ADMIN_USERS, from the
Space's own page, one at a time, an audit row each. Billed hardware waits for a confirmation with its price, and
so does a commit of requirements.txt straight to main (the second confirmation: it rebuilds the Space at once);
the default for requirements is a pull request on the Space's repo, which the owner reviews and merges on the Hub.
Hardware and restarts are the Admin tab's own changes (admin/space/service.py), recorded as this fix.

Each audit row keeps which verdict it was for (component, rule, status). The start-up diagnostics after it are
kept beside it (admin/activity.py, STATE_DIR), so `applied()` shows before and after: did the fix work?
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from admin.access import Caller, Decision
from admin.activity import ActivityEntry, StartupEntry
from admin.desk import Change, ChangeDesk, Outcome, Pending
from admin.fixes.client import REQUIREMENTS, FixClient
from admin.fixes.requirements import edited, unified_diff
from admin.hub import AdminError, ErrorKind
from admin.space.service import RESTART_NOTE, SpaceService
from diagnostics.verdicts import Status, Verdict
from diagnostics.verdicts.actions import ActionKind

FIX = "the fix"
"""The subject of a waiting fix (admin/desk.py Pending): hardware, or a commit straight to main."""
FIX_SLEEP = "1 h"
"""Hardware a fix requests sleeps after an hour without visitors: paid hardware otherwise never sleeps."""
VARIABLES_NOTE = "The Space restarts with them (down for its start time)."

Step = Change | Pending | Outcome


@dataclass(frozen=True)
class Applied:
    """One fix applied, and what the start-up diagnostics said of its verdict afterwards."""

    when: datetime
    who: str
    component: str
    """e.g. "jax"."""
    before: str
    """The verdict it was applied for, e.g. "FAIL out-of-memory"."""
    fix: str
    """What was done, e.g. "Space variables: set TF_FORCE_GPU_ALLOW_GROWTH=true"."""
    result: str
    """What the Hub answered, e.g. "Opened a pull request: https://…"."""
    after: str | None
    """The same component at the next start-up, e.g. "OK ok"; None until one has run."""

    @property
    def worked(self) -> bool | None:
        """True when the rule no longer fires and the status is no worse; None while unknown."""
        status, _, rule = self.before.partition(" ")
        after_status, _, after_rule = (self.after or "").partition(" ")
        known = {s.value for s in Status}
        if status not in known or after_status not in known:  # not yet, or a record this version cannot read
            return None
        return after_rule != rule and Status(after_status).rank <= Status(status).rank


def verdict_tags(verdict: Verdict) -> dict[str, str]:
    return {"component": verdict.component, "rule": verdict.rule, "status": verdict.status.value}


class FixService:
    """One per app, beside the Space's service it shares the Guard (and so the activity log) with."""

    def __init__(self, space: SpaceService, *, client: FixClient | None = None):
        self.space = space
        self.guard = space.guard
        self.problems = space.problems
        self.desk = ChangeDesk(self.guard, self.problems)
        self._client = client if client is not None or self.problems else FixClient.for_space(space.settings)
        self._steps: dict[ActionKind, Callable[[Verdict, bool], Step]] = {
            ActionKind.VARIABLES: self._variables,
            ActionKind.REQUIREMENTS: self._requirements,
            ActionKind.HARDWARE: self._hardware,
            ActionKind.RESTART: self._restart,
        }

    def decide(self, username: str | None) -> Decision:
        return self.guard.decide(username)

    def apply(self, caller: Caller, verdict: Verdict | None, *, commit_to_main: bool = False) -> Outcome | Pending:
        """Apply `verdict`'s action: sent at once, or held for `confirm` when billed or committed to main."""
        component = verdict.component if verdict else "a verdict"

        def step() -> Step:
            if verdict is None or verdict.action is None:
                raise ValueError(f"Nothing to apply for {component}: its verdict carries no fix the Space can make.")
            return self._steps[verdict.action.kind](verdict, commit_to_main)

        return self.desk.act(caller, f"apply the fix for {component}", step)

    def confirm(self, caller: Caller) -> Outcome:
        return self.desk.confirm(caller, FIX)

    def cancel(self, caller: Caller) -> Outcome:
        return self.desk.cancel(caller, FIX)

    # One step per kind of action: each returns the Change, or a Pending one, tagged with its verdict.

    def _variables(self, verdict: Verdict, commit_to_main: bool) -> Change:
        action = verdict.action

        def send() -> None:
            client = self._require_client()
            for key, value in action.set_variables:
                client.set_variable(key, value)
            for key in action.remove_variables:
                client.delete_variable(key)

        done = [f"{k}={v}" for k, v in action.set_variables] + [f"removed {k}" for k in action.remove_variables]
        return self._tagged(
            verdict, Change("", send, lambda _: f"Space variables: {', '.join(done)}. {VARIABLES_NOTE}", True)
        )

    def _requirements(self, verdict: Verdict, commit_to_main: bool) -> Change | Pending | Outcome:
        client = self._require_client()
        before = client.read_text(REQUIREMENTS)
        after = edited(before, verdict.action.requirements)
        if after == before:
            return Outcome(False, f"{REQUIREMENTS} already says this; nothing was sent.")
        diff = unified_diff(before, after)
        message = f"Fix {verdict.component} ({verdict.rule}): {verdict.action.words()}"
        description = f"{verdict.reason}\n\nFix: {verdict.fix}\n\n```diff\n{diff}```\n\nOpened by the GPU self-check."

        def send() -> str:
            committed = client.commit_text(REQUIREMENTS, after, message, description, create_pr=not commit_to_main)
            return committed.pr_url or committed.url

        if not commit_to_main:
            review = f"Review the diff and merge it on the Hub; the Space rebuilds then.\n\n```diff\n{diff}```"
            return self._tagged(
                verdict, Change("", send, lambda url: f"Opened a pull request on the Space's repo: {url}. {review}")
            )
        change = self._tagged(
            verdict,
            Change("", send, lambda url: f"Committed to main: {url}. The Space rebuilds now. {RESTART_NOTE}", True),
        )
        prompt = f"Confirm: commit {REQUIREMENTS} to main (the Space rebuilds at once)"
        return Pending(FIX, change, prompt, f"```diff\n{diff}```")

    def _hardware(self, verdict: Verdict, commit_to_main: bool) -> Change | Pending:
        step = self.space.hardware_step(verdict.action.flavor, FIX_SLEEP)
        if isinstance(step, Pending):
            return dataclasses.replace(step, subject=FIX, change=self._tagged(verdict, step.change))
        return self._tagged(verdict, step)

    def _restart(self, verdict: Verdict, commit_to_main: bool) -> Change:
        return self._tagged(verdict, self.space.restart_change(verdict.action.factory_reboot))

    def _tagged(self, verdict: Verdict, change: Change) -> Change:
        what = f"apply the fix for {verdict.component} ({verdict.rule}): {verdict.action.words()}"
        return dataclasses.replace(change, what=what, tags={**verdict_tags(verdict), "fix": verdict.action.words()})

    def _require_client(self) -> FixClient:
        if self._client is None:
            raise AdminError(ErrorKind.NOT_CONFIGURED, " ".join(self.problems))
        return self._client

    # Before and after.

    def applied(self) -> list[Applied]:
        """Every fix applied, newest first, each with its component's verdict at the first start-up after it."""
        items = self.guard.activity.timeline()[::-1]
        rows = []
        for index, item in enumerate(items):
            if not (isinstance(item, ActivityEntry) and item.ok and item.tags.get("component")):
                continue
            component = item.tags["component"]
            start = _first_start_after(item, items[index:])
            rows.append(
                Applied(
                    item.when,
                    item.who,
                    component,
                    f"{item.tags.get('status', '?')} {item.tags.get('rule', '?')}",
                    item.tags.get("fix", item.action),
                    item.result,
                    start.verdicts.get(component) if start else None,
                )
            )
        return rows[::-1]


def _first_start_after(change: ActivityEntry, later: list[ActivityEntry | StartupEntry]) -> StartupEntry | None:
    """The start-up the change caused (folded into it), else the first process started after it (e.g. the
    rebuild after the owner merged the pull request), wherever the timeline put it."""
    for item in later:
        starts = item.back if isinstance(item, ActivityEntry) else (item,)
        for start in starts:
            if start.started >= change.when and start.verdicts:
                return start
    return None
