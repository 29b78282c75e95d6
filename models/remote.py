"""The Demo served by a remote engine (INFERENCE_URL) instead of a model loaded here.

The backend is an Inference Endpoint, a Text Embeddings Inference (TEI) server, or another Space's
/inference route (this template's, models/routes.py). Each batch the Demo's Batcher forms goes there
through huggingface_hub.InferenceClient, after the same validation as a local model (models/inputs.py),
so visitors see the same tab, limits and messages. No web framework here: models/tab.py turns a
`Failed` into the visitor's error message.

Sentence similarity is asked as feature extraction, with the cosine computed here: every engine serves
that (TEI's root route, an Endpoint's pipeline, this template's /inference), while `sentence_similarity`
is unknown to TEI. The other tasks use the InferenceClient method of the same name.

What goes wrong on the way is told per visitor: a backend that refuses one visitor's input (400, 413,
422) fails that visitor only; one that cannot be reached fails the batch with a message saying what
happened. A backend waking from zero answers 503 (Inference Endpoints docs, "Scale to Zero":
https://huggingface.co/docs/inference-endpoints/guides/autoscaling): it is asked again, with growing
pauses, until INFERENCE_MAX_WAIT has passed in all.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx2
import numpy as np
from huggingface_hub import InferenceClient
from huggingface_hub.errors import HfHubHTTPError, InferenceTimeoutError, OfflineModeIsEnabled
from huggingface_hub.utils import build_hf_headers, get_session

from models.inference import RANKING_TOP_K, Outcome
from models.inputs import MASK_SPELLINGS, Limits, Prepared, prepare
from models.registry import DEFAULT_TASK, TASKS, TaskSpec, get_task
from redaction import redact_text

log = logging.getLogger(__name__)

INFO_TIMEOUT_S = 10.0
"""How long start-up and the Diagnostics check wait for the backend's /info."""
MAX_TEXTS_PER_CALL = 32
"""Texts per feature-extraction call when the backend does not say: TEI's default `max_client_batch_size`
and this template's default MAX_CANDIDATES."""
PARALLEL_CALLS = 8
"""Calls in flight at once for one batch (one per visitor for the tasks that take one text per call)."""
MAX_MESSAGE_CHARS = 300
"""Most characters of a backend's own error message shown to a visitor."""
FIRST_PAUSE_S, MOST_PAUSE_S = 1.0, 10.0
"""Pauses between tries while the backend wakes: doubling from the first, never longer than the most."""

_INPUT_STATUSES = frozenset({400, 413, 422})
"""The backend refuses this one request's input: only its visitor is told."""
_WAKING_STATUSES = frozenset({503})
"""The backend is starting (scaled to zero, loading the model): asked again until INFERENCE_MAX_WAIT."""


class BackendError(Exception):
    """The backend did not answer a call; `message` is meant for the visitor."""

    def __init__(self, message: str, *, per_input: bool = False, waking: bool = False):
        super().__init__(message)
        self.message = message
        self.per_input = per_input
        """The backend refused this input (the caller's to fix), not the service as a whole."""
        self.waking = waking
        """The backend is starting: worth asking again."""


@dataclass(frozen=True)
class Failed:
    """A batch result that is not an answer: what went wrong, for this visitor only."""

    message: str
    title: str = "The model's server"


# --- what the backend says about itself ----------------------------------------------------------------

_ENGINE_TASKS: dict[str, str | None] = {
    # TEI's `model_type` key -> the Demo's task (None: TEI serves it, the Demo does not).
    "embedding": "sentence-similarity",
    "classifier": "text-classification",
    "reranker": None,
}
_PIPELINE_TAGS: dict[str, str] = {
    # A Hub pipeline tag (TGI's `model_pipeline_tag`) that names a Demo task by another name.
    "feature-extraction": "sentence-similarity",
}


