"""Turn what a visitor or API caller sent into clean model inputs, or one clear message per bad field."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from models.registry import FieldKind, FieldSpec, TaskSpec

# C0/C1 control characters except tab and the line breaks: they break tokenisers and terminals alike.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# Lone UTF-16 surrogates: valid JSON ("\ud800"), e.g. from a client that cut an emoji in half, but not text:
# the Rust tokenisers refuse the whole batch they arrive in. Paired ones never reach here (JSON joins them).
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# What visitors type for "the mask", whatever the model's own mask token is.
MASK_SPELLINGS = ("[MASK]", "<mask>")


class InputError(ValueError):
    def __init__(self, field: FieldSpec, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Limits:
    max_input_chars: int
    """Characters kept per field (MAX_INPUT_CHARS)."""
    max_candidates: int
    """Items allowed in a list field (MAX_CANDIDATES)."""
    max_embedding_inputs: int = 2048
    """Texts one embeddings request may send (MAX_EMBEDDING_INPUTS)."""
    max_embedding_chars: int = 1_000_000
    """Characters one embeddings request may send in all (MAX_EMBEDDING_CHARS)."""


@dataclass(frozen=True)
class Prepared:
    values: tuple[str | tuple[str, ...], ...]
    """One per task input: cleaned text, or a tuple of items for list fields."""
    notes: tuple[str, ...]
    """What was changed on the way, told to the caller, e.g. "Text was cut to 10000 characters"."""


def _clean_text(value: object, field: FieldSpec, notes: list[str]) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InputError(field, f"{field.label} must be text, not {type(value).__name__}.")
    text, removed = _CONTROL.subn("", value)
    if removed:
        notes.append(f"{field.label}: removed {removed} control character(s).")
    text, removed = _SURROGATE.subn("", text)
    if removed:
        notes.append(f"{field.label}: removed {removed} character(s) that are not valid Unicode (lone surrogates).")
    text = text.strip()
    if not text:
        raise InputError(field, f"{field.label} is empty: type some text.")
    return text


def _cut(text: str, field: FieldSpec, limits: Limits, notes: list[str]) -> str:
    if len(text) <= limits.max_input_chars:
        return text
    notes.append(
        f"{field.label} was cut from {len(text):,} to {limits.max_input_chars:,} characters (MAX_INPUT_CHARS)."
    )
    return text[: limits.max_input_chars].rstrip()


def _items(text: str, field: FieldSpec) -> tuple[tuple[str, ...], bool]:
    """Distinct non-empty items of a list field, in order, and whether repeats were dropped."""
    pieces = [p.strip() for p in re.split(r"[\n,]" if field.split_commas else r"\n", text)]
    given = [p for p in pieces if p]
    items = tuple(dict.fromkeys(given))
    return items, len(items) < len(given)


def _split_items(text: str, field: FieldSpec, limits: Limits, notes: list[str]) -> tuple[str, ...]:
    # Counted before MAX_INPUT_CHARS cuts the text: "10,000 given", not however many fit in the cut.
    items, repeated = _items(text, field)
    if not items:
        raise InputError(field, f"{field.label} is empty: give at least one, one per line.")
    if len(items) > limits.max_candidates:
        raise InputError(
            field, f"{field.label}: {len(items):,} given, at most {limits.max_candidates} allowed (MAX_CANDIDATES)."
        )
    if repeated:
        notes.append(f"{field.label}: dropped repeated entries.")
    cut = _cut(text, field, limits, notes)
    return items if cut == text else _items(cut, field)[0]


def _one_mask(text: str, field: FieldSpec, mask_token: str) -> str:
    for spelling in MASK_SPELLINGS:
        text = text.replace(spelling, mask_token)
    count = text.count(mask_token)
    if count != 1:
        raise InputError(field, f"{field.label}: needs exactly one [MASK], found {count}.")
    return text


def _prepare_field(
    spec: TaskSpec, field: FieldSpec, value: object, limits: Limits, mask_token: str | None, notes: list[str]
) -> str | tuple[str, ...]:
    text = _clean_text(value, field, notes)
    if field.kind is FieldKind.LIST:
        return _split_items(text, field, limits, notes)
    text = _cut(text, field, limits, notes)
    if spec.mask and mask_token:
        return _one_mask(text, field, mask_token)
    return text


def _check_arity(spec: TaskSpec, raw: Sequence[object]) -> None:
    if len(raw) != len(spec.inputs):
        names = ", ".join(f.name for f in spec.inputs)
        raise InputError(spec.inputs[0], f"Expected {len(spec.inputs)} inputs ({names}), got {len(raw)}.")


def prepare(spec: TaskSpec, raw: Sequence[object], limits: Limits, mask_token: str | None = None) -> Prepared:
    """Clean every field of one request; raises InputError naming the first bad field."""
    _check_arity(spec, raw)
    notes: list[str] = []
    values = tuple(_prepare_field(spec, f, v, limits, mask_token, notes) for f, v in zip(spec.inputs, raw))
    return Prepared(values, tuple(notes))
