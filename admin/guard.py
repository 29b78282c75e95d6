"""The one gate in front of every Admin handler that changes something or shows what only the owner may see.

Such a handler asks `Guard.refusal(caller, what)` before anything else (the change desk, admin/desk.py, does it
for every change). Where the request comes from is checked first, then who sent it (admin/access.py): a request
another site's page sent carries the owner's cookie, so the name it carries proves nothing, and it is counted
as cross-site whoever it names. Every refusal is counted in the activity log's summary, never listed one by one.
"""

from __future__ import annotations

from dataclasses import dataclass

from admin.access import Caller, Decision, authorize, origin_problem
from admin.activity import ActivityLog
from settings import Settings


@dataclass(frozen=True)
class Refusal:
    kind: str
    """Who was refused, in a few fixed words: "cross-site", "anonymous" or "visitor"."""
    reason: str
    """Why, in a sentence for the page."""

    @property
    def message(self) -> str:
        return f"Refused: {self.reason[0].upper()}{self.reason[1:]}"


class Guard:
    """One per app, shared by every feature, so the activity log counts every refusal in one place."""

    def __init__(self, settings: Settings, activity: ActivityLog):
        self.settings = settings
        self.activity = activity

    def decide(self, username: str | None) -> Decision:
        """Whether this signed-in user may act at all: for how the page looks, never for letting a change through."""
        return authorize(username, self.settings)

    def check(self, caller: Caller) -> Refusal | None:
        """Why `caller` may not act (None when they may), without counting it: for what a page load shows."""
        cross_site = origin_problem(caller, self.settings)
        if cross_site:
            return Refusal("cross-site", cross_site)
        decision = self.decide(caller.username)
        return None if decision.allowed else Refusal(decision.role.value, decision.reason)

    def refusal(self, caller: Caller, what: str) -> Refusal | None:
        """Why `caller` may not do `what`, counted in the activity summary; None when they may."""
        refused = self.check(caller)
        if refused:
            self.activity.refuse(refused.kind, what, refused.reason)
        return refused