@dataclass(frozen=True)
class BackendInfo:
    """What a backend's GET /info says (TEI and TGI answer one; an Endpoint's pipeline or another Space
    may not). Only these fields are kept and shown: an allow-list, not the raw answer."""

    model_id: str | None = None
    """e.g. "BAAI/bge-small-en-v1.5"."""
    engine: str | None = None
    """e.g. "Text Embeddings Inference 1.8.0" (TEI_ENGINE and a version)."""
    task: str | None = None
    """The Demo task the backend serves, when /info tells; e.g. "sentence-similarity"."""
    refused_task: str | None = None
    """A kind of model the backend serves that the Demo does not (e.g. "reranker")."""
    max_client_batch_size: int | None = None
    """Most texts the backend takes in one call."""

    @classmethod
    def from_json(cls, data: Any) -> BackendInfo:
        if not isinstance(data, dict):
            return cls()
        model_id = data.get("model_id") if isinstance(data.get("model_id"), str) else None
        version = data.get("version") if isinstance(data.get("version"), str) else ""
        batch = data.get("max_client_batch_size")
        batch = batch if isinstance(batch, int) and not isinstance(batch, bool) and batch > 0 else None
        model_type = data.get("model_type")
        if isinstance(model_type, dict) and model_type:
            kind = next(iter(model_type))
            task = _ENGINE_TASKS.get(kind)
            refused = None if task else str(kind)
            return cls(model_id, f"Text Embeddings Inference {version}".strip(), task, refused, batch)
        tag = data.get("model_pipeline_tag")
        if isinstance(tag, str):
            task = _PIPELINE_TAGS.get(tag, tag)
            known = task in TASKS
            engine = f"Text Generation Inference {version}".strip()
            return cls(model_id, engine, task if known else None, None if known else tag, batch)
        return cls(model_id, None, None, None, batch)


def _host(url: str) -> str:
    """Scheme, host and port only: what logs may say of INFERENCE_URL (no userinfo, no path, no query)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


def fetch_info(url: str, token: str | None, timeout_s: float = INFO_TIMEOUT_S) -> tuple[BackendInfo, str]:
    """The backend's /info (empty when it has none) and a short account of the answer, e.g. "200 in 12 ms"."""
    started = time.perf_counter()
    try:
        response = get_session().get(
            url.rstrip("/") + "/info", headers=build_hf_headers(token=token), timeout=timeout_s
        )
    except (httpx2.TransportError, OfflineModeIsEnabled) as error:
        raise _transport_error(error, url) from None
    elapsed = f"{(time.perf_counter() - started) * 1000:.0f} ms"
    if response.status_code != 200:
        return BackendInfo(), f"{response.status_code} in {elapsed}"
    try:
        return BackendInfo.from_json(response.json()), f"200 in {elapsed}"
    except ValueError:
        return BackendInfo(), f"200 (not JSON) in {elapsed}"


def resolve_task(task_setting: str | None, info: BackendInfo) -> tuple[TaskSpec, str]:
    """The Demo's task without loading the model, and where it came from: TASK when set, else what the
    backend's /info tells, else the template's default. Raises TaskError for a task that cannot run remotely."""
    from models.registry import TaskError

    if task_setting:
        spec, source = get_task(task_setting), "TASK"
    elif info.task:
        spec, source = get_task(info.task), "the backend's /info"
    elif info.refused_task:
        raise TaskError(
            f"The backend at INFERENCE_URL serves a {info.refused_task} model, which the Demo does not show: "
            f"point INFERENCE_URL at one that serves one of: {', '.join(t for t in TASKS if not TASKS[t].streaming)}."
        )
    else:
        spec, source = get_task(DEFAULT_TASK), "the default (set TASK to choose)"
    if spec.streaming:
        raise TaskError(
            f"TASK={spec.name!r} is streamed token by token, which the Demo does not do through INFERENCE_URL yet: "
            "unset INFERENCE_URL to run the model here, or choose another task."
        )
    return spec, source


# --- calls and their failures ----------------------------------------------------------------------------


