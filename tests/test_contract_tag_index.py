"""On every backend, a tag query answers exactly what the plain tag matcher accepts.

The storages answer tag queries through an index (SQLite's ``tag_index`` table, MongoDB's
wildcard index on ``tags``), falling back to re-checking candidates where the index cannot
decide. Random catalogs and random queries, through ``find_streams``, ``count()`` and slicing,
must agree with :func:`datastream.tagquery.matches` applied to every stream's tags.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datastream import Datastream, Granularity
from datastream.backends.mongodb.query import tags_filter
from datastream.tagquery import OPERATORS, matches, parse_query

KEYS = st.sampled_from(["a", "b", "c"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([2**64, 1.5, 0.0, 2.0]),
    st.sampled_from(["", "x", "xy", "Xy", "é"]),
)
VALUES = st.recursive(
    st.one_of(SCALARS, st.lists(SCALARS, max_size=3)),
    lambda inner: st.dictionaries(KEYS, inner, min_size=1, max_size=2),
    max_leaves=6,
)
TAGS = st.dictionaries(KEYS, VALUES, max_size=3)

#: Examples per backend: the MongoDB-wire test server is slow, so it gets few small ones.
EXAMPLES = {"sqlite": 120, "mongodb": 12, "mongodb-fallback": 8, "memory": 120}


@st.composite
def operands(draw, operator: str) -> Any:
    if operator in ("in", "nin", "all"):
        return draw(st.lists(st.one_of(SCALARS, st.lists(SCALARS, max_size=2)), max_size=3))
    if operator == "size":
        return draw(st.integers(0, 3))
    if operator == "exists":
        return draw(st.booleans())
    if operator in ("contains", "icontains", "startswith", "istartswith", "endswith"):
        return draw(st.sampled_from(["", "x", "X", "y", "é"]))
    return draw(st.one_of(SCALARS, st.lists(SCALARS, max_size=2)))


@st.composite
def queries(draw) -> dict[str, Any]:
    """A query dictionary of one to three conditions on paths of ``a``, ``b`` and ``c``."""
    query: dict[str, Any] = {}
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.lists(KEYS, min_size=1, max_size=2))
        operator = draw(st.sampled_from(sorted(OPERATORS)))
        operand = draw(operands(operator))
        node = query
        for key in path:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                break
            node = child
        else:
            node[operator] = operand
    return query


def _check(ds: Datastream, catalog: list[dict[str, Any]], query: dict[str, Any]) -> None:
    ds.delete_streams()
    ids = [
        ds.ensure_stream({"n": number}, tags, [], Granularity.Seconds)
        for number, tags in enumerate(catalog)
    ]
    conditions = parse_query(query)
    expected = [sid for sid, tags in zip(ids, catalog, strict=True) if matches(conditions, tags)]

    found = ds.find_streams(query)
    assert [stream["stream_id"] for stream in found] == expected
    assert found.count() == len(expected)
    assert [stream["stream_id"] for stream in found[1:3]] == expected[1:3]
    assert found[1:].count() == len(expected[1:])


def test_indexed_tag_queries_answer_what_the_matcher_accepts(ds, backend_name):
    @settings(
        max_examples=EXAMPLES[backend_name],
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(st.lists(TAGS, min_size=1, max_size=5), queries())
    def check(catalog, query):
        _check(ds, catalog, query)

    check()


def test_queries_on_nested_paths_and_lists_use_the_index_and_stay_exact(ds):
    catalog = [
        {"a": {"b": 1}},
        {"a": {"b": [1, 2]}},
        {"a": {"b": "1"}},
        {"a": 1},
        {"b": {"a": {"b": 1}}},
    ]
    _check(ds, catalog, {"a": {"b": 1}})
    _check(ds, catalog, {"a": {"b": {"in": [2, "1"]}}})
    _check(ds, catalog, {"a": {"exists": True}, "b": {"exists": False}})


def _stages(plan: dict[str, Any]):
    yield plan
    for key in ("inputStage", "queryPlan"):
        if key in plan:
            yield from _stages(plan[key])
    for child in plan.get("inputStages", []):
        yield from _stages(child)


def _tagged_mongodb(mongodb_backend_factory):
    backend = mongodb_backend_factory()
    ds = Datastream(backend)
    for number in range(20):
        ds.ensure_stream(
            {"device": f"d{number}"}, {"site": {"room": number % 4}}, [], Granularity.Seconds
        )
    return backend


def test_mongodb_streams_have_a_wildcard_tag_index_and_a_sparse_json_tag_index(
    mongodb_backend_factory,
):
    indexes = _tagged_mongodb(mongodb_backend_factory).database().streams.index_information()
    assert indexes["tags"]["key"] == [("tags.$**", 1)]
    assert indexes["tags_json"]["key"] == [("tags_json", 1)]
    assert indexes["tags_json"]["sparse"] is True


def test_a_genuine_mongod_answers_tag_queries_from_the_indexes(
    mongodb_server, mongodb_backend_factory
):
    if not mongodb_server.external:
        pytest.skip("SecantusDB does not plan with wildcard indexes; set DATASTREAM_MONGODB_URI")
    backend = _tagged_mongodb(mongodb_backend_factory)
    for query in ({"device": "d3"}, {"site": {"room": {"in": [1, 2]}}}):
        command = {"find": "streams", "filter": tags_filter(parse_query(query))}
        explained = backend.database().command("explain", command, verbosity="queryPlanner")
        stages = list(_stages(explained["queryPlanner"]["winningPlan"]))
        assert any(s["stage"] == "IXSCAN" and s["indexName"] == "tags" for s in stages)
        assert not any(s["stage"] == "COLLSCAN" for s in stages)
