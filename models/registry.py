"""The tasks the Demo can serve: their inputs, output, examples, and how to tell a model's task."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum


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
    streaming: bool = False
    """Streamed token by token instead of batched across visitors."""


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
            streaming=True,
        ),
    )
}

DEFAULT_TASK = "sentence-similarity"


def get_task(name: str) -> TaskSpec:
    try:
        return TASKS[name]
    except KeyError:
        raise TaskError(f"TASK={name!r} is not supported; set TASK to one of: {', '.join(TASKS)}.") from None


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