def _server_words(error: HfHubHTTPError, token: str | None) -> str:
    """The backend's own message (e.g. this template's "Text is empty: type some text."), short and safe."""
    words = (error.server_message or "").strip().splitlines()
    text = words[0].strip() if words else ""
    if text.startswith("<"):  # an HTML error page from a proxy says nothing a visitor can use
        return ""
    text = redact_text(text, [token])
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def _http_error(error: HfHubHTTPError, token: str | None) -> BackendError:
    status = error.response.status_code if error.response is not None else 0
    words = _server_words(error, token)
    said = f": {words}" if words else "."
    if status in _INPUT_STATUSES:
        return BackendError(f"The model's server refused this input ({status}){said}", per_input=True)
    if status in _WAKING_STATUSES:
        return BackendError(
            "The model's server is starting (it may have scaled to zero when idle) and did not get ready in time: "
            "try again in a minute.",
            waking=True,
        )
    table = {
        401: "The model's server refused this Space's credentials (401): the owner should check INFERENCE_TOKEN or HF_TOKEN.",
        403: "The model's server refused this Space's credentials (403): the owner should check INFERENCE_TOKEN or HF_TOKEN.",
        404: "The model's server has no such route (404): the owner should check INFERENCE_URL.",
        405: "The model's server does not take this request (405): the owner should check INFERENCE_URL.",
        429: f"The model's server is busy (429){said} Try again shortly.",
        504: "The model's server took too long to answer (504): try again shortly.",
    }
    if status in table:
        return BackendError(table[status])
    if status >= 500:
        return BackendError(f"The model's server failed ({status}){said} Try again shortly.")
    return BackendError(f"The model's server answered {status}{said}")


def _transport_error(error: Exception, url: str) -> BackendError:
    if isinstance(error, OfflineModeIsEnabled):
        return BackendError(
            "This Space runs with HF_HUB_OFFLINE set, so huggingface_hub refuses to reach the model's server: "
            "the owner should unset HF_HUB_OFFLINE."
        )
    if isinstance(error, (InferenceTimeoutError, httpx2.TimeoutException)):
        return BackendError("The model's server did not answer in time (INFERENCE_TIMEOUT): try again shortly.")
    if isinstance(error, httpx2.ConnectError):
        log.warning("Cannot connect to the backend at %s: %s", _host(url), error)
        return BackendError("The model's server cannot be reached right now (connection refused or no such host): try again in a minute.")
    log.warning("The connection to the backend at %s failed: %s", _host(url), error)
    return BackendError("The connection to the model's server failed: try again shortly.")


def _retry_after_s(error: HfHubHTTPError) -> float | None:
    raw = error.response.headers.get("retry-after", "") if error.response is not None else ""
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None


@dataclass
class Waiting:
    """The backend is being waited for (it answered 503); shown to visitors as progress."""

    since: float
    """time.monotonic() of the first 503."""
    until: float
    """time.monotonic() past which no more tries are made."""
    tries: int = 1

    def fraction(self, now: float) -> float:
        return min(1.0, (now - self.since) / max(1e-9, self.until - self.since))

    def describe(self, now: float) -> str:
        return f"The model's server is starting: waiting {now - self.since:.0f} s (try {self.tries})"


@dataclass
class WaitPolicy:
    """How long one batch may wait for a backend that is starting, and how often it asks meanwhile."""

    max_wait_s: float
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)


# --- the predictor -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteSource:
    name: str
    """What visitors read for the model, e.g. "BAAI/bge-small-en-v1.5" or "the model at INFERENCE_URL"."""


@dataclass(frozen=True)
class RemoteModel:
    """What the Demo tab reads of a model (`spec`, `source.name`), for one served elsewhere."""

    spec: TaskSpec
    source: RemoteSource
    info: BackendInfo
    task_source: str
    """Where the task came from: "TASK", "the backend's /info" or the default."""


