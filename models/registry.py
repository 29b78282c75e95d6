"""The tasks the Demo can serve: their inputs, output, examples, how each is served, and how to tell a
model's task. Everything that differs between tasks is a field here: a new task is one TaskSpec."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Any

RANKING_TOP_K = 10
"""Most guesses a ranking of the whole vocabulary (fill-mask) shows."""


class TaskError(ValueError):
    """TASK names nothing this template serves, or the model's task cannot be told."""


class FieldKind(str, Enum):
    TEXT = "text"
    """Free text."""
    LIST = "list"
    """One item per line."""


class OutputKind(str, Enum):
    RANKING = "ranking"
    """Scores per label or candidate, best first (a gr.Label)."""
    ENTITIES = "entities"
    """The input text with spans marked (a gr.HighlightedText)."""
    TEXT = "text"
    """Generated text, streamed (a gr.Textbox)."""


class Serving(str, Enum):
    """How a batch of one task's requests is served (models/inference.py, models/remote.py)."""

    SIMILARITY = "similarity"
    """Each distinct text embedded once; each request's candidates ranked by cosine to its source."""
    PIPELINE = "pipeline"
    """The pipeline over every request's one text, in one call."""
    EACH = "each"
    """One pipeline call per request: its own parameters (zero-shot's candidate labels) cannot be batched."""
    STREAM = "stream"
    """Token by token, one visitor per call."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    """Parameter name in the API, e.g. "source"."""
    label: str
    """What a visitor reads above the box, e.g. "Source sentence"."""
    kind: FieldKind
    placeholder: str
    lines: int = 2
    split_commas: bool = False
    """For LIST fields: commas separate items too (labels), not only new lines (sentences)."""


@dataclass(frozen=True)
class TaskSpec:
    name: str
    """What TASK is set to, e.g. "sentence-similarity"."""
    pipeline_task: str
    """The transformers pipeline task behind it, e.g. "feature-extraction"."""
    title: str
    description: str
    inputs: tuple[FieldSpec, ...]
    output: OutputKind
    output_label: str
    examples: tuple[tuple[str, ...], ...]
    serving: Serving = Serving.PIPELINE
    pipeline_options: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    """Keyword arguments of every pipeline call, e.g. {"aggregation_strategy": "simple"}."""
    shape: Callable[[str, Any], Any] | None = None
    """(text, the pipeline's answer for it) -> what the output component shows."""
    mask: bool = False
    """The text must hold exactly one mask token (models/inputs.py)."""
    reads_text_per_label: bool = False
    """The model reads the text once per candidate label (NLI): ZeroGPU sizes its GPU time by it."""
    onnx: bool = False
    """The ONNX CPU path serves it (models/cpu_runtime.py): the embedding is pooled inside the exported graph."""
    api_name: str | None = None
    """Its name in the Hugging Face Inference API, e.g. "text_classification": the InferenceClient method that
    asks a backend (models/remote.py) and the request format /inference takes (models/inference_api.py).
    None: not served through the Inference API (streamed generation)."""
    engine_names: tuple[str, ...] = ()
    """What a serving engine's GET /info calls such a model: TEI's `model_type` key ("embedding") or a Hub
    pipeline tag (TGI's `model_pipeline_tag`) other than the task's name, e.g. "feature-extraction"."""

    @property
    def streaming(self) -> bool:
        """Streamed token by token instead of batched across visitors."""
        return self.serving is Serving.STREAM


def _label_scores(text: str, answer: Any) -> dict[str, float]:
    ranked = sorted(answer, key=lambda element: float(element["score"]), reverse=True)
    return {element["label"]: round(float(element["score"]), 4) for element in ranked}


def _zero_shot_scores(text: str, answer: Any) -> dict[str, float]:
    return {label: round(float(score), 4) for label, score in zip(answer["labels"], answer["scores"])}


def _entities(text: str, answer: Any) -> dict[str, Any]:
    # A backend without aggregation names each token's `entity` instead of the group's.
    entities = [
        {"entity": e.get("entity_group") or e.get("entity"), "start": int(e["start"]), "end": int(e["end"])}
        for e in answer
    ]
    return {"text": text, "entities": entities}


def _token_scores(text: str, answer: Any) -> dict[str, float]:
    return {r["token_str"].strip() or r["token_str"]: round(float(r["score"]), 4) for r in answer}


_TEXT = FieldSpec("text", "Text", FieldKind.TEXT, "Type or paste text", lines=4)

TASKS: Mapping[str, TaskSpec] = {
    spec.name: spec
    for spec in (
        TaskSpec(
            name="sentence-similarity",
            pipeline_task="feature-extraction",
            title="Sentence similarity",
            description="Ranks the candidates by cosine similarity of their embeddings to the source sentence.",
            inputs=(
                FieldSpec("source", "Source sentence", FieldKind.TEXT, "A sentence to compare", lines=2),
                FieldSpec("candidates", "Candidates, one per line", FieldKind.LIST, "One sentence per line", lines=5),
            ),
            output=OutputKind.RANKING,
            output_label="Cosine similarity, most similar first",
            serving=Serving.SIMILARITY,
            onnx=True,
            api_name="sentence_similarity",
            engine_names=("embedding", "feature-extraction"),
            examples=(
                (
                    "A man is playing a guitar.",
                    "Someone is strumming a guitar.\nA woman is slicing vegetables.\n"
                    "A person plays music on stage.\nThe stock market fell today.",
                ),
                (
                    "How do I reset my password?",
                    "I forgot my login credentials.\nWhat is the weather tomorrow?\n"
                    "Steps to change an account password\nBest pizza places nearby",
                ),
                (
                    "The GPU is not detected by PyTorch.",
                    "torch.cuda.is_available() returns False\nMy cat sleeps all day.\n"
                    "CUDA driver version is insufficient\nHow to bake sourdough bread",
                ),
            ),
        ),
        TaskSpec(
            name="text-classification",
            pipeline_task="text-classification",
            title="Text classification",
            description="Scores the text against the model's labels.",
            inputs=(_TEXT,),
            output=OutputKind.RANKING,
            output_label="Labels",
            examples=(("I love this template, it works out of the box!",), ("The build failed again.",)),
            pipeline_options=MappingProxyType({"top_k": None}),
            shape=_label_scores,
            api_name="text_classification",
            engine_names=("classifier",),
        ),
        TaskSpec(
            name="zero-shot-classification",
            pipeline_task="zero-shot-classification",
            title="Zero-shot classification",
            description="Scores the text against labels you choose, with an NLI model.",
            inputs=(_TEXT, FieldSpec("labels", "Candidate labels, one per line or comma-separated", FieldKind.LIST,
                                     "sports, politics, technology", lines=3, split_commas=True)),
            output=OutputKind.RANKING,
            output_label="Labels",
            examples=(("The new GPU doubles training speed.", "technology, sports, cooking"),),
            serving=Serving.EACH,
            pipeline_options=MappingProxyType({"multi_label": False}),
            shape=_zero_shot_scores,
            reads_text_per_label=True,
            api_name="zero_shot_classification",
        ),
        TaskSpec(
            name="token-classification",
            pipeline_task="token-classification",
            title="Named entities",
            description="Marks the entities the model finds in the text.",
            inputs=(_TEXT,),
            output=OutputKind.ENTITIES,
            output_label="Entities",
            examples=(("Hugging Face is based in New York and Paris.",),),
            pipeline_options=MappingProxyType({"aggregation_strategy": "simple"}),
            shape=_entities,
            api_name="token_classification",
        ),
        TaskSpec(
            name="fill-mask",
            pipeline_task="fill-mask",
            title="Fill the mask",
            description="Guesses the word hidden by [MASK].",
            inputs=(FieldSpec("text", "Text with one [MASK]", FieldKind.TEXT, "Paris is the [MASK] of France."),),
            output=OutputKind.RANKING,
            output_label="Best guesses",
            examples=(("Paris is the [MASK] of France.",),),
            pipeline_options=MappingProxyType({"top_k": RANKING_TOP_K}),
            shape=_token_scores,
            mask=True,
            api_name="fill_mask",
        ),
        TaskSpec(
            name="text-generation",
            pipeline_task="text-generation",
            title="Text generation",
            description="Continues the prompt, token by token.",
            inputs=(FieldSpec("prompt", "Prompt", FieldKind.TEXT, "Once upon a time", lines=4),),
            output=OutputKind.TEXT,
            output_label="Continuation",
            examples=(("Once upon a time, a GPU",),),
            serving=Serving.STREAM,
        ),
    )
}

DEFAULT_TASK = "sentence-similarity"


def get_task(name: str) -> TaskSpec:
    try:
        return TASKS[name]
    except KeyError:
        raise TaskError(f"TASK={name!r} is not supported; set TASK to one of: {', '.join(TASKS)}.") from None


def task_for_engine(name: str) -> TaskSpec | None:
    """The task of a model a serving engine's /info names `name` (its task name or one of `engine_names`)."""
    return next((spec for spec in TASKS.values() if name == spec.name or name in spec.engine_names), None)


def infer_task(architectures: Sequence[str] | None, label_names: Sequence[str] = ()) -> str:
    """The task a model's config points to, from its architecture names (and NLI labels for zero-shot)."""
    for arch in architectures or ():
        if arch.endswith("ForSequenceClassification"):
            if any(label.lower() == "entailment" for label in label_names):
                return "zero-shot-classification"
            return "text-classification"
        if arch.endswith("ForTokenClassification"):
            return "token-classification"
        if arch.endswith("ForMaskedLM"):
            return "fill-mask"
        if arch.endswith(("ForCausalLM", "LMHeadModel")):
            return "text-generation"
        if arch.endswith("Model"):
            return "sentence-similarity"
    raise TaskError(
        f"Cannot tell the task of a model with architectures {list(architectures or [])}: "
        f"set TASK to one of: {', '.join(TASKS)}."
    )
