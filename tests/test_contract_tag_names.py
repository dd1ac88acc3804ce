"""Contract: tag names and text operands are data, never storage operators.

On MongoDB a tag path becomes a field path of the server's filter and a text operand a
regular expression; names such as ``$where``, ``$regex`` or ``$gt`` and dotted names must stay
literal tag names, and regular-expression syntax in an operand literal text, on every storage.
"""

import pytest
from helpers import ALL_VALUE, G

from datastream.tagquery import Condition

OPERATOR_NAMES = ["$where", "$regex", "$gt", "$ne", "$exists", "a.b", "$", "."]


def _stream(ds, n, tags):
    return ds.ensure_stream({"n": n}, tags, ALL_VALUE, G.Seconds)


@pytest.mark.parametrize("name", OPERATOR_NAMES)
def test_tag_names_that_look_like_operators_are_literal_names(ds, name):
    literal = _stream(ds, 0, {name: "x", "nested": {name: 1}})
    _stream(ds, 1, {"other": "x", "nested": {"other": 1}})
    _stream(ds, 2, {"x": {"$gt": 0}} if name != "$gt" else {"x": 5})
    assert ds.get_tags(literal)[name] == "x"
    assert [s["stream_id"] for s in ds.find_streams({name: "x"})] == [literal]
    assert [s["stream_id"] for s in ds.find_streams({"nested": {name: 1}})] == [literal]
    assert [s["stream_id"] for s in ds.find_streams({name: {"exists": True}})] == [literal]
    assert [s["stream_id"] for s in ds.find_streams({name: {"contains": "x"}})] == [literal]
    assert len(ds.find_streams({name: {"exists": False}})) == 2


def test_an_operator_in_a_tag_value_is_a_literal_value(ds):
    dollar = _stream(ds, 0, {"x": {"$gt": 0}})
    number = _stream(ds, 1, {"x": 5})
    assert [s["stream_id"] for s in ds.find_streams({"x": {"$gt": 0}})] == [dollar]
    assert [s["stream_id"] for s in ds.find_streams({"x": {"gt": 0}})] == [number]


@pytest.mark.parametrize("operator", ["contains", "startswith", "endswith", "icontains"])
def test_regular_expression_syntax_in_text_operands_is_literal(ds, operator):
    special = _stream(ds, 0, {"title": ".*+?()[]{}|^$\\"})
    _stream(ds, 1, {"title": "anything at all"})
    found = ds.find_streams({"title": {operator: ".*+?()[]{}|^$\\"}})
    assert [s["stream_id"] for s in found] == [special]


@pytest.mark.parametrize("operator", ["contains", "icontains", "startswith"])
def test_long_text_patterns_are_answered_by_the_storage(ds, operator):
    # 600 regex-special characters: 1,200 once escaped, beyond what servers take as a pattern.
    # Storage level, beneath the query parser's own length limit.
    text = "*." * 300
    match = _stream(ds, 0, {"title": text + " tail"})
    _stream(ds, 1, {"title": "*." * 299})
    records = ds.backend.list_streams([Condition(("title",), operator, text)])
    assert [r["stream_id"] for r in records] == [match]
