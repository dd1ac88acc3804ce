"""Query-string parsing on its own (no HTTP)."""

from __future__ import annotations

import datetime
import itertools
import urllib.parse

import pytest
from django.http import QueryDict
from hypothesis import example, given, settings
from hypothesis import strategies as st

from datastream import Granularity
from datastream.tagquery import matches, parse_query
from django_datastream.params.parse import (
    DEFAULT_START,
    FALSE_WORDS,
    MAX_TAG_DEPTH,
    TRUE_WORDS,
    QueryError,
    coerce_filter_value,
    combine_tag_queries,
    parse_boolean,
    parse_chart_options,
    parse_detail_query,
    parse_tag_filters,
)

UTC = datetime.UTC


def q(text: str) -> QueryDict:
    return QueryDict(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True), ("True", True), ("false", False), ("False", False), ("none", None),
        ("None", None), ("null", None), ("1", 1), ("-7", -7), ("+3", 3), ("1.5", 1.5),
        ("-.5", -0.5), ("1e3", 1000.0), ("007", 7), ("TRUE", "TRUE"), ("nan", "nan"),
        ("inf", "inf"), ("1e999", "1e999"), ("1_000", "1_000"), (" 1", " 1"), ("٣", "٣"),
        (str(2**63), str(2**63)), (str(-(2**63)), -(2**63)), ("", ""), ("abc", "abc"),
    ],
)  # fmt: skip
def test_coerce_filter_value(text, value):
    assert coerce_filter_value(text) == value
    assert type(coerce_filter_value(text)) is type(value)


def test_tag_filters_nest_and_merge():
    assert parse_tag_filters(q("")) is None
    assert parse_tag_filters(q("limit=5&format=json&tagsx=1")) is None
    assert parse_tag_filters(
        q("tags__a__b=1&tags__a__c__gte=2&tags__a__c__lt=5&tags__d__in=x,1&tags__d__in=null")
    ) == {"a": {"b": 1, "c": {"gte": 2, "lt": 5}}, "d": {"in": ["x", 1, None]}}
    assert parse_tag_filters(q("tags__a=1&tags__a=2")) == {"a": 2}
    assert parse_tag_filters(q("tags__a__all=")) == {"a": {"all": [""]}}
    assert parse_tag_filters(q("tags__exists=1")) == {"exists": 1}


@pytest.mark.parametrize(
    "text", ["tags=1", "tags__=1", "tags__a____b=1", "tags__a=1&tags__a__b=2",
             "tags__a__b=1&tags__a=2", "tags__a__size=x", "tags__a__size=true",
             "tags__a__size=1.0"],
)  # fmt: skip
def test_bad_tag_filters(text):
    with pytest.raises(QueryError):
        parse_tag_filters(q(text))


def test_detail_defaults():
    query = parse_detail_query(q(""), Granularity.Minutes)
    assert query.granularity is Granularity.Minutes
    assert query.start == DEFAULT_START == datetime.datetime.min.replace(tzinfo=UTC)
    assert query.echo() == {
        "granularity": "minutes", "start": DEFAULT_START, "end": None, "start_exclusive": None,
        "end_exclusive": None, "reverse": False, "value_downsamplers": None,
        "time_downsamplers": None,
    }  # fmt: skip
    assert query.get_data_arguments()["granularity"] is Granularity.Minutes


def test_detail_everything():
    query = parse_detail_query(
        q("g=H&sx=0&e=86400&r=Y&v=m,count&value_downsamplers=mean&value_downsamplers=c&t=z"),
        Granularity.Seconds,
    )
    assert query.granularity is Granularity.Hours6
    assert query.start is None
    assert query.start_exclusive == datetime.datetime(1970, 1, 1, tzinfo=UTC)
    assert query.end == datetime.datetime(1970, 1, 2, tzinfo=UTC)
    assert query.reverse is True
    assert query.value_downsamplers == ["mean", "count"]
    assert query.time_downsamplers == ["last"]


# Booleans: one rule for every boolean parameter ---------------------------------------------


def _booleans_of(text: str) -> dict[str, bool]:
    """``reverse`` and ``open_bucket`` of the query ``text``, each parsed as the views do."""
    params = q(text)
    return {
        "reverse": parse_detail_query(params, Granularity.Seconds).reverse,
        "open_bucket": parse_chart_options(params, False).open_bucket,
    }


@pytest.mark.parametrize(
    ("word", "value"),
    [*((word, True) for word in TRUE_WORDS), *((word, False) for word in FALSE_WORDS),
     ("TRUE", True), ("Yes", True), ("Y", True), ("FALSE", False), ("No", False)],
)  # fmt: skip
def test_every_boolean_parameter_takes_the_same_words(word, value):
    assert parse_boolean(word, "x") is value
    for long, short in (("reverse", "r"), ("open_bucket", "ob")):
        for name in (long, short):
            assert _booleans_of(f"{name}={word}")[long] is value, (name, word)


@pytest.mark.parametrize(
    "word",
    ["maybe", "", " 1", "1 ", "2", "-1", "truE!", "yess", "ｔrue", "\u0131", "on", "oFF", "y\x00"],
)
def test_every_boolean_parameter_refuses_the_same_other_values_naming_itself(word):
    for name in ("reverse", "r", "open_bucket", "ob"):
        with pytest.raises(QueryError) as raised:
            _booleans_of(f"{name}={urllib.parse.quote(word)}")
        message = str(raised.value)
        assert message.startswith(f"Invalid boolean: {word!r} in parameter '{name}'."), message
        assert "Use one of 1, true, t, yes, y for true, or 0, false, f, no, n for false" in message


