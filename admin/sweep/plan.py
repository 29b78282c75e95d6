"""The sweep's plan and results as data, and every decision about it as a pure function of (plan, where this
process runs, now): no files, no Hub, no Gradio.

A plan is confirmed once by the owner and then carried across restarts (admin/sweep/plan_file.py). Each start
of the app, and every live process while a step waits, asks `next_move` what to do; the cases are one table.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from enum import Enum

from admin.space.catalogue import Catalogue, format_usd

ASSUMED_STEP_MINUTES = 15
"""What the estimate assumes one flavor takes, billed: the switch and a build of this template's CUDA stack
(5-10 min, most of it pip), the start with the model, diagnostics with the smoke test (1-2 min), a Demo request."""
DEFAULT_STEP_TIMEOUT_S = 1800
"""A flavor not back within this long is recorded as failed and skipped: twice a slow build, and it bounds
what a flavor that never starts can cost (30 min of its price)."""
FLAVORS_MAX = 8
ZERO_GPU_FLAVOR = "zero-a10g"
"""ZeroGPU: a flavor the Hub's price list may leave out; it has no hourly price (README: "the free path")."""


class StepStatus(str, Enum):
    PENDING = "pending"
    REQUESTED = "requested"
    RUNNING = "running"
    """A process on this flavor is running the diagnostics and the Demo request."""
    DONE = "done"
    FAILED = "failed"
    """Never came back within the timeout (failed to build or start), or its checks could not run."""
    STOPPED = "stopped"
    """The owner stopped the sweep before it ran."""


OPEN = (StepStatus.PENDING, StepStatus.REQUESTED, StepStatus.RUNNING)


@dataclass(frozen=True)
class StepResult:
    """One row of the matrix: a cell per column, each "OK" or the status with its reason."""

    gpu: str = ""
    torch: str = ""
    jax: str = ""
    tensorflow: str = ""
    demo: str = ""
    started_after_s: float | None = None
    """From the hardware request to this flavor's app running, e.g. 312.0; None when it never started."""


@dataclass(frozen=True)
class SweepStep:
    flavor: str
    """e.g. "t4-small"."""
    usd_per_hour: float | None
    """The price when the plan was confirmed, e.g. 0.40; None when unknown."""
    status: StepStatus = StepStatus.PENDING
    requested_at: datetime | None = None
    checked_at: datetime | None = None
    """When a process on this flavor began its checks: a step still running a timeout later died with them."""
    finished_at: datetime | None = None
    result: StepResult = field(default_factory=StepResult)
    note: str = ""
    """Why it failed or was stopped, e.g. "not back within 30 min (Hub stage: BUILD_ERROR)"."""

    @property
    def billed_s(self) -> float | None:
        """Seconds this flavor was asked for, until the sweep moved on: what billing counts at most."""
        if self.requested_at is None or self.finished_at is None:
            return None
        return max(0.0, (self.finished_at - self.requested_at).total_seconds())

    @property
    def cost_usd(self) -> float | None:
        billed = self.billed_s
        if billed is None or self.usd_per_hour is None:
            return None
        return self.usd_per_hour * billed / 3600


