"""The owner's Apply, under the Diagnostics tab's report: Gradio only (admin/fixes/service.py decides).

Only the owner (or ADMIN_USERS), on the Space's own page, sees the section; for everyone else it stays hidden
and its handlers refuse, since the queue runs any event by its index whatever the page shows. No event is an
API endpoint or an MCP tool (`CHANGES` is private). The fix applied is always the one in the server's own
report: the page only names the component, found in the report whose run id it shows (else the latest).
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from admin.desk import Outcome, Pending
from admin.fixes.service import Applied, FixService
from admin.handlers import CHANGES, caller_of, close_confirm, result_line, safely
from diagnostics.cache import LatestReport
from diagnostics.report import Report
from diagnostics.verdicts import Verdict

INTRO = (
    "### Apply a fix\n"
    "Only the owner (and ADMIN_USERS) see this. **Apply** makes a verdict's fix on this Space: Space variables "
    "(the Space restarts with them), requirements.txt as a pull request on the Space's repo for you to review and "
    "merge on the Hub (or committed to main after a second confirmation: the Space rebuilds), other hardware "
    "(billed per minute: asks for a confirmation showing the price), or a restart / factory reboot. A restart "
    "takes the Space, and this page, down for its start time. After it, the start-up diagnostics show below "
    "whether the fix worked."
)
VISITOR_NOTE = (
    "The Space's owner, signed in (Admin tab), can apply the fixes above that the Space can make on itself."
)
HISTORY_HEADER = "| When (UTC) | Who | Fix | Before | After | Worked? |\n|---|---|---|---|---|---|\n"


def _worked(row: Applied) -> str:
    return {True: "✅ yes", False: "❌ no", None: "⏳ waiting for the next start-up"}[row.worked]


def history_markdown(rows: list[Applied]) -> str:
    if not rows:
        return ""
    lines = [
        f"| {r.when:%Y-%m-%d %H:%M} | {r.who} | {r.component}: {r.fix} | {r.before} | {r.after or '—'} "
        f"| {_worked(r)} |"
        for r in rows[:10]
    ]
    return "#### Fixes applied: before and after\n" + HISTORY_HEADER + "\n".join(lines)


def _choices(report: Report | None) -> list[tuple[str, str]]:
    actionable = [v for v in report.verdicts if v.action] if report else []
    return [(f"{v.component} ({v.status.value} {v.rule}): {v.action.words()}", v.component) for v in actionable]


class FixPanel:
    """The section's components and handlers; the handlers' names are the events' (private) API names."""

    def __init__(self, service: FixService, reports: LatestReport, report_json: gr.JSON):
        self.service = service
        self.reports = reports
        self.note = gr.Markdown(elem_id="diagnostics-fixes-note")
        with gr.Group(visible=False, elem_id="diagnostics-fixes") as self.group:
            gr.Markdown(INTRO)
            self.choice = gr.Dropdown(label="Fix to apply", choices=[], interactive=True, elem_id="diagnostics-fix")
            self.to_main = gr.Checkbox(
                label="requirements.txt: commit straight to main instead of opening a pull request (asks again)",
                value=False,
            )
            self.apply = gr.Button("Apply", variant="primary", elem_id="diagnostics-apply")
            with gr.Row(visible=False) as self.confirm_row:
                self.confirm = gr.Button("Confirm", variant="stop", elem_id="diagnostics-apply-confirm")
                self.cancel = gr.Button("Cancel")
            self.result = gr.Markdown(elem_id="diagnostics-apply-result")
            self.history = gr.Markdown(elem_id="diagnostics-fixes-history")
        report_json.change(
            self.on_fix_report,
            inputs=report_json,
            outputs=[self.note, self.group, self.choice, self.history],
            api_visibility="private",
            show_progress="hidden",
        )
        self.apply.click(
            self.on_apply_fix,
            inputs=[self.choice, self.to_main, report_json],
            outputs=[self.confirm, self.confirm_row, self.result, self.history],
            **CHANGES,
        )
        self.confirm.click(self.on_confirm_fix, outputs=[self.confirm_row, self.result, self.history], **CHANGES)
        self.cancel.click(self.on_cancel_fix, outputs=[self.confirm_row, self.result], api_visibility="private")

    def _report(self, data: Any) -> Report | None:
        """The server's own report the page shows (by its run id), else the latest; never the caller's JSON."""
        run = data.get("run") if isinstance(data, dict) else None
        run_id = run.get("id") if isinstance(run, dict) else None
        answer = (self.reports.kept(run_id) if type(run_id) is int else None) or self.reports.peek_answer()
        return answer.report if answer else None

    def _verdict(self, component: Any, data: Any) -> Verdict | None:
        report = self._report(data)
        return next((v for v in report.verdicts if v.component == component), None) if report else None

    def on_fix_report(self, data: Any, profile: gr.OAuthProfile | None, request: gr.Request):
        # Shown to whoever may act from this page; not counted as a refusal: looking is not an attempt.
        choices = _choices(self._report(data))
        if self.service.guard.check(caller_of(profile, request)) is not None:
            return {
                self.note: VISITOR_NOTE if choices else "",
                self.group: gr.Group(visible=False),
                self.choice: gr.Dropdown(choices=[], value=None),
            }
        return {
            self.note: "",
            self.group: gr.Group(visible=True),
            self.choice: gr.Dropdown(choices=choices, value=choices[0][1] if choices else None),
            self.history: history_markdown(self.service.applied()),
        }

    def on_apply_fix(self, component, to_main, data, profile: gr.OAuthProfile | None, request: gr.Request):
        caller = caller_of(profile, request)
        step = self._safely(
            lambda: self.service.apply(caller, self._verdict(component, data), commit_to_main=bool(to_main))
        )
        if isinstance(step, Pending):
            return {
                self.confirm: gr.Button(step.prompt),
                self.confirm_row: gr.Row(visible=True),
                self.result: f"{step.estimate}\n\nConfirm to send it, or cancel.",
            }
        return {**close_confirm(self.confirm_row, step), **self._after(step)}

    def on_confirm_fix(self, profile: gr.OAuthProfile | None, request: gr.Request):
        outcome = self._safely(lambda: self.service.confirm(caller_of(profile, request)))
        return {**close_confirm(self.confirm_row, outcome), **self._after(outcome)}

    def on_cancel_fix(self, profile: gr.OAuthProfile | None, request: gr.Request):
        outcome = self.service.cancel(caller_of(profile, request))
        return {**close_confirm(self.confirm_row, outcome), self.result: outcome.message}

    def _after(self, outcome: Outcome) -> dict:
        shown = {self.result: result_line(outcome)}
        if outcome.ok:  # the history is the owner's: a refused caller gets none of it
            shown[self.history] = history_markdown(self.service.applied())
        return shown

    def _safely(self, action):
        return safely(action, [self.service.space.settings.hf_token])


def build_fix_panel(service: FixService, reports: LatestReport, report_json: gr.JSON) -> FixPanel:
    """The section, inside the caller's Diagnostics tab, under the report whose JSON is `report_json`."""
    return FixPanel(service, reports, report_json)