class RemotePredictor:
    """The Predictor's interface for the Demo (prepare, predict_batch), answered by the backend."""

    def __init__(
        self,
        url: str,
        token: str | None,
        model: RemoteModel,
        limits: Limits,
        timeout_s: float,
        wait: WaitPolicy,
        max_new_tokens: int = 0,
    ):
        self.url = url
        self.model = model
        self.limits = limits
        self.max_new_tokens = max_new_tokens
        self.waiting: Waiting | None = None
        """Set while a batch waits for the backend to start: what progress visitors are shown."""
        self._token = token
        self._wait = wait
        self._client = InferenceClient(model=url, token=token, timeout=timeout_s)
        self._pool = ThreadPoolExecutor(PARALLEL_CALLS, thread_name_prefix="backend")
        self._task = model.spec.name
        self._max_texts = model.info.max_client_batch_size or MAX_TEXTS_PER_CALL
        self._tei = (model.info.engine or "").startswith("Text Embeddings Inference")

    @property
    def mask_token(self) -> str | None:
        # The backend's tokenizer is not here: send the spelling this template's /inference and BERT-style
        # models take (another Space running this template turns either spelling into its own token).
        return MASK_SPELLINGS[0] if self._task == "fill-mask" else None

    def prepare(self, raw: Sequence[object]) -> Prepared:
        return prepare(self.model.spec, raw, self.limits, self.mask_token)

    def where_it_runs(self) -> str:
        engine = f" ({self.model.info.engine})" if self.model.info.engine else ""
        return (
            f"**{self.model.spec.title}** with `{self.model.source.name}` · runs on a **remote server**{engine}, "
            "not on this Space's hardware"
        )

    # --- calls with waiting ---------------------------------------------------------------------------------

    def _call(self, fn: Callable[[], Any], patient: bool = True) -> Any:
        """`fn()`; while the backend answers 503, asked again (when `patient`) until the wait policy's time is up."""
        clock, pause, deadline = self._wait.clock, FIRST_PAUSE_S, None
        while True:
            try:
                return fn()
            except HfHubHTTPError as error:
                failure = _http_error(error, self._token)
                if not (failure.waking and patient):
                    raise failure from None
                now = clock()
                if deadline is None:
                    deadline = now + self._wait.max_wait_s
                    if self.waiting is None:
                        self.waiting = Waiting(now, deadline)
                        log.info("The backend at %s is starting (503): waiting up to %.0f s", _host(self.url), self._wait.max_wait_s)
                if now >= deadline:
                    raise failure from None
                # A longer Retry-After is honoured; a shorter one does not make us ask faster.
                self._wait.sleep(min(deadline - now, max(pause, _retry_after_s(error) or 0.0), MOST_PAUSE_S))
                pause = min(pause * 2, MOST_PAUSE_S)
                if self.waiting is not None:
                    self.waiting.tries += 1
            except (httpx2.TransportError, OfflineModeIsEnabled, InferenceTimeoutError) as error:
                raise _transport_error(error, self.url) from None
            except (ValueError, TypeError, KeyError, IndexError, AttributeError) as error:
                log.warning("The backend's answer was not understood: %r", error)
                raise BackendError("The model's server answered in a form the Demo does not understand.") from None

    def _each(self, calls: Sequence[Callable[[], Any]]) -> list[Any]:
        """Run the calls side by side; each result is the answer or the BackendError it raised."""

        def guarded(call: Callable[[], Any]) -> Any:
            try:
                return self._call(call)
            except BackendError as error:
                return error

        try:
            return list(self._pool.map(guarded, calls))
        finally:
            self.waiting = None

    # --- the batch ------------------------------------------------------------------------------------------

    def predict_batch(self, prepared: Sequence[Prepared]) -> list[Outcome | Failed]:
        """One Outcome (or Failed) per prepared request, in order."""
        if self._task == "sentence-similarity":
            return self._similarity(prepared)
        one_call = self._one_call()
        results = self._each([lambda p=p: one_call(p) for p in prepared])
        return [_failed(r) if isinstance(r, BackendError) else r for r in results]

    def _one_call(self) -> Callable[[Prepared], Outcome]:
        """The call that serves one request of a task answered one text at a time."""
        return {
            "text-classification": self._classify,
            "zero-shot-classification": self._zero_shot,
            "token-classification": self._entities,
            "fill-mask": self._fill_mask,
        }[self._task]

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit-length embeddings of `texts`, in calls of at most the backend's batch size, side by side.
        Raises BackendError (the first failure) when any call fails."""
        chunks = [list(texts[i : i + self._max_texts]) for i in range(0, len(texts), self._max_texts)]
        results = self._each([lambda c=c: self._features(c) for c in chunks])
        for result in results:
            if isinstance(result, BackendError):
                raise result
        return np.concatenate(results) if results else np.zeros((0, 0), dtype=np.float32)

    def _features(self, texts: list[str]) -> np.ndarray:
        array = self._client.feature_extraction(texts, normalize=True, truncate=True)
        if array.ndim == 3:  # a pipeline that answers per token: mean-pool, as sentence-transformers does
            array = array.mean(axis=1)
        if array.ndim != 2 or array.shape[0] != len(texts):
            raise ValueError(f"feature extraction answered shape {array.shape} for {len(texts)} texts")
        norms = np.linalg.norm(array, axis=1, keepdims=True)
        return (array / np.maximum(norms, 1e-12)).astype(np.float32)

    def _similarity(self, prepared: Sequence[Prepared]) -> list[Outcome | Failed]:
        try:
            return self._rank(prepared)
        except BackendError as error:
            if not error.per_input or len(prepared) == 1:
                return [_failed(error)] * len(prepared)
        # One input in the pooled calls was refused: ask for each request alone, so only its visitor is told.
        # One after another: `_rank` itself runs its calls in the pool.
        return [self._rank_or_fail(p) for p in prepared]

    def _rank_or_fail(self, p: Prepared) -> Outcome | Failed:
        try:
            return self._rank([p])[0]
        except BackendError as error:
            return _failed(error)

    def _rank(self, prepared: Sequence[Prepared]) -> list[Outcome]:
        # Visitors often send the same sentences (the examples): embed each distinct text once.
        index: dict[str, int] = {}
        for p in prepared:
            source, candidates = p.values
            for text in (source, *candidates):
                index.setdefault(text, len(index))
        vectors = self.embed(list(index))
        outcomes = []
        for p in prepared:
            source, candidates = p.values
            scores = vectors[[index[c] for c in candidates]] @ vectors[index[source]]
            ranked = sorted(zip(candidates, scores.tolist()), key=lambda pair: pair[1], reverse=True)
            outcomes.append(Outcome({c: round(s, 4) for c, s in ranked}, _notes(p)))
        return outcomes

    def _classify(self, p: Prepared) -> Outcome:
        # TEI answers one text with a flat list, which the client reads as its first label only; asked
        # as a batch of one, TEI answers a list per text, the shape the client reads whole.
        text = [p.values[0]] if self._tei else p.values[0]
        answer = self._client.text_classification(text)  # type: ignore[arg-type]
        elements = answer if isinstance(answer, list) else [answer]
        ranked = sorted(((e.label, float(e.score)) for e in elements), key=lambda pair: pair[1], reverse=True)
        details = [{"label": label, "score": score} for label, score in ranked]
        return Outcome({label: round(score, 4) for label, score in ranked}, _notes(p), details)

    def _zero_shot(self, p: Prepared) -> Outcome:
        text, labels = p.values
        answer = self._client.zero_shot_classification(text, list(labels), multi_label=False)
        ranked = sorted(((e.label, float(e.score)) for e in answer), key=lambda pair: pair[1], reverse=True)
        details = {"labels": [label for label, _ in ranked], "scores": [score for _, score in ranked]}
        return Outcome({label: round(score, 4) for label, score in ranked}, _notes(p), details)

    def _entities(self, p: Prepared) -> Outcome:
        text = p.values[0]
        answer = self._client.token_classification(text, aggregation_strategy="simple")
        entities = [
            {"entity": e.entity_group or e.entity, "start": int(e.start), "end": int(e.end)} for e in answer
        ]
        return Outcome({"text": text, "entities": entities}, _notes(p))

    def _fill_mask(self, p: Prepared) -> Outcome:
        answer = self._client.fill_mask(p.values[0], top_k=RANKING_TOP_K)
        scores = {(e.token_str.strip() or e.token_str): round(float(e.score), 4) for e in answer}
        return Outcome(scores, _notes(p))

    def fetch_info(self) -> tuple[BackendInfo, str]:
        return fetch_info(self.url, self._token)

    def probe(self) -> None:
        """Serve the task's first example once, without waiting for a starting backend; raises BackendError."""
        prepared = self.prepare(self.model.spec.examples[0])
        if self._task == "sentence-similarity":
            source, candidates = prepared.values
            self._call(lambda: self._features([source, *candidates]), patient=False)
            return
        one_call = self._one_call()
        self._call(lambda: one_call(prepared), patient=False)