@dataclass(frozen=True)
class SweepPlan:
    flavors_text: str
    """The flavors in the owner's words, for the audit rows: "t4-small, l4x1"."""
    original: str
    """The flavor the Space ran on when confirmed; the sweep ends by requesting it again."""
    confirmed_by: str
    """The owner (or ADMIN_USERS member) who confirmed: later steps are sent on their authority."""
    confirmed_at: datetime
    steps: tuple[SweepStep, ...]
    step_timeout_s: float = DEFAULT_STEP_TIMEOUT_S
    stopped_by: str | None = None
    finished_at: datetime | None = None
    """Set once the Space was asked to return to `original` (or already was there)."""

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def current(self) -> tuple[int, SweepStep] | None:
        return next(((i, s) for i, s in enumerate(self.steps) if s.status in OPEN), None)

    def with_step(self, index: int, **changes) -> SweepPlan:
        steps = list(self.steps)
        steps[index] = replace(steps[index], **changes)
        return replace(self, steps=tuple(steps))

    def to_json(self) -> dict:
        data = asdict(self)
        return _jsonable(data)

    @classmethod
    def from_json(cls, data: dict) -> SweepPlan:
        """ValueError (or KeyError/TypeError) for a file this version cannot read."""
        steps = tuple(
            SweepStep(
                flavor=str(s["flavor"]),
                usd_per_hour=None if s.get("usd_per_hour") is None else float(s["usd_per_hour"]),
                status=StepStatus(s["status"]),
                requested_at=_time(s.get("requested_at")),
                checked_at=_time(s.get("checked_at")),
                finished_at=_time(s.get("finished_at")),
                result=StepResult(**s.get("result", {})),
                note=str(s.get("note", "")),
            )
            for s in data["steps"]
        )
        return cls(
            flavors_text=str(data["flavors_text"]),
            original=str(data["original"]),
            confirmed_by=str(data["confirmed_by"]),
            confirmed_at=_time(data["confirmed_at"]),
            steps=steps,
            step_timeout_s=float(data.get("step_timeout_s", DEFAULT_STEP_TIMEOUT_S)),
            stopped_by=data.get("stopped_by"),
            finished_at=_time(data.get("finished_at")),
        )


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def new_plan(
    flavors: list[str], original: str, who: str, now: datetime, catalogue: Catalogue, step_timeout_s: float
) -> SweepPlan:
    """ValueError for a choice that cannot be swept: none, too many, repeated or unknown flavors."""
    chosen = [f.strip() for f in flavors if f and f.strip()]
    if not chosen:
        raise ValueError("Choose at least one flavor to sweep.")
    if len(chosen) > FLAVORS_MAX:
        raise ValueError(f"At most {FLAVORS_MAX} flavors per sweep.")
    if len(set(chosen)) != len(chosen):
        raise ValueError("Each flavor once, please.")
    unknown = [f for f in chosen if catalogue.get(f) is None and f != ZERO_GPU_FLAVOR]
    if unknown:
        raise ValueError(f"Not a Spaces hardware flavor: {', '.join(unknown)}.")
    steps = tuple(SweepStep(f, hourly_price(f, catalogue)) for f in chosen)
    return SweepPlan(", ".join(chosen), original, who, now, steps, step_timeout_s)


@dataclass(frozen=True)
class Estimate:
    minutes: int
    usd: float | None
    """None when a chosen flavor has no known price."""
    worst_usd: float | None
    """Every flavor running to the timeout."""
    text: str


def hourly_price(flavor: str, catalogue: Catalogue) -> float | None:
    known = catalogue.get(flavor)
    if known is not None:
        return known.usd_per_hour
    return 0.0 if flavor == ZERO_GPU_FLAVOR else None


def estimate(flavors: list[str], catalogue: Catalogue, step_timeout_s: float) -> Estimate:
    prices = [hourly_price(f, catalogue) for f in flavors]
    minutes = ASSUMED_STEP_MINUTES * len(flavors)
    timeout_min = step_timeout_s / 60
    if any(p is None for p in prices):
        usd = worst = None
        text = (
            f"About {minutes} min; the Hub gave no price for some of these flavors: see https://huggingface.co/pricing."
        )
    else:
        usd = sum(p * ASSUMED_STEP_MINUTES / 60 for p in prices)
        worst = sum(p * timeout_min / 60 for p in prices)
        each = ", ".join(f"{f} {format_usd(p)}/h" for f, p in zip(flavors, prices, strict=True))
        text = (
            f"About {minutes} min and {format_usd(usd)} in all, assuming {ASSUMED_STEP_MINUTES} min billed per "
            f"flavor (switch, build, start, diagnostics with the smoke test, a Demo request) at {each}. At most "
            f"{format_usd(worst)} if every flavor runs to the {timeout_min:g}-min timeout. Then back to the flavor "
            "it runs on now."
        )
    return Estimate(minutes, usd, worst, text)


class MoveKind(str, Enum):
    NOTHING = "nothing"
    """No plan, or it is finished."""
    RUN_HERE = "run here"
    """This process runs on the current step's flavor: run the checks, record them."""
    REQUEST = "request"
    """Ask the Hub for the current step's flavor."""
    OVERDUE = "overdue"
    """The current step's flavor did not come back in time: record it failed, go on."""
    WAIT = "wait"
    """The current step's flavor is on its way (or another process runs its checks)."""
    RETURN = "return"
    """Every step is over (or the owner stopped): ask for the original flavor, and finish."""


