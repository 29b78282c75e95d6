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