def _notes(prepared: Prepared) -> str:
    return "\n".join(f"- {note}" for note in prepared.notes)


def _failed(error: BackendError) -> Failed:
    return Failed(error.message, "Please check your input" if error.per_input else "The model's server")


# --- start-up and the Diagnostics check ---------------------------------------------------------------------


def connect(
    url: str, token: str | None, task_setting: str | None, limits: Limits, timeout_s: float, max_wait_s: float
) -> RemotePredictor:
    """The predictor for INFERENCE_URL. Start-up never waits for the backend: one that is down or asleep
    now only loses what its /info would have told (the task then comes from TASK or the default).
    Raises TaskError when the task cannot be served remotely."""
    try:
        info, answer = fetch_info(url, token)
        log.info("Backend %s: /info answered %s", _host(url), answer)
    except BackendError as error:
        info = BackendInfo()
        log.warning("Backend %s not reachable at start-up: %s", _host(url), error.message)
    spec, task_source = resolve_task(task_setting, info)
    name = info.model_id or "the model at INFERENCE_URL"
    model = RemoteModel(spec, RemoteSource(name), info, task_source)
    log.info("Demo served by %s: task %s (from %s), model %s", _host(url), spec.name, task_source, name)
    return RemotePredictor(url, token, model, limits, timeout_s, WaitPolicy(max_wait_s))