@dataclass(frozen=True)
class Move:
    kind: MoveKind
    index: int = -1
    wait_s: float = 0.0


def next_move(plan: SweepPlan | None, here: str | None, now: datetime) -> Move:
    """What a process running on `here` does next with `plan` at `now`: the one place the cases are decided."""
    if plan is None or plan.finished:
        return Move(MoveKind.NOTHING)
    current = plan.current()
    if current is None:
        return Move(MoveKind.RETURN)
    index, step = current
    deadline = (step.checked_at or step.requested_at or now) + timedelta(seconds=plan.step_timeout_s)
    table = {
        # (status, runs here, past its deadline) -> move
        (StepStatus.PENDING, True, False): MoveKind.RUN_HERE,
        (StepStatus.PENDING, False, False): MoveKind.REQUEST,
        (StepStatus.REQUESTED, True, False): MoveKind.RUN_HERE,
        (StepStatus.REQUESTED, True, True): MoveKind.RUN_HERE,
        (StepStatus.REQUESTED, False, False): MoveKind.WAIT,
        (StepStatus.REQUESTED, False, True): MoveKind.OVERDUE,
        (StepStatus.RUNNING, True, False): MoveKind.WAIT,
        (StepStatus.RUNNING, False, False): MoveKind.WAIT,
        # The process that ran the checks died with them (a crash on this flavor): a failure of the flavor.
        (StepStatus.RUNNING, True, True): MoveKind.OVERDUE,
        (StepStatus.RUNNING, False, True): MoveKind.OVERDUE,
    }
    kind = table[(step.status, step.flavor == here, now >= deadline and step.requested_at is not None)]
    wait_s = max(0.0, (deadline - now).total_seconds()) if kind is MoveKind.WAIT else 0.0
    return Move(kind, index, wait_s)


# The matrix.

COLUMNS = ("Flavor", "GPU", "torch", "JAX", "TensorFlow", "Demo", "Time to start", "Cost")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds / 60:.1f} min" if seconds >= 60 else f"{seconds:.0f} s"


def matrix_rows(plan: SweepPlan) -> list[list[str]]:
    rows = []
    for step in plan.steps:
        r = step.result
        if step.status is StepStatus.DONE:
            cells = [r.gpu, r.torch, r.jax, r.tensorflow, r.demo]
        else:
            cells = [f"{step.status.value.upper()}{': ' + step.note if step.note else ''}", "", "", "", ""]
        cost = step.cost_usd
        rows.append([step.flavor, *cells, _duration(r.started_after_s), "–" if cost is None else format_usd(cost)])
    return rows


def matrix_markdown(plan: SweepPlan) -> str:
    """The matrix as a Markdown table the owner can paste into the Space's README."""

    def cell(text: str) -> str:
        return " ".join(text.split()).replace("|", "\\|") or " "

    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in matrix_rows(plan)]
    stamp = plan.confirmed_at.strftime("%Y-%m-%d")
    return "\n".join(lines) + f"\n\nHardware sweep of {stamp} (GPU self-check template; cost billed per minute).\n"


def matrix_csv(plan: SweepPlan) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(matrix_rows(plan))
    return out.getvalue()


def progress_text(plan: SweepPlan | None) -> str:
    if plan is None:
        return "No sweep yet."
    done = sum(s.status not in OPEN for s in plan.steps)
    who = f"confirmed by {plan.confirmed_by} at {plan.confirmed_at:%Y-%m-%d %H:%M} UTC"
    if plan.finished:
        how = f"stopped by {plan.stopped_by}" if plan.stopped_by else "finished"
        asked = f"{plan.finished_at:%H:%M}"
        return f"Sweep of {plan.flavors_text} ({who}): {how}; back to {plan.original} asked at {asked} UTC."
    current = plan.current()
    now = f"now on step {current[0] + 1}: {current[1].flavor} ({current[1].status.value})" if current else "returning"
    return f"Sweep of {plan.flavors_text} ({who}): {done} of {len(plan.steps)} flavors done, {now}."
