"""The SQLite tag index selects exactly the streams the tag matcher accepts."""

from __future__ import annotations

import sqlite3

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from datastream.backends import sqlite_tagindex
from datastream.tagquery import OPERATORS, Condition, matches

KEYS = st.sampled_from(["a", "b", "c"])
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.sampled_from([2**64, -(2**70), 1.5, 0.0, 2.0]),
    st.sampled_from(["", "x", "xy", "Xy", "yx", "é"]),
)
VALUES = st.recursive(
    st.one_of(SCALARS, st.lists(SCALARS, max_size=3)),
    lambda inner: st.dictionaries(KEYS, inner, max_size=3),
    max_leaves=8,
)
TAGS = st.dictionaries(KEYS, VALUES, max_size=3)


@st.composite
def conditions(draw):
    path = tuple(draw(st.lists(KEYS, min_size=1, max_size=3)))
    operator = draw(st.sampled_from(sorted(OPERATORS)))
    if operator in ("in", "nin", "all"):
        value = draw(st.lists(st.one_of(SCALARS, st.lists(SCALARS, max_size=2)), max_size=3))
    elif operator == "size":
        value = draw(st.integers(0, 3))
    elif operator == "exists":
        value = draw(st.booleans())
    else:
        value = draw(st.one_of(SCALARS, st.lists(SCALARS, max_size=2)))
    return Condition(path, operator, value)


def _indexed(catalog: list[dict], query: list[Condition]) -> list[int]:
    connection = sqlite3.connect(":memory:")
    connection.executescript(sqlite_tagindex.SCHEMA)
    for seq, tags in enumerate(catalog, start=1):
        sqlite_tagindex.replace(connection, seq, tags)
    plan = sqlite_tagindex.plan(query, lambda p: sqlite_tagindex.has_opaque(connection, p))
    every = list(range(1, len(catalog) + 1))
    if plan.where:
        rows = connection.execute(
            "WITH streams(seq) AS (SELECT value FROM json_each(?)) "
            f"SELECT seq FROM streams WHERE {plan.where} ORDER BY seq",
            [str(every), *plan.params],
        ).fetchall()
        candidates = [row[0] for row in rows]
    else:
        candidates = every
    if not plan.exact:
        candidates = [seq for seq in candidates if matches(query, catalog[seq - 1])]
    return candidates


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(TAGS, min_size=1, max_size=8), st.lists(conditions(), min_size=1, max_size=3))
def test_indexed_answer_equals_the_matcher(catalog, query):
    expected = [seq for seq, tags in enumerate(catalog, start=1) if matches(query, tags)]
    assert _indexed(catalog, query) == expected


def test_exact_plans_are_not_rechecked_and_still_right():
    catalog = [{"a": 1}, {"a": True}, {"a": [1, 2]}, {"a": 1.0}, {"b": {"a": 1}}]
    query = [Condition(("a",), "exact", 1)]
    plan = sqlite_tagindex.plan(query, lambda path: False)
    assert plan.exact
    assert _indexed(catalog, query) == [1, 3, 4]


def test_huge_integers_make_numeric_plans_rechecked():
    catalog = [{"a": 2**64}, {"a": 5}]
    query = [Condition(("a",), "gt", 2**63)]
    assert _indexed(catalog, query) == [1]
    connection = sqlite3.connect(":memory:")
    connection.executescript(sqlite_tagindex.SCHEMA)
    sqlite_tagindex.replace(connection, 1, catalog[0])
    opaque = sqlite_tagindex.has_opaque
    gt_one = [Condition(("a",), "gt", 1)]
    assert not sqlite_tagindex.plan(gt_one, lambda p: opaque(connection, p)).exact


def test_an_empty_suffix_selects_every_string():
    catalog = [{"c": "x"}, {"c": ""}, {"c": 1}, {"c": ["y", 2]}]
    query = [Condition(("c",), "endswith", "")]
    expected = [seq for seq, tags in enumerate(catalog, start=1) if matches(query, tags)]
    assert _indexed(catalog, query) == expected
    assert 1 in expected
