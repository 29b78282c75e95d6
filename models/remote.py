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

models/backend_calls.py bounds each call and words its failures; models/backend_info.py reads GET /info
and resolves the task; diagnostics/backend.py checks the backend for the Diagnostics tab.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
from huggingface_hub.errors import HfHubHTTPError

from models.backend_calls import (
    FIRST_PAUSE_S,
    MOST_PAUSE_S,
    TRANSPORT_ERRORS,
    BackendError,
    DeadlineClient,
    Waiting,
    WaitPolicy,
    host,
    http_error,
    retry_after_s,
    transport_error,
)
from models.backend_info import MAX_TEXTS_PER_CALL, STREAMED_REMOTELY, BackendInfo, fetch_info, resolve_task
from models.inputs import MASK_SPELLINGS, Limits, Prepared, prepare
from models.predictor import Embeddings, Failed, Outcome, notes, rank_by_similarity
from models.registry import Serving, TaskError, TaskSpec

log = logging.getLogger(__name__)

PARALLEL_CALLS = 8
"""Calls in flight at once for one batch (one per visitor for the tasks that take one text per call)."""


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
    """The Predictor contract (models/predictor.py) answered by the backend at INFERENCE_URL."""

    copies = 1
    runs_here = False
    starts_cold = True

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
        self._client = DeadlineClient(model=url, token=token, timeout=timeout_s)
        self._pool = ThreadPoolExecutor(PARALLEL_CALLS, thread_name_prefix="backend")
        self._spec = model.spec
        self._max_texts = model.info.max_client_batch_size or MAX_TEXTS_PER_CALL
        self._tei = (model.info.engine or "").startswith("Text Embeddings Inference")

    @property
    def mask_token(self) -> str | None:
        # The backend's tokenizer is not here: send the spelling this template's /inference and BERT-style
        # models take (another Space running this template turns either spelling into its own token).
        return MASK_SPELLINGS[0] if self._spec.mask else None

    def prepare(self, raw: Sequence[object]) -> Prepared:
        return prepare(self.model.spec, raw, self.limits, self.mask_token)

    def where_it_runs(self) -> str:
        engine = f" ({self.model.info.engine})" if self.model.info.engine else ""
        return (
            f"**{self.model.spec.title}** with `{self.model.source.name}` · runs on a **remote server**{engine}, "
            "not on this Space's hardware"
        )

    def stream(self, prepared: Prepared) -> Iterator[Outcome]:
        # resolve_task refuses a streamed task at start-up; this is the same refusal for a direct caller.
        raise TaskError(STREAMED_REMOTELY.format(task=self._spec.name))

    # --- calls with waiting ---------------------------------------------------------------------------------

    def _call(self, fn: Callable[[], Any], patient: bool = True) -> Any:
        """`fn()`; while the backend answers 503, asked again (when `patient`) until the wait policy's time is up."""
        clock, pause, deadline = self._wait.clock, FIRST_PAUSE_S, None
        while True:
            try:
                return fn()
            except HfHubHTTPError as error:
                failure = http_error(error, self._token)
                if not (failure.waking and patient):
                    raise failure from None
                now = clock()
                if deadline is None:
                    deadline = now + self._wait.max_wait_s
                    if self.waiting is None:
                        self.waiting = Waiting(now, deadline)
                        log.info(
                            "The backend at %s is starting (503): waiting up to %.0f s",
                            host(self.url),
                            self._wait.max_wait_s,
                        )
                if now >= deadline:
                    raise failure from None
                # A longer Retry-After is honoured; a shorter one does not make us ask faster.
                self._wait.sleep(min(deadline - now, max(pause, retry_after_s(error) or 0.0), MOST_PAUSE_S))
                pause = min(pause * 2, MOST_PAUSE_S)
                if self.waiting is not None:
                    self.waiting.tries += 1
            except TRANSPORT_ERRORS as error:
                raise transport_error(error, self.url) from None
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
        if self._spec.serving is Serving.SIMILARITY:
            return self._similarity(prepared)
        results = self._each([lambda p=p: self._one(p) for p in prepared])
        return [_failed(r) if isinstance(r, BackendError) else r for r in results]

    def embed(self, texts: Sequence[str]) -> Embeddings:
        """Unit-length embeddings of `texts`, in calls of at most the backend's batch size, side by side.
        Raises BackendError (the first failure) when any call fails."""
        chunks = [list(texts[i : i + self._max_texts]) for i in range(0, len(texts), self._max_texts)]
        results = self._each([lambda c=c: self._features(c) for c in chunks])
        for result in results:
            if isinstance(result, BackendError):
                raise result
        vectors = np.concatenate(results) if results else np.zeros((0, 0), dtype=np.float32)
        return Embeddings(vectors, cut=None, tokens=None)

    def _features(self, texts: list[str]) -> np.ndarray:
        array = self._client.feature_extraction(texts, normalize=True, truncate=True)
        if array.ndim == 3:  # a pipeline that answers per token: mean-pool, as sentence-transformers does
            array = array.mean(axis=1)
        if array.ndim != 2 or array.shape[0] != len(texts):
            raise ValueError(f"feature extraction answered shape {array.shape} for {len(texts)} texts")
        if not np.isfinite(array).all():
            # NaN (e.g. float16 overflow in the model) would rank as nothing, shown as a confidence of null.
            raise BackendError(
                "The model's server answered vectors holding NaN or infinite values: the owner should check the "
                "model (its dtype, e.g. float16 overflow)."
            )
        norms = np.linalg.norm(array, axis=1, keepdims=True)
        return (array / np.maximum(norms, 1e-12)).astype(np.float32)

    def _similarity(self, prepared: Sequence[Prepared]) -> list[Outcome | Failed]:
        try:
            return rank_by_similarity(prepared, self.embed)
        except BackendError as error:
            if not error.per_input or len(prepared) == 1:
                return [_failed(error)] * len(prepared)
        # One input in the pooled calls was refused: ask for each request alone, so only its visitor is told.
        # One after another: `embed` itself runs its calls in the pool.
        return [self._rank_or_fail(p) for p in prepared]

    def _rank_or_fail(self, p: Prepared) -> Outcome | Failed:
        try:
            return rank_by_similarity([p], self.embed)[0]
        except BackendError as error:
            return _failed(error)

    def _one(self, p: Prepared) -> Outcome:
        """One request of a task asked one text at a time, shown as the task shows a local pipeline's answer."""
        answer = self._ask(p)
        return Outcome(self._spec.shape(p.values[0], answer), notes(p), answer)

    def _ask(self, p: Prepared) -> Any:
        """The backend's answer to one request, in the form the task's local pipeline gives."""
        text, options = p.values[0], dict(self._spec.pipeline_options)
        method = self._spec.api_name
        if method == "text_classification":
            # TEI answers one text with a flat list, which the client reads as its first label only; asked
            # as a batch of one, TEI answers a list per text, the shape the client reads whole.
            answer = self._client.text_classification([text] if self._tei else text, **options)  # type: ignore[arg-type]
            return answer if isinstance(answer, list) else [answer]
        if method == "zero_shot_classification":
            answer = self._client.zero_shot_classification(text, list(p.values[1]), **options)
            ranked = sorted(answer, key=lambda element: float(element.score), reverse=True)
            return {"labels": [e.label for e in ranked], "scores": [float(e.score) for e in ranked]}
        return getattr(self._client, method)(text, **options)  # token_classification, fill_mask

    def fetch_info(self) -> tuple[BackendInfo, str]:
        return fetch_info(self.url, self._token)

    def probe(self) -> None:
        """Serve the task's first example once, without waiting for a starting backend; raises BackendError."""
        prepared = self.prepare(self.model.spec.examples[0])
        if self._spec.serving is Serving.SIMILARITY:
            source, candidates = prepared.values
            self._call(lambda: self._features([source, *candidates]), patient=False)
            return
        self._call(lambda: self._one(prepared), patient=False)


def _failed(error: BackendError) -> Failed:
    return Failed(error.message, "Please check your input" if error.per_input else "The model's server")


def connect(
    url: str, token: str | None, task_setting: str | None, limits: Limits, timeout_s: float, max_wait_s: float
) -> RemotePredictor:
    """The predictor for INFERENCE_URL. Start-up never waits for the backend: one that is down or asleep
    now only loses what its /info would have told (the task then comes from TASK or the default).
    Raises TaskError when the task cannot be served remotely."""
    try:
        info, answer = fetch_info(url, token)
        log.info("Backend %s: /info answered %s", host(url), answer)
    except BackendError as error:
        info = BackendInfo()
        log.warning("Backend %s not reachable at start-up: %s", host(url), error.message)
    spec, task_source = resolve_task(task_setting, info)
    name = info.model_id or "the model at INFERENCE_URL"
    model = RemoteModel(spec, RemoteSource(name), info, task_source)
    log.info("Demo served by %s: task %s (from %s), model %s", host(url), spec.name, task_source, name)
    return RemotePredictor(url, token, model, limits, timeout_s, WaitPolicy(max_wait_s))
