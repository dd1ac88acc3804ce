"""Tag queries do not depend on the order of their keys: on every backend the answer (streams,
count, slices) is the same whatever the order, at every depth and for operator conditions; the
SQLite tag index drives a query from its most selective condition whichever key comes first
(found with capped counts in the index), and a genuine ``mongod`` plans the same way by itself.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from datastream import Datastream, Granularity
from datastream.backends import sqlite_tagindex
from datastream.backends.mongodb.query import tags_filter
from datastream.backends.sqlite import Backend as SQLiteBackend
from datastream.tagquery import matches, parse_query

CATALOG = [
    {
        "common": 1,
        "n": number,
        "group": number % 4,
        "location": {"site": f"s{number % 3}", "room": number % 5},
        "labels": ["a", "b"] if number % 2 else ["b"],
        "name": f"x{number}",
    }
    for number in range(24)
]

QUERIES = [
    {"common": 1, "n": 7},
    {"common": 1, "group": 2, "location": {"site": "s1", "room": {"in": [0, 1, 2]}}},
    {"n": {"gte": 3, "lt": 12}, "group": {"ne": 1}, "common": {"exists": True}},
    {"labels": "a", "common": 1, "name": {"startswith": "x1"}},
    {"location": {"room": {"nin": [0]}, "site": {"iexact": "S2"}}, "common": 1},
    {"labels": {"all": ["a", "b"]}, "group": {"in": [0, 3]}, "common": {"lte": 1}},
    {"common": 1, "location": {"exists": True}, "n": {"in": [5, 6, 30]}},
    {"common": 2, "n": 7},
]


def _reordered(node: Any, reverse: bool) -> Any:
    """``node`` with the keys of every nested dictionary reversed (or kept)."""
    if not isinstance(node, dict):
        return node
    keys = list(reversed(node)) if reverse else list(node)
    return {key: _reordered(node[key], reverse) for key in keys}


def key_orders(query: dict[str, Any]) -> list[dict[str, Any]]:
    """``query`` with its top-level keys in every order, nested keys as given or reversed."""
    variants = []
    for keys in itertools.permutations(query):
        for reverse in (False, True):
            variants.append({key: _reordered(query[key], reverse) for key in keys})
    return variants


@pytest.fixture
def catalog(ds: Datastream) -> list[str]:
    return [ds.ensure_stream({"n": tags["n"]}, tags, [], Granularity.Seconds) for tags in CATALOG]


def test_tag_query_answers_do_not_depend_on_the_order_of_the_keys(ds, catalog):
    for query in QUERIES:
        conditions = parse_query(query)
        expected = [
            sid for sid, tags in zip(catalog, CATALOG, strict=True) if matches(conditions, tags)
        ]
        for variant in key_orders(query):
            found = ds.find_streams(variant)
            assert [stream["stream_id"] for stream in found] == expected, variant
            assert found.count() == len(expected), variant
            assert [stream["stream_id"] for stream in found[1:3]] == expected[1:3], variant


def test_ensure_stream_finds_the_same_stream_whatever_the_order_of_its_query_tags(ds, catalog):
    for variant in key_orders({"common": 1, "group": 3, "n": 7}):
        assert ds.ensure_stream(variant, {}, [], Granularity.Seconds) == catalog[7]
    created = {
        ds.ensure_stream(variant, {}, [], Granularity.Seconds)
        for variant in key_orders({"common": 1, "n": 99, "extra": "new"})
    }
    assert len(created) == 1 and created.isdisjoint(catalog)


# SQLite: the plan ---------------------------------------------------------------------------


@pytest.fixture
def sqlite_catalog(tmp_path) -> SQLiteBackend:
    backend = SQLiteBackend(str(tmp_path / "catalog.sqlite3"))
    ds = Datastream(backend)
    for number in range(300):
        ds.ensure_stream(
            {"common": 1, "n": number},
            {"group": number % 10, "location": {"room": number % 100}},
            [],
            Granularity.Seconds,
        )
    return backend


def test_sqlite_plans_a_query_the_same_whatever_the_order_of_its_keys(sqlite_catalog):
    for query in (
        {"common": 1, "n": 250},
        {"common": 1, "group": 3, "location": {"room": 13}},
        {"common": {"exists": True}, "group": {"in": [1, 2]}, "n": {"gte": 295}},
    ):
        plans = {
            (plan.where, tuple(plan.params))
            for plan in map(sqlite_catalog._plan, map(parse_query, key_orders(query)))
        }
        assert len(plans) == 1, query


def test_sqlite_drives_a_query_from_its_most_selective_condition(sqlite_catalog):
    for query, driver in (
        ({"common": 1, "n": 250}, '["n"]'),
        ({"common": 1, "group": 3, "location": {"room": 13}}, '["location","room"]'),
        ({"common": {"exists": True}, "group": {"in": [1, 2]}, "n": {"gte": 295}}, '["n"]'),
        # Every stream has "common": the 10% of "group" drive, though "exists" ranks lower.
        ({"group": 3, "common": {"exists": True}}, '["group"]'),
    ):
        plan = sqlite_catalog._plan(parse_query(query))
        assert plan.where.startswith("seq IN (SELECT stream FROM tag_index WHERE path = ?")
        assert plan.params[0] == driver, query


def test_negations_never_drive_a_query(sqlite_catalog):
    plan = sqlite_catalog._plan(parse_query({"n": {"ne": 3}, "group": 3}))
    assert plan.where.startswith("seq IN (SELECT stream FROM tag_index WHERE path = ?")
    assert plan.params[0] == '["group"]'
    assert "NOT EXISTS" in plan.where


def _counter(sizes: dict[str, int], caps: list[int]):
    def count(where: str, params: list[Any], cap: int) -> int:
        caps.append(cap)
        return min(sizes[params[0]], cap)

    return count


def test_selectivity_counts_stop_once_one_condition_is_counted_exactly():
    caps: list[int] = []
    conditions = parse_query({"common": 1, "n": 7})
    sizes = {'["common"]': 100_000, '["n"]': 40}
    plan = sqlite_tagindex.plan(conditions, lambda path: False, _counter(sizes, caps))
    assert plan.params[0] == '["n"]'
    first, growth = sqlite_tagindex.FIRST_CAP, sqlite_tagindex.CAP_GROWTH
    assert caps == [first, first, first * growth, first * growth]


def test_selectivity_counts_are_capped_and_the_kind_of_condition_breaks_ties():
    caps: list[int] = []
    conditions = parse_query({"a": {"exists": True}, "b": 1})
    sizes = {'["a"]': 10**9, '["b"]': 10**9}
    plan = sqlite_tagindex.plan(conditions, lambda path: False, _counter(sizes, caps))
    assert max(caps) == sqlite_tagindex.MAX_CAP
    assert plan.params[0] == '["b"]'  # equality before "exists" at equal counts


# MongoDB: the server plans --------------------------------------------------------------------


def _stages(plan: dict[str, Any]):
    yield plan
    for key in ("inputStage", "queryPlan"):
        if key in plan:
            yield from _stages(plan[key])
    for child in plan.get("inputStages", []):
        yield from _stages(child)


def test_a_genuine_mongod_drives_a_query_from_its_most_selective_condition(
    mongodb_server, mongodb_backend_factory
):
    if not mongodb_server.external:
        pytest.skip("SecantusDB does not plan with wildcard indexes; set DATASTREAM_MONGODB_URI")
    backend = mongodb_backend_factory()
    ds = Datastream(backend)
    for number in range(200):
        ds.ensure_stream({"common": 1, "n": number}, {}, [], Granularity.Seconds)
    for query in ({"common": 1, "n": 150}, {"n": 150, "common": 1}):
        command = {"find": "streams", "filter": tags_filter(parse_query(query))}
        explained = backend.database().command("explain", command, verbosity="executionStats")
        scans = [
            stage for stage in _stages(explained["queryPlanner"]["winningPlan"])
            if stage["stage"] == "IXSCAN" and stage["indexName"] == "tags"
        ]
        assert scans and all("tags.n" in scan["keyPattern"] for scan in scans), query
        assert explained["executionStats"]["totalDocsExamined"] <= 2, query
