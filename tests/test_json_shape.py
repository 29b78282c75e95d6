"""json_shape counts what a JSON parser would build, without parsing: strings and their escapes included."""

from __future__ import annotations

import json

import pytest

from http_guard import JsonShape, json_shape, json_shape_problem


def parsed_shape(value: object, depth: int = 0) -> JsonShape:
    if not isinstance(value, (list, dict)):
        return JsonShape(depth, 0)
    inner = [parsed_shape(item, depth + 1) for item in (value.values() if isinstance(value, dict) else value)]
    return JsonShape(max([depth + 1, *(shape.depth for shape in inner)]), 1 + sum(shape.containers for shape in inner))


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        42,
        [],
        {"a": "[[[\\\"{{", "b": [[], {"c": "\\\\"}, "]]"]},
        'x\\\\"[',
        [1, [2, [3, "\\"]]],
        {'k\\"[': [{}], "\\\\": {"\\\\\\": [[]]}},
        {"inputs": ["a text with \"quotes\", [brackets] and {braces}"] * 50},
    ],
)
def test_the_shape_is_what_parsing_builds(value):
    assert json_shape(json.dumps(value).encode()) == parsed_shape(value)


def test_a_body_of_empty_lists_and_a_deep_one_are_refused_and_an_honest_one_is_not():
    assert json_shape_problem(b"[" + b"[]," * 20_000 + b"[]]", 32, 10_000) == (
        "The JSON holds more than 10,000 arrays and objects."
    )
    assert json_shape_problem(b"[" * 40 + b"]" * 40, 32, 10_000) == "The JSON nests deeper than 32 levels."
    honest = json.dumps({"inputs": ["[[[[ text in brackets ]]]] {{{{"] * 2048}).encode()
    assert json_shape_problem(honest, 32, 10_000) is None
