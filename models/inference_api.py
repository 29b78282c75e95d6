"""The Hugging Face Inference API and OpenAI embeddings formats, translated to and from the Predictor.

No web framework here: models/routes.py reads the HTTP request and writes the answer; this module says
what a body means, which batch item serves it and what JSON answers it. Every text goes through
models/inputs.py `prepare` (the cleaning, limits and messages of the Demo's /predict) and every item
runs in the Demo's Batcher, so a lean call and a /predict call with the same inputs get the same numbers.

Formats followed (huggingface_hub 2.4 `InferenceClient`, which posts `{"inputs", "parameters"}` to a URL
given as `model`, and the OpenAI `/v1/embeddings` reference):
- sentence_similarity: inputs `{"source_sentence", "sentences"}` -> one score per sentence, in order.
- feature_extraction: inputs a text or a list; parameters at the root (`normalize`, `truncate`, ...)
  -> one vector per text, always a list of vectors, as Text Embeddings Inference answers.
- text_classification -> `[[{"label", "score"}, ...]]` (the client reads the first list).
- zero_shot_classification, token_classification, fill_mask -> a list of the task's elements.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.inputs import InputError, Prepared, prepare
from models.predictor import Outcome, Predictor
from models.registry import RANKING_TOP_K, FieldKind, FieldSpec, OutputKind, Serving, TaskSpec

BAD_INPUT, TOO_LARGE, NOT_JSON, BUSY = 422, 413, 415, 503
RETRY_AFTER_S = 1
"""What a refused caller is told to wait: a batch takes tens of milliseconds, a full queue drains in seconds."""

# One text to embed, cleaned like any Demo text field (control characters, empty, MAX_INPUT_CHARS).
_TEXT = TaskSpec(
    name="feature-extraction",
    pipeline_task="feature-extraction",
    title="Embeddings",
    description="One vector per text.",
    inputs=(FieldSpec("inputs", "Text", FieldKind.TEXT, ""),),
    output=OutputKind.RANKING,
    output_label="",
    examples=(),
)


class ApiError(Exception):
    """The caller's request cannot be served: HTTP `status` and a message meant for them."""

    def __init__(self, status: int, message: str, retry_after_s: int | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after_s = retry_after_s


@dataclass(frozen=True)
class Embedding:
    """A batch item: texts to embed (already cleaned)."""

    texts: tuple[str, ...]
    count_tokens: bool = False
    """Also count each text's tokens (OpenAI's `usage`)."""

    def pieces(self, size: int) -> list[Embedding]:
        """This request as items of at most `size` texts each, in order."""
        starts = range(0, len(self.texts), size)
        return [Embedding(self.texts[start : start + size], self.count_tokens) for start in starts]


@dataclass(frozen=True)
class Vectors:
    vectors: list[list[float]]
    """Unit-length embeddings, one per text."""
    cut: list[bool]
    """Which texts were longer than the model reads and were cut."""
    tokens: list[int]
    """Tokens per text, as the model read it; empty unless counted."""

    @staticmethod
    def joined(parts: Sequence[Vectors]) -> Vectors:
        return Vectors(
            [vector for part in parts for vector in part.vectors],
            [cut for part in parts for cut in part.cut],
            [count for part in parts for count in part.tokens],
        )


BatchItem = Prepared | Embedding
BatchResult = Outcome | Vectors
SubmitAll = Callable[[Sequence[BatchItem]], Awaitable[list[BatchResult]]]


def run_batch(predictor: Predictor, items: Sequence[BatchItem]) -> list[BatchResult]:
    """Serve a batch of Demo requests and embedding requests: one Demo batch and one embedding pass."""
    results: list[BatchResult | None] = [None] * len(items)
    demo = [i for i, item in enumerate(items) if isinstance(item, Prepared)]
    if demo:
        for i, outcome in zip(demo, predictor.predict_batch([items[i] for i in demo])):
            results[i] = outcome
    wanted = [i for i, item in enumerate(items) if isinstance(item, Embedding)]
    if wanted:
        texts = [text for i in wanted for text in items[i].texts]
        embedded = predictor.embed(texts)
        rows = embedded.vectors.tolist()
        cut = embedded.cut or [False] * len(texts)
        start = 0
        for i in wanted:
            end = start + len(items[i].texts)
            counted = items[i].count_tokens and embedded.tokens is not None
            results[i] = Vectors(rows[start:end], cut[start:end], embedded.tokens[start:end] if counted else [])
            start = end
    return results  # type: ignore[return-value]  every slot is filled above


@dataclass(frozen=True)
class Call:
    """What one request asks for: the batch item, and how its result becomes the JSON answer."""

    item: BatchItem
    answer: Callable[[Any], Any]
    """Batch result -> JSON-ready answer; may raise ApiError (e.g. `truncate: false` on a long text)."""


class Gate:
    """At most `capacity` lean requests waiting or running at once; beyond that, 503 with Retry-After.

    Used from the event loop only, so a plain counter is enough."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.inside = 0

    def refusal(self) -> ApiError | None:
        """What a caller arriving now is told while the gate is full; None while there is room."""
        if self.inside < self.capacity:
            return None
        return ApiError(
            BUSY, f"Too many requests are waiting ({self.capacity}, QUEUE_MAX_SIZE): retry shortly.", RETRY_AFTER_S
        )

    @contextmanager
    def enter(self) -> Iterator[None]:
        refused = self.refusal()
        if refused:
            raise refused
        self.inside += 1
        try:
            yield
        finally:
            self.inside -= 1


# --- parameter checks ----------------------------------------------------------------------------------------

Check = Callable[[str, Any], Any]
"""(name, value) -> the value to use; raises ApiError for a value this server cannot honour."""


def _positive_int(most: int) -> Check:
    def check(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
            raise ApiError(BAD_INPUT, f"{name} must be a whole number from 1 to {most}, not {value!r}.")
        return value

    return check


def _one_of(*allowed: Any, why: str) -> Check:
    def check(name: str, value: Any) -> Any:
        if value not in allowed or isinstance(value, bool) != isinstance(allowed[0], bool):
            raise ApiError(BAD_INPUT, f"{name}={value!r} is not supported here: {why}")
        return value

    return check


def _refused(why: str) -> Check:
    def check(name: str, value: Any) -> Any:
        raise ApiError(BAD_INPUT, f"{name}={value!r} is not supported here: {why}")

    return check


def _texts(name: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ApiError(BAD_INPUT, f"{name} must be a list of texts.")
    return value


def _checked(params: Mapping[str, Any], checks: Mapping[str, Check], where: str) -> dict[str, Any]:
    """The parameters given, each checked; a parameter this server does not know is refused, not ignored."""
    unknown = sorted(set(params) - set(checks))
    if unknown:
        known = ", ".join(checks) or "none"
        raise ApiError(BAD_INPUT, f"{where}{unknown[0]} is not supported for this task (supported: {known}).")
    return {name: checks[name](f"{where}{name}", value) for name, value in params.items() if value is not None}


def _float(value: Any) -> float:
    return float(value)


class InferenceApi:
    """Requests in the Inference API / OpenAI formats -> batch items; batch results -> answers."""

    def __init__(self, predictor: Predictor, queue_max_size: int):
        self.predictor = predictor
        self.spec = predictor.model.spec
        limits = predictor.limits
        # Room for every text at its longest with JSON escapes (6 bytes a character), and then some:
        # longer texts are cut, not refused, but a body this size is no honest request.
        demo = 8 * limits.max_input_chars * (limits.max_candidates + 1)
        # An embeddings request at its limits, every character escaped, each text with its quotes and comma.
        embeddings = 6 * limits.max_embedding_chars + 4 * limits.max_embedding_inputs
        self.max_body_bytes = max(demo, embeddings) + 65_536
        self.gate = Gate(queue_max_size)
        # Each request format of the Inference API, by the task's `api_name`.
        self._formats: dict[str, Callable[[Any, dict[str, Any]], Call]] = {
            "sentence_similarity": self._similarity_or_features,
            "text_classification": self._text_classification,
            "zero_shot_classification": self._zero_shot,
            "token_classification": self._token_classification,
            "fill_mask": self._fill_mask,
        }

    def submit_through(self, submit_all: SubmitAll) -> Callable[[BatchItem], Awaitable[BatchResult]]:
        """How the routes submit a request to the Batcher: an embeddings request of many texts runs as items of
        at most MAX_CANDIDATES texts (none costlier than one Demo request), which take turns with other
        callers' items (`Batcher.submit_all`); its vectors come back joined, in order."""
        texts_per_item = self.predictor.limits.max_candidates

        async def submit(item: BatchItem) -> BatchResult:
            if isinstance(item, Embedding):
                return Vectors.joined(await submit_all(item.pieces(texts_per_item)))  # type: ignore[arg-type]
            (result,) = await submit_all([item])
            return result

        return submit

    @property
    def serves_inference(self) -> bool:
        """Streamed tasks (text generation) have no one-shot answer to give."""
        return self.spec.api_name in self._formats

    @property
    def serves_embeddings(self) -> bool:
        return self.spec.serving is Serving.SIMILARITY

    # --- POST /inference ---------------------------------------------------------------------------------

    def inference(self, body: Any) -> Call:
        if not isinstance(body, dict) or "inputs" not in body:
            raise ApiError(BAD_INPUT, 'Send a JSON object {"inputs": ..., "parameters": {...}}.')
        params = body.get("parameters") or {}
        if not isinstance(params, dict):
            raise ApiError(BAD_INPUT, "parameters must be a JSON object.")
        # Feature extraction takes its parameters at the root of the body; "options" is a legacy hint.
        root = {key: value for key, value in body.items() if key not in ("inputs", "parameters", "options")}
        if root and not (self.serves_embeddings and not isinstance(body["inputs"], dict)):
            raise ApiError(BAD_INPUT, f"{sorted(root)[0]} is not supported: send parameters inside \"parameters\".")
        return self._formats[self.spec.api_name](body["inputs"], {**params, **root})  # type: ignore[index]

    def _prepare(self, raw: Sequence[object]) -> Prepared:
        try:
            return self.predictor.prepare(raw)
        except InputError as error:
            raise ApiError(BAD_INPUT, str(error)) from None

    def _clean(self, text: object, where: str) -> str:
        """One text cleaned exactly as a Demo text field is; the message says which one was bad."""
        try:
            return prepare(_TEXT, [text], self.predictor.limits).values[0]  # type: ignore[return-value]
        except InputError as error:
            raise ApiError(BAD_INPUT, f"{where}: {error}") from None

    def _similarity_or_features(self, inputs: Any, params: dict[str, Any]) -> Call:
        if isinstance(inputs, dict):
            _checked(params, {}, "parameters.")
            return self._similarity(inputs)
        return self._features(inputs, params)

    def _similarity(self, inputs: dict[str, Any]) -> Call:
        if set(inputs) != {"source_sentence", "sentences"}:
            raise ApiError(BAD_INPUT, 'inputs must be {"source_sentence": "...", "sentences": ["...", ...]}.')
        sentences = _texts("inputs.sentences", inputs["sentences"])
        # The Demo's candidates field holds one sentence a line: a line break inside a sentence is a space.
        lines = [sentence.replace("\n", " ") for sentence in sentences]
        keys = [self._clean(line, f"inputs.sentences[{i}]") for i, line in enumerate(lines)]
        prepared = self._prepare([inputs["source_sentence"], "\n".join(lines)])
        served = set(prepared.values[1])
        if not served.issuperset(keys):
            limit = self.predictor.limits.max_input_chars
            raise ApiError(BAD_INPUT, f"inputs.sentences: more than {limit:,} characters in all (MAX_INPUT_CHARS).")

        def answer(outcome: Outcome) -> list[float]:
            return [outcome.value[key] for key in keys]

        return Call(prepared, answer)

    def _features(self, inputs: Any, params: dict[str, Any]) -> Call:
        options = _checked(
            params,
            {
                "normalize": _one_of(True, why="embeddings are always unit length."),
                "truncate": _one_of(True, False, why="true or false."),
                "truncation_direction": _one_of("right", "Right", why="texts are cut at the end."),
            },
            "",
        )
        texts = self._text_list(inputs, "inputs")

        def answer(result: Vectors) -> list[list[float]]:
            self._refuse_cut(result, options.get("truncate", True), "inputs")
            return result.vectors

        return Call(Embedding(texts), answer)

    def _text_list(self, value: Any, name: str) -> tuple[str, ...]:
        if isinstance(value, str):
            value = [value]
        texts = _texts(name, value)
        if not texts:
            raise ApiError(BAD_INPUT, f"{name} is empty: give at least one text.")
        limits = self.predictor.limits
        if len(texts) > limits.max_embedding_inputs:
            raise ApiError(
                BAD_INPUT,
                f"{name}: {len(texts):,} texts given, at most {limits.max_embedding_inputs:,} allowed "
                "(MAX_EMBEDDING_INPUTS): send them in several requests.",
            )
        chars = sum(len(text) for text in texts)
        if chars > limits.max_embedding_chars:
            raise ApiError(
                BAD_INPUT,
                f"{name}: {chars:,} characters in all, at most {limits.max_embedding_chars:,} allowed "
                "(MAX_EMBEDDING_CHARS): send fewer texts per request.",
            )
        return tuple(self._clean(text, f"{name}[{i}]") for i, text in enumerate(texts))

    def _refuse_cut(self, result: Vectors, truncate: bool, name: str) -> None:
        if not truncate and any(result.cut):
            first = result.cut.index(True)
            raise ApiError(
                BAD_INPUT,
                f"{name}[{first}] is longer than the model's {self.predictor.model.max_tokens} tokens "
                "and truncate is false.",
            )

    @staticmethod
    def _single_text(inputs: Any) -> None:
        if not isinstance(inputs, str):
            raise ApiError(BAD_INPUT, f"inputs must be one text, not {type(inputs).__name__}.")

    def _text_classification(self, inputs: Any, params: dict[str, Any]) -> Call:
        self._single_text(inputs)
        options = _checked(
            params,
            {
                "top_k": _positive_int(10_000),
                "function_to_apply": _refused("scores are what the model's pipeline gives by default."),
            },
            "parameters.",
        )
        top_k = options.get("top_k")

        def answer(outcome: Outcome) -> list[list[dict[str, Any]]]:
            scores = [{"label": r["label"], "score": _float(r["score"])} for r in outcome.details]
            return [scores[:top_k]]

        return Call(self._prepare([inputs]), answer)

    def _zero_shot(self, inputs: Any, params: dict[str, Any]) -> Call:
        self._single_text(inputs)
        options = _checked(
            params,
            {
                "candidate_labels": _texts,
                "multi_label": _one_of(False, why="scores are shared among the labels (they sum to 1)."),
                "hypothesis_template": _one_of("This example is {}.", why="the template is fixed."),
            },
            "parameters.",
        )
        labels = options.get("candidate_labels")
        if labels is None:
            raise ApiError(BAD_INPUT, "parameters.candidate_labels is missing: give the labels to choose from.")
        # The Demo's labels field takes one label a line or comma-separated: a comma would make two labels.
        for i, label in enumerate(labels):
            if "," in label:
                raise ApiError(BAD_INPUT, f"parameters.candidate_labels[{i}] has a comma: labels here cannot.")

        def answer(outcome: Outcome) -> list[dict[str, Any]]:
            return [
                {"label": label, "score": _float(score)}
                for label, score in zip(outcome.details["labels"], outcome.details["scores"])
            ]

        return Call(self._prepare([inputs, "\n".join(label.replace("\n", " ") for label in labels)]), answer)

    def _token_classification(self, inputs: Any, params: dict[str, Any]) -> Call:
        self._single_text(inputs)
        options = _checked(
            params,
            {
                "aggregation_strategy": _one_of("simple", why="entities are grouped the simple way."),
                "ignore_labels": _texts,
                "stride": _refused("texts longer than the model reads are cut, not split."),
            },
            "parameters.",
        )
        ignored = set(options.get("ignore_labels", ()))

        def answer(outcome: Outcome) -> list[dict[str, Any]]:
            return [
                {
                    "entity_group": e["entity_group"],
                    "score": _float(e["score"]),
                    "word": e["word"],
                    "start": int(e["start"]),
                    "end": int(e["end"]),
                }
                for e in outcome.details
                if e["entity_group"] not in ignored
            ]

        return Call(self._prepare([inputs]), answer)

    def _fill_mask(self, inputs: Any, params: dict[str, Any]) -> Call:
        self._single_text(inputs)
        options = _checked(
            params,
            {
                "top_k": _positive_int(RANKING_TOP_K),
                "targets": _refused("the whole vocabulary is ranked."),
            },
            "parameters.",
        )
        top_k = options.get("top_k", RANKING_TOP_K)

        def answer(outcome: Outcome) -> list[dict[str, Any]]:
            if outcome.details is None:  # the mask was cut off with the end of a long text
                raise ApiError(BAD_INPUT, outcome.notes.splitlines()[-1].removeprefix("- "))
            return [
                {
                    "score": _float(r["score"]),
                    "token": int(r["token"]),
                    "token_str": r["token_str"],
                    "sequence": r["sequence"],
                }
                for r in outcome.details[:top_k]
            ]

        return Call(self._prepare([inputs]), answer)

    # --- POST /v1/embeddings (OpenAI) -----------------------------------------------------------------------

    def embeddings(self, body: Any) -> Call:
        if not isinstance(body, dict) or "input" not in body:
            raise ApiError(BAD_INPUT, 'Send a JSON object {"input": "..." or ["...", ...], "model": "..."}.')
        options = _checked(
            {key: value for key, value in body.items() if key != "input"},
            {
                "model": _any_text,
                "user": _any_text,
                "encoding_format": _one_of("float", "base64", why='use "float" or "base64".'),
                "dimensions": _positive_int(100_000),
            },
            "",
        )
        value = body["input"]
        if isinstance(value, list) and value and not all(isinstance(item, str) for item in value):
            raise ApiError(
                BAD_INPUT,
                "input must be a text or a list of texts: token ids are not accepted here, since ids from another "
                "tokenizer (tiktoken's) mean nothing to this model. LangChain's OpenAIEmbeddings sends them by "
                "default: create it with check_embedding_ctx_length=False.",
            )
        texts = self._text_list(value, "input")
        encoding = options.get("encoding_format", "float")
        dimensions = options.get("dimensions")
        model_name = self.predictor.model.source.name

        def answer(result: Vectors) -> dict[str, Any]:
            size = len(result.vectors[0])
            if dimensions is not None and dimensions != size:
                raise ApiError(BAD_INPUT, f"dimensions={dimensions} is not supported here: this model gives {size}.")
            tokens = sum(result.tokens)
            return {
                "object": "list",
                "data": [
                    {"object": "embedding", "index": i, "embedding": _encode(vector, encoding)}
                    for i, vector in enumerate(result.vectors)
                ],
                "model": model_name,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }

        return Call(Embedding(texts, count_tokens=True), answer)


def _any_text(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ApiError(BAD_INPUT, f"{name} must be text.")
    return value


def _encode(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "base64":  # what the OpenAI SDK asks for by default: little-endian float32 bytes
        return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
    return vector
