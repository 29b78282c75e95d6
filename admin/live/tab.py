"""The Admin tab's live section: the Space's metrics as plots (one line per replica) and the run log's tail.

Gradio only; the owner check and the Hub reads live in service.py and reader.py. Every handler asks LiveMonitor,
which refuses anyone but the owner (and ADMIN_USERS) before anything reaches the Hub. The refresh timer
runs only for the owner, from the moment the Admin tab is opened; it stops when the page closes, and the
reader behind it stops once nobody has looked for a while.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import gradio as gr
import pandas as pd
from gradio.context import Context

from admin.guard import Guard
from admin.handlers import caller_of
from admin.live.reader import REFRESH_S, LiveView, MetricSample
from admin.live.service import LiveAnswer, LiveMonitor
from settings import Settings

GIB = 2**30
PLOTS = (
    # (element id suffix, label, y axis title, y axis limits, value of one sample)
    ("cpu", "CPU", "CPU use (%)", [0, 100], lambda s: s.cpu_pct),
    ("memory", "Memory", "used (GiB)", [0, None], lambda s: _gib(s.memory_used_bytes)),
    ("gpu", "GPU", "GPU utilisation (%)", [0, 100], lambda s: s.gpu_utilization_pct),
    ("gpu-memory", "GPU memory", "used (GiB)", [0, None], lambda s: _gib(s.gpu_memory_used_bytes)),
)


def _gib(value: int | None) -> float | None:
    return None if value is None else value / GIB


def plot_frame(samples: tuple[MetricSample, ...], value) -> pd.DataFrame:
    """One plot's data: a row per sample that has the value, coloured by replica.

    Typed even when empty: the plot takes its axes' kinds (time, number) from the first frame it gets.
    """
    rows = [
        (datetime.fromtimestamp(round(sample.at), UTC).replace(tzinfo=None), y, sample.replica)
        for sample in samples
        if (y := value(sample)) is not None
    ]
    return pd.DataFrame(rows, columns=["time", "value", "replica"]).astype(
        {"time": "datetime64[us]", "value": "float64", "replica": "str"}
    )


def plot_update(samples: tuple[MetricSample, ...], value) -> gr.LinePlot:
    """The plot's new data, naming its replicas: the browser fixes a plot's colours when it first draws it and
    draws again only when a setting such as the legend changes, so a replica that appears gets a colour too."""
    frame = plot_frame(samples, value)
    return gr.LinePlot(value=frame, colors_in_legend=sorted(frame["replica"].unique()))


def status_markdown(answer: LiveAnswer, now: float) -> str:
    if not answer.allowed or answer.view is None:
        return f"🔒 {answer.message}"
    view = answer.view
    lines = []
    if view.metrics_problem:
        lines.append(f"⚠️ Metrics: {view.metrics_problem}")
    elif view.samples:
        replicas = sorted({sample.replica for sample in view.samples})
        latest = view.samples[-1]
        memory = ""
        if latest.memory_used_bytes is not None and latest.memory_total_bytes:
            memory = f"; memory {latest.memory_used_bytes / GIB:.1f} of {latest.memory_total_bytes / GIB:.1f} GiB"
        lines.append(
            f"Live: {len(replicas)} replica{'s' if len(replicas) != 1 else ''} ({', '.join(replicas)}), "
            f"last sample {max(0, round(now - latest.at))} s ago{memory}."
        )
    else:
        lines.append("Waiting for the Hub's first metrics (one a second while the Space runs)…")
    if view.log_problem:
        lines.append(f"⚠️ Run log: {view.log_problem}")
    return "\n\n".join(lines)


def log_text(view: LiveView | None) -> str:
    if view is None:
        return ""
    if not view.log_lines:
        return "(no run log yet)" if view.log_read_at else "(reading the run log…)"
    return "\n".join(view.log_lines)


def build_live_panel(settings: Settings, guard: Guard) -> None:
    """Lay out the live section inside the Admin tab (call within its `with gr.Tab(...)`)."""
    _LivePanel(LiveMonitor(settings, guard=guard))


class _LivePanel:
    def __init__(self, monitor: LiveMonitor):
        self.monitor = monitor
        tab = Context.block if isinstance(Context.block, gr.Tab) else None
        gr.Markdown(
            "### Live metrics and run log\nThe last minutes of CPU, memory and GPU use (one line per replica) "
            "and the end of the run log, streamed from the Hub. Only the owner sees them."
        )
        self.status = gr.Markdown()
        self.follow = gr.Checkbox(label=f"Follow live (refresh every {REFRESH_S:g} s)", value=True, interactive=True)
        self.plots = []
        for first in range(0, len(PLOTS), 2):
            with gr.Row():
                for key, label, y_title, y_lim, _ in PLOTS[first : first + 2]:
                    self.plots.append(
                        gr.LinePlot(
                            plot_frame((), None),
                            x="time",
                            y="value",
                            color="replica",
                            x_title="time (UTC)",
                            y_title=y_title,
                            y_lim=y_lim,
                            color_title="replica",
                            height=320,
                            label=label,
                            elem_id=f"live-plot-{key}",
                        )
                    )
        self.logs = gr.Textbox(label="Run log (last lines)", lines=12, max_lines=12, interactive=False, autoscroll=True)
        self.timer = gr.Timer(REFRESH_S, active=False)

        outputs = [self.status, *self.plots, self.logs, self.timer]
        live = {"outputs": outputs, "api_visibility": "private", "show_progress": "hidden", "queue": True}
        gr.on(triggers=None, fn=self.on_page_load, outputs=self.status, api_visibility="private")
        # Opening the Admin tab starts the view (the owner's page opens on another tab: nothing is read before).
        opened = [tab.select] if tab is not None else []
        gr.on(triggers=[*opened, self.timer.tick], fn=self.on_look, inputs=self.follow, **live)
        self.follow.change(self.on_look, inputs=self.follow, **live)

    def on_page_load(self, profile: gr.OAuthProfile | None, request: gr.Request):
        refused = self.monitor.check(caller_of(profile, request))
        return f"🔒 {refused}" if refused else "Open this tab to follow the Space's metrics and run log."

    def on_look(self, follow: bool, profile: gr.OAuthProfile | None, request: gr.Request):
        if not follow:
            return {self.timer: gr.Timer(active=False), self.status: "Paused: tick “Follow live” to resume."}
        answer = self.monitor.watch(caller_of(profile, request))
        now = time.time()
        samples = answer.view.samples if answer.view else ()
        return {
            self.status: status_markdown(answer, now),
            **{plot: plot_update(samples, value) for plot, (*_, value) in zip(self.plots, PLOTS, strict=True)},
            self.logs: log_text(answer.view),
            # Only the owner's page keeps asking; anyone else's timer stops at the first refusal.
            self.timer: gr.Timer(active=answer.allowed),
        }