def test_booleans_are_false_when_absent_and_long_and_short_forms_must_agree():
    assert _booleans_of("") == {"reverse": False, "open_bucket": False}
    assert _booleans_of("r=1&reverse=yes&ob=no&open_bucket=0") == {
        "reverse": True, "open_bucket": False,
    }  # fmt: skip
    with pytest.raises(QueryError, match="Conflicting values for 'reverse' and 'r'"):
        _booleans_of("reverse=1&r=0")


@pytest.mark.parametrize("name", ["reverse", "r", "open_bucket", "ob"])
def test_a_bad_boolean_answers_400_naming_the_parameter(api, name):
    message = api.error(api.detail_uri(api.ids[0]), {name: "maybe"})
    assert message.startswith(f"Invalid boolean: 'maybe' in parameter '{name}'.")
    assert api.error(api.detail_uri(api.ids[0]), {name: ""}).startswith(
        f"Invalid boolean: '' in parameter '{name}'."
    )


# Combining a request's filters with an authorization's query tags ------------------------------

_TAG_VALUES = st.sampled_from(["a", "b", 1, 2, True, None])
_CONDITIONS = st.sampled_from(["exact", "ne", "gte", "in", "nin", "exists", "startswith"])
_PATHS = st.sampled_from([("owner",), ("team",), ("meta", "owner"), ("meta", "level")])


def _operand(operator: str, value: object) -> object:
    if operator in ("in", "nin"):
        return [value, "a"]
    if operator == "exists":
        return bool(value)
    if operator == "startswith":
        return str(value)[:1]
    return value


@st.composite
def tag_queries(draw):
    """A ``find_streams`` query of one to three conditions on a few overlapping tag paths."""
    query: dict = {}
    for _ in range(draw(st.integers(1, 3))):
        path, operator = draw(_PATHS), draw(_CONDITIONS)
        node = query
        for key in path[:-1]:
            node = node.setdefault(key, {})
        value = _operand(operator, draw(_TAG_VALUES))
        if operator == "exact" and draw(st.booleans()):
            node[path[-1]] = value  # the plain form of equality
        else:
            leaf = node.get(path[-1])
            if not isinstance(leaf, dict):
                node[path[-1]] = leaf = {} if leaf is None else {"exact": leaf}
            leaf[operator] = value
    return query


def _catalog() -> list[dict]:
    """Tag sets covering every value of every path the queries use (and their absence)."""
    values = [_MISSING, "a", "b", 1, 2, True, None, ["a", "b"], [1]]
    metas = [_MISSING, {"owner": "a"}, {"owner": 1, "level": 2}, {"level": None}]
    catalog = []
    for owner, team, meta in itertools.product(values, values, metas):
        tags = {"owner": owner, "team": team, "meta": meta}
        catalog.append({key: value for key, value in tags.items() if value is not _MISSING})
    return catalog


_MISSING = object()
CATALOG = _catalog()


@settings(max_examples=300, deadline=None, database=None)
@given(query=tag_queries(), required=tag_queries())
@example(query={"team": {"ne": 1}}, required={"team": {"ne": True}})  # True == 1 in Python
@example(query={"team": {"in": [1]}}, required={"team": {"in": [True]}})
def test_combined_queries_match_exactly_what_both_match(query, required):
    combined, leftover = combine_tag_queries(query, required)
    conditions = parse_query(query) + parse_query(required)
    found = parse_query(combined) + parse_query(leftover)
    for tags in CATALOG:
        assert matches(found, tags) == matches(conditions, tags), tags


def test_combined_queries_keep_what_fits_in_the_query():
    assert combine_tag_queries(None, None) == (None, None)
    assert combine_tag_queries({"a": 1}, None) == ({"a": 1}, None)
    assert combine_tag_queries(None, {"owner": "x"}) == ({"owner": "x"}, None)
    assert combine_tag_queries({"owner": "x", "b": 2}, {"owner": "x"}) == (
        {"owner": "x", "b": 2},
        None,
    )
    assert combine_tag_queries({"owner": {"in": ["x", "y"]}}, {"owner": "x"}) == (
        {"owner": {"in": ["x", "y"], "exact": "x"}},
        None,
    )
    assert combine_tag_queries({"owner": "y"}, {"owner": "x"}) == ({"owner": "x"}, {"owner": "y"})
    assert combine_tag_queries({"o": {"gte": 1}}, {"o": {"gte": 2, "lt": 5}}) == (
        {"o": {"gte": 2, "lt": 5}},
        {"o": {"gte": 1}},
    )
    assert combine_tag_queries({"o": True}, {"o": 1}) == ({"o": 1}, {"o": True})


def test_combining_leaves_the_inputs_alone():
    query, required = {"a": {"b": {"c": 1}}}, {"a": {"b": {"d": 2}}}
    combined, _ = combine_tag_queries(query, required)
    assert combined == {"a": {"b": {"c": 1, "d": 2}}}
    assert query == {"a": {"b": {"c": 1}}} and required == {"a": {"b": {"d": 2}}}


def test_tag_filter_depth_limit():
    at_limit = "tags__" + "__".join(["a"] * MAX_TAG_DEPTH)
    assert parse_tag_filters(q(f"{at_limit}=1")) is not None
    with pytest.raises(QueryError, match=f"nested {MAX_TAG_DEPTH + 1} levels deep; at most"):
        parse_tag_filters(q(f"{at_limit}__gte=1"))