@dataclass(frozen=True)
class BackendStatus:
    """One check of the backend, for the Diagnostics tab: an allow-list of what may be shown to anyone."""

    answered: bool
    """The backend served the task's first example."""
    message: str
    """What went wrong, for people (empty when it answered)."""
    latency_ms: float | None
    """Time of that call, including the network; None when it failed."""
    info: BackendInfo
    info_answer: str
    """How GET /info went, e.g. "200 in 12 ms", "404 in 3 ms" (this template has none), "unreachable"."""
    task: str
    task_source: str
    model: str
    checked_at: float
    """time.time() of the check."""

    def to_markdown(self) -> str:
        verdict = (
            f"✅ **The model's server answers**: {self.latency_ms:.0f} ms for the first example"
            if self.answered
            else f"❌ **The model's server does not answer**: {self.message}"
        )
        rows = [
            ("Model", self.model),
            ("Engine", self.info.engine or "not reported"),
            ("Task", f"{self.task} (from {self.task_source})"),
            ("GET /info", self.info_answer),
            ("Texts per call", str(self.info.max_client_batch_size or f"{MAX_TEXTS_PER_CALL} (assumed)")),
            ("Checked", time.strftime("%H:%M:%S UTC", time.gmtime(self.checked_at))),
        ]
        table = "\n".join(f"| {name} | {value} |" for name, value in rows)
        return f"{verdict}\n\n| | |\n|---|---|\n{table}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "answered": self.answered,
            "message": self.message,
            "latency_ms": self.latency_ms,
            "model": self.model,
            "engine": self.info.engine,
            "task": self.task,
            "task_source": self.task_source,
            "info": self.info_answer,
            "max_client_batch_size": self.info.max_client_batch_size,
            "checked_at": self.checked_at,
        }


def check_backend(predictor: RemotePredictor) -> BackendStatus:
    """Ask /info and serve the task's first example once, without waiting for a backend that is starting
    (its 503 is the answer: the Demo's next request will wait for it)."""
    model = predictor.model
    try:
        info, info_answer = predictor.fetch_info()
    except BackendError:
        info, info_answer = BackendInfo(), "unreachable"
    started = time.perf_counter()
    try:
        predictor.probe()
        answered, message, latency = True, "", (time.perf_counter() - started) * 1000
    except BackendError as error:
        answered, message, latency = False, error.message, None
    return BackendStatus(
        answered,
        message,
        latency,
        info if info.model_id or info.engine else model.info,
        info_answer,
        model.spec.name,
        model.task_source,
        info.model_id or model.source.name,
        time.time(),
    )


class BackendCheck:
    """Checks shared by every caller: at most one at a time, and one per `min_interval_s`; callers in
    between get the latest. Visitors cannot turn the Diagnostics tab into a flood on the backend."""

    def __init__(self, predictor: RemotePredictor, min_interval_s: float = 10.0):
        self.predictor = predictor
        self.min_interval_s = min_interval_s
        self._lock = threading.Lock()
        self._latest: BackendStatus | None = None
        self._at = float("-inf")

    def get(self, fresh: bool = False) -> BackendStatus:
        with self._lock:
            recent = time.monotonic() - self._at < self.min_interval_s
            if self._latest is None or (fresh and not recent):
                self._latest, self._at = check_backend(self.predictor), time.monotonic()
            return self._latest
