"""The Predictor contract: what the Demo tab, the Batcher, the lean JSON routes and MCP ask of whatever serves
the model, and the results it gives. Three implement it: models/inference.py `Predictor` (a model loaded
here), models/dispatch.py `PredictorPool` (a copy per GPU), models/remote.py `RemotePredictor` (INFERENCE_URL).

Also the two steps every implementation shares: the notes told to a caller, and similarity as ranking by
cosine of embeddings, each distinct text embedded once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from models.inputs import Limits, Prepared
from models.registry import TaskSpec

if TYPE_CHECKING:
    from models.backend_calls import Waiting


@dataclass(frozen=True)
class Outcome:
    value: Any
    """What the output component shows: {label: score}, {"text", "entities"} or text."""
    notes: str
    """What the caller should know about their input (cut, cleaned), as Markdown; empty when nothing."""
    details: Any = None
    """The pipeline's own answer for this request, unrounded (e.g. fill-mask's token ids), for API routes
    that speak the pipeline's format; None where `value` says it all (similarity) or nothing was run."""


@dataclass(frozen=True)
class Failed:
    """A batch result that is not an answer: what went wrong, for this visitor only."""

    message: str
    title: str = "The model's server"


@dataclass(frozen=True)
class Embeddings:
    """Unit-length embeddings of some texts, in order.

    numpy, not torch: every consumer wants numpy (the JSON routes' lists and base64 float32, the ONNX runtime,
    a backend's answer as huggingface_hub reads it), and a contract in numpy needs no torch to be imported."""

    vectors: np.ndarray
    """float32, shape (texts, dimensions)."""
    cut: list[bool] | None
    """Which texts were longer than the model reads and were cut; None when not known (a backend cuts
    silently)."""
    tokens: list[int] | None
    """Tokens per text as the model read it; None when not known (a backend's tokenizer is not here)."""


class ServedModel(Protocol):
    @property
    def spec(self) -> TaskSpec: ...

    @property
    def source(self) -> Any:
        """Has `.name`: what visitors read for the model, e.g. "sentence-transformers/all-MiniLM-L6-v2"."""


class Predictor(Protocol):
    # Read-only properties: an implementation may hold them as attributes or compute them (PredictorPool).
    @property
    def model(self) -> ServedModel: ...

    @property
    def limits(self) -> Limits: ...

    @property
    def max_new_tokens(self) -> int: ...

    @property
    def copies(self) -> int:
        """Batches that can run at once (one per copy of the model)."""

    @property
    def runs_here(self) -> bool:
        """The model runs in this process: the lean JSON routes serve only such a model (with INFERENCE_URL,
        callers are better served by the server itself)."""

    @property
    def starts_cold(self) -> bool:
        """Calls may wait for the model to start (a backend scaled to zero): visitors are shown `waiting`."""

    @property
    def waiting(self) -> Waiting | None:
        """Set while a batch waits for the model to start: what progress visitors are shown."""

    @property
    def mask_token(self) -> str | None: ...

    def prepare(self, raw: Sequence[object]) -> Prepared: ...

    def predict_batch(self, prepared: Sequence[Prepared]) -> Sequence[Outcome | Failed]:
        """One result per prepared request, in order; a Failed fails only its own visitor."""

    def embed(self, texts: Sequence[str]) -> Embeddings: ...

    def stream(self, prepared: Prepared) -> Iterator[Outcome]:
        """The continuation so far, after each new piece (tasks with `streaming`)."""

    def where_it_runs(self) -> str:
        """One line of Markdown for visitors: the model, and the hardware or server it runs on."""


def notes(prepared: Prepared, extra: Sequence[str] = ()) -> str:
    """What a caller is told about their input, as a Markdown list; empty when nothing."""
    return "\n".join(f"- {note}" for note in (*prepared.notes, *extra))


def truncation_note(count: int, max_tokens: int) -> list[str]:
    if not count:
        return []
    return [f"{count} text(s) longer than the model's {max_tokens} tokens were cut to fit."]


def rank_by_similarity(
    prepared: Sequence[Prepared], embed: Callable[[Sequence[str]], Embeddings], max_tokens: int = 0
) -> list[Outcome]:
    """Each request's candidates ranked by cosine similarity to its source, most similar first; texts the
    model cut (read `max_tokens` of) are told in the notes when `embed` knows them."""
    # Visitors often send the same sentences (the examples): embed each distinct text once.
    index: dict[str, int] = {}
    for p in prepared:
        source, candidates = p.values
        for text in (source, *candidates):
            index.setdefault(text, len(index))
    embedded = embed(list(index))
    vectors, cut = embedded.vectors, embedded.cut
    outcomes = []
    for p in prepared:
        source, candidates = p.values
        scores = vectors[[index[c] for c in candidates]] @ vectors[index[source]]
        ranked = sorted(zip(candidates, scores.tolist()), key=lambda pair: pair[1], reverse=True)
        cut_here = sum(cut[index[text]] for text in {source, *candidates}) if cut is not None else 0
        told = notes(p, truncation_note(cut_here, max_tokens))
        outcomes.append(Outcome({c: round(s, 4) for c, s in ranked}, told))
    return outcomes
