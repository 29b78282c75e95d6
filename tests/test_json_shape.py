"""JsonShapeScan counts what a JSON parser would build, without parsing, however the text is cut into pieces."""

from __future__ import annotations

import json

import pytest

from http_guard import JsonShape, JsonShapeScan, json_shape


def parsed_shape(value: object, depth: int = 0) -> JsonShape:
    if not isinstance(value, (list, dict)):
        return JsonShape(depth, 0)
    inner = [parsed_shape(item, depth + 1) for item in (value.values() if isinstance(value, dict) else value)]
    return JsonShape(max([depth + 1, *(shape.depth for shape in inner)]), 1 + sum(shape.containers for shape in inner))


VALUES = [
    "plain",
    42,
    [],
    {"a": "[[[\\\"{{", "b": [[], {"c": "\\\\"}, "]]"]},
    'x\\\\"[',
    [1, [2, [3, "\\"]]],
    {'k\\"[': [{}], "\\\\": {"\\\\\\": [[]]}},
    {"inputs": ["a text with \"quotes\", [brackets] and {braces}"] * 50},
]


@pytest.mark.parametrize("value", VALUES)
def test_the_shape_is_what_parsing_builds(value):
    assert json_shape(json.dumps(value).encode()) == parsed_shape(value)


@pytest.mark.parametrize("value", VALUES[3:7])
def test_the_shape_is_the_same_whatever_the_pieces(value):
    text = json.dumps(value).encode()
    for size in (1, 2, 3, 5):
        scan = JsonShapeScan(0, 0)  # limits of 0: every piece is scanned as it comes
        for start in range(0, len(text), size):
            scan.feed(text[start : start + size])
        assert scan.shape == parsed_shape(value), size


def test_a_body_of_empty_lists_is_refused_at_its_first_piece_over_the_limit():
    scan = JsonShapeScan(32, 10_000)
    piece = b"[]," * 4_000
    assert scan.feed(b"[" + piece) is None
    assert scan.feed(piece) is None
    assert scan.feed(piece) == "The JSON holds more than 10,000 arrays and objects."


def test_a_deep_body_is_refused_and_an_honest_one_is_not():
    assert JsonShapeScan(32, 10_000).feed(b"[" * 40 + b"]" * 40) == "The JSON nests deeper than 32 levels."
    honest = json.dumps({"inputs": ["[[[[ text in brackets ]]]] {{{{"] * 2048}).encode()
    assert JsonShapeScan(32, 10_000).feed(honest) is None
