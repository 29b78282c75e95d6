from __future__ import annotations

import pytest

from models.inputs import InputError, Limits, prepare
from models.registry import get_task

LIMITS = Limits(max_input_chars=100, max_candidates=3)
SIMILARITY = get_task("sentence-similarity")


def test_text_is_stripped_and_candidates_split_per_line():
    prepared = prepare(SIMILARITY, ["  A cat. ", "one\n\n two \nthree"], LIMITS)
    assert prepared.values == ("A cat.", ("one", "two", "three"))
    assert prepared.notes == ()


@pytest.mark.parametrize("source", ["", "   \n\t ", None])
def test_empty_text_is_refused_with_the_field_named(source):
    with pytest.raises(InputError, match="Source sentence is empty"):
        prepare(SIMILARITY, [source, "a"], LIMITS)


def test_non_text_is_refused():
    with pytest.raises(InputError, match="must be text, not list"):
        prepare(SIMILARITY, [["a"], "b"], LIMITS)


def test_control_characters_are_removed_and_reported():
    prepared = prepare(SIMILARITY, ["a\x00b\x1bc\u0085", "x"], LIMITS)
    assert prepared.values[0] == "abc"
    assert prepared.notes == ("Source sentence: removed 3 control character(s).",)


def test_long_text_is_cut_and_the_caller_told():
    prepared = prepare(SIMILARITY, ["word " * 1000, "x"], LIMITS)
    assert len(prepared.values[0]) <= 100
    assert "cut from 4,999 to 100 characters (MAX_INPUT_CHARS)" in prepared.notes[0]


def test_too_many_candidates_are_refused_not_silently_dropped():
    with pytest.raises(InputError, match="4 given, at most 3 allowed"):
        prepare(SIMILARITY, ["a", "1\n2\n3\n4"], LIMITS)


def test_repeated_candidates_are_ranked_once():
    prepared = prepare(SIMILARITY, ["a", "same\nsame\nother"], LIMITS)
    assert prepared.values[1] == ("same", "other")
    assert any("repeated" in note for note in prepared.notes)


def test_zero_shot_labels_split_on_commas_too():
    prepared = prepare(get_task("zero-shot-classification"), ["text", "sports, politics\ntech"], LIMITS)
    assert prepared.values[1] == ("sports", "politics", "tech")


@pytest.mark.parametrize("text", ["Paris is the [MASK].", "Paris is the <mask>."])
def test_any_mask_spelling_becomes_the_models_mask(text):
    prepared = prepare(get_task("fill-mask"), [text], LIMITS, mask_token="<special-mask>")
    assert prepared.values == ("Paris is the <special-mask>.",)


@pytest.mark.parametrize(("text", "found"), [("no mask here", 0), ("[MASK] and [MASK]", 2)])
def test_fill_mask_needs_exactly_one_mask(text, found):
    with pytest.raises(InputError, match=f"found {found}"):
        prepare(get_task("fill-mask"), [text], LIMITS, mask_token="[MASK]")


def test_a_wrong_number_of_inputs_is_refused():
    with pytest.raises(InputError, match="Expected 2 inputs"):
        prepare(SIMILARITY, ["only one"], LIMITS)


def test_lone_surrogates_are_removed_and_reported():
    # Valid JSON ("x\ud800") that the Rust tokenisers refuse, failing every request batched with it.
    prepared = prepare(SIMILARITY, ["x\ud800y", "a\udfff\nb"], LIMITS)
    assert prepared.values == ("xy", ("a", "b"))
    assert prepared.notes == (
        "Source sentence: removed 1 character(s) that are not valid Unicode (lone surrogates).",
        "Candidates, one per line: removed 1 character(s) that are not valid Unicode (lone surrogates).",
    )


def test_text_of_nothing_but_surrogates_is_empty():
    with pytest.raises(InputError, match="Source sentence is empty"):
        prepare(SIMILARITY, ["\ud800\udc00 ", "a"], LIMITS)


@pytest.mark.parametrize("value", [12, 1.5, True, {"text": "a"}, ["a", "b"], b"bytes"])
def test_anything_but_text_is_refused_with_its_type(value):
    with pytest.raises(InputError, match=f"Source sentence must be text, not {type(value).__name__}"):
        prepare(SIMILARITY, [value, "a"], LIMITS)


def test_candidates_are_counted_before_the_text_is_cut():
    candidates = "\n".join(f"candidate {i}" for i in range(10_000))
    with pytest.raises(InputError, match="10,000 given, at most 3 allowed"):
        prepare(SIMILARITY, ["a", candidates], LIMITS)


def test_long_candidates_are_cut_to_max_input_chars():
    prepared = prepare(SIMILARITY, ["a", "short\n" + "long " * 100], LIMITS)
    assert sum(map(len, prepared.values[1])) <= LIMITS.max_input_chars
    assert prepared.values[1][0] == "short"
    assert "Candidates, one per line was cut from 505 to 100 characters" in prepared.notes[0]


def test_every_code_point_that_survives_cleaning_can_be_tokenised_by_the_default_model():
    from transformers import AutoTokenizer

    from models.loader import embedded_model_dir

    tokenizer = AutoTokenizer.from_pretrained(embedded_model_dir())
    # Every 7th code point, all surrogates and noncharacters, and a 10,000-character "word".
    code_points = {*range(0, 0x110000, 7), *range(0xD800, 0xE000), *range(0xFDD0, 0xFDF0), 0xFFFE, 0xFFFF, 0x10FFFF}
    text = "".join(map(chr, sorted(code_points)))
    roomy = Limits(max_input_chars=len(text), max_candidates=3)
    prepared = prepare(SIMILARITY, [text, "x" * 10_000 + "\ud800"], roomy)
    assert "\ud800" not in prepared.values[0]
    encoded = tokenizer([prepared.values[0], *prepared.values[1]], padding=True, truncation=True, max_length=256)
    assert len(encoded["input_ids"]) == 2
