"""The SQLite stream catalog's tag index: an inverted index of tag paths and values.

Every stream's user tags are flattened into rows ``(path, kind, value, stream)`` kept in the same
transaction as the stream record:

* one row per leaf: ``path`` is the JSON array of the keys leading to it, ``kind`` tells the
  type (so that ``True`` never equals ``1``), ``value`` the scalar itself;
* one row per dictionary node (``kind`` dict) and per list (``kind`` list, ``value`` its
  length), so that ``exists`` and ``size`` are answered by the index;
* one row per scalar item of a list, under the list's path (equality against a list tag means
  "equals or contains", the MongoDB rule the matcher implements).

A query's conditions (:class:`datastream.tagquery.Condition`) become SQL predicates on the
stream's row number. A predicate is *exact* when it selects exactly the streams the matcher
accepts, or a *superset* otherwise (case-insensitive text, lists as values, ...). When every
predicate is exact, counting and windowing happen in SQL; otherwise the candidates are
re-checked with :func:`datastream.tagquery.matches`, the one definition of the semantics.
The most selective predicate drives the query, whatever the order of the query's keys: it is
found by counting each predicate's rows in the index, up to a growing cap (:func:`plan`).

Cost: about one row per tag leaf, dictionary and list item, each roughly the size of its path
and value plus 16 bytes, in a ``WITHOUT ROWID`` table clustered by ``(path, kind, value)`` and a
second index by stream (used to replace a stream's rows and to test further conditions).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import orjson

from ..limits import INT64_MAX, INT64_MIN
from ..tagquery import Condition

__all__ = [
    "SCHEMA",
    "Plan",
    "capped_count",
    "has_opaque",
    "index_rows",
    "plan",
    "remove",
    "replace",
]

SCHEMA = """
CREATE TABLE IF NOT EXISTS tag_index (
    path TEXT NOT NULL,
    kind INTEGER NOT NULL,
    value NOT NULL,
    stream INTEGER NOT NULL,
    PRIMARY KEY (path, kind, value, stream)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS tag_index_by_stream ON tag_index (stream, path, kind, value);
"""

# Row kinds. Scalars of different kinds never compare equal in the matcher.
NULL, BOOL, NUMBER, STRING, LIST, DICT, OPAQUE = 0, 1, 2, 3, 4, 5, 9


def _path(keys: tuple[str, ...]) -> str:
    try:
        return orjson.dumps(list(keys)).decode()
    except TypeError:  # lone surrogates: escaped, so never equal to a path without them
        return json.dumps(list(keys))


def _is_text(value: str) -> bool:
    """Whether SQLite can hold ``value`` as text (lone surrogates cannot be UTF-8)."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _scalar(value: Any) -> tuple[int, Any] | None:
    """The ``(kind, stored value)`` of a scalar, or ``None`` for lists and dictionaries."""
    if value is None:
        return NULL, ""
    if isinstance(value, bool):
        return BOOL, int(value)
    if isinstance(value, int):
        return (NUMBER, value) if INT64_MIN <= value <= INT64_MAX else (OPAQUE, "")
    if isinstance(value, float):
        return NUMBER, value
    if isinstance(value, str):
        return (STRING, value) if _is_text(value) else (OPAQUE, "")
    return None


def index_rows(stream: int, tags: Mapping[str, Any]) -> Iterator[tuple[str, int, Any, int]]:
    """The index rows of one stream's tags."""
    pending: list[tuple[tuple[str, ...], Mapping[str, Any]]] = [((), tags)]
    while pending:
        prefix, node = pending.pop()
        for key, value in node.items():
            keys = (*prefix, key)
            path = _path(keys)
            if isinstance(value, Mapping):
                yield path, DICT, "", stream
                pending.append((keys, value))
            elif isinstance(value, list | tuple):
                yield path, LIST, len(value), stream
                for item in value:
                    scalar = _scalar(item)
                    if scalar is not None:
                        yield path, scalar[0], scalar[1], stream
            else:
                scalar = _scalar(value)
                if scalar is not None:
                    yield path, scalar[0], scalar[1], stream


def replace(connection: sqlite3.Connection, stream: int, tags: Mapping[str, Any]) -> None:
    """Index ``tags`` as the tags of ``stream`` (its old rows are removed first)."""
    connection.execute("DELETE FROM tag_index WHERE stream = ?", (stream,))
    connection.executemany(
        "INSERT OR IGNORE INTO tag_index (path, kind, value, stream) VALUES (?, ?, ?, ?)",
        index_rows(stream, tags),
    )


def has_opaque(connection: sqlite3.Connection, path: str) -> bool:
    """Whether values indexed without their value (integers beyond 64 bits, strings with lone
    surrogates) are at ``path``."""
    row = connection.execute(
        "SELECT 1 FROM tag_index WHERE path = ? AND kind = ? LIMIT 1", (path, OPAQUE)
    ).fetchone()
    return row is not None


def remove(connection: sqlite3.Connection, streams: list[int]) -> None:
    """Drop the index rows of ``streams``."""
    connection.executemany(
        "DELETE FROM tag_index WHERE stream = ?", [(stream,) for stream in streams]
    )


@dataclasses.dataclass
class _Predicate:
    """Rows of the tag index (``where`` over columns path/kind/value) selecting streams."""

    where: str
    params: list[Any]
    exact: bool
    negated: bool = False
    rank: int = 0  # lower is usually more selective (breaks ties between row counts)


@dataclasses.dataclass
class Plan:
    """SQL selecting candidate stream row numbers (``seq``) for a list of conditions.

    ``where`` is a condition on ``streams.seq`` (empty: every stream); when ``exact`` is false
    the candidates must be re-checked with the matcher.
    """

    where: str
    params: list[Any]
    exact: bool


_RANGE_SQL = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _equality(path: str, value: Any, opaque: Callable[[str], bool]) -> _Predicate:
    scalar = _scalar(value)
    if scalar is None or scalar[0] == OPAQUE:
        # A list, a dictionary or a huge integer: every stream having the path is a candidate.
        return _Predicate("path = ?", [path], exact=False, rank=3)
    kind, stored = scalar
    if kind == NUMBER and opaque(path):
        return _all_numbers(path)
    return _Predicate("path = ? AND kind = ? AND value = ?", [path, kind, stored], True, rank=0)


def _all_texts(path: str) -> _Predicate:
    """Every string at ``path``: the candidates when strings SQLite cannot hold as text (stored
    without their value) are involved."""
    return _Predicate("path = ? AND kind IN (?, ?)", [path, STRING, OPAQUE], False, rank=6)


def _all_numbers(path: str) -> _Predicate:
    """Every number at ``path``: the candidates when huge integers (stored without their
    value) live there."""
    return _Predicate("path = ? AND kind IN (?, ?)", [path, NUMBER, OPAQUE], False, rank=3)


def _membership(path: str, values: list[Any], opaque: Callable[[str], bool]) -> _Predicate:
    scalars = [_scalar(value) for value in values]
    if not values:
        return _Predicate("0", [], exact=True, rank=0)
    if any(s is None or s[0] == OPAQUE for s in scalars):
        return _Predicate("path = ?", [path], exact=False, rank=3)
    if any(s[0] == NUMBER for s in scalars) and opaque(path):  # type: ignore[index]
        return _Predicate("path = ?", [path], exact=False, rank=3)
    alternatives = " OR ".join("(kind = ? AND value = ?)" for _ in scalars)
    params: list[Any] = [path]
    for kind, stored in scalars:  # type: ignore[misc]
        params += [kind, stored]
    return _Predicate(f"path = ? AND ({alternatives})", params, exact=True, rank=1)


def _predicate(condition: Condition, opaque: Callable[[str], bool]) -> _Predicate | None:
    """The index predicate of one condition (``None``: the index cannot narrow it)."""
    path, operator, value = _path(condition.path), condition.operator, condition.value
    if operator == "exact":
        return _equality(path, value, opaque)
    if operator == "in":
        return _membership(path, value, opaque)
    if operator in ("ne", "nin"):
        if operator == "ne":
            inner = _equality(path, value, opaque)
        else:
            inner = _membership(path, value, opaque)
        if not inner.exact:
            return None
        return dataclasses.replace(inner, negated=True, rank=9)
    if operator == "all":
        # Scalar items are split into one equality each by the caller.
        return _Predicate("path = ?", [path], exact=False, rank=3)
    if operator == "exists":
        predicate = _Predicate("path = ?", [path], exact=True, rank=4)
        return predicate if value else dataclasses.replace(predicate, negated=True, rank=9)
    if operator == "size":
        return _Predicate("path = ? AND kind = ? AND value = ?", [path, LIST, value], True, rank=1)
    if operator in _RANGE_SQL:
        scalar = _scalar(value)
        if scalar is None or scalar[0] not in (NUMBER, STRING, OPAQUE):
            return _Predicate("0", [], exact=True, rank=0)  # never comparable
        kind, stored = scalar
        if isinstance(value, str) and (kind == OPAQUE or opaque(path)):
            return _all_texts(path)
        if kind == OPAQUE or (kind == NUMBER and opaque(path)):
            return _all_numbers(path)
        sql = f"path = ? AND kind = ? AND value {_RANGE_SQL[operator]} ?"
        return _Predicate(sql, [path, kind, stored], exact=True, rank=2)
    if isinstance(value, str) and (not _is_text(value) or opaque(path)):
        return _all_texts(path)
    if isinstance(value, str):
        if operator == "contains":
            sql = "path = ? AND kind = ? AND instr(value, ?) > 0"
            return _Predicate(sql, [path, STRING, value], exact=True, rank=5)
        if operator == "startswith":
            sql = "path = ? AND kind = ? AND substr(value, 1, ?) = ?"
            return _Predicate(sql, [path, STRING, len(value), value], exact=True, rank=2)
        if operator == "endswith" and not value:
            # substr(value, -0) is the whole text, not an empty suffix: every string matches.
            return _Predicate("path = ? AND kind = ?", [path, STRING], exact=False, rank=6)
        if operator == "endswith":
            sql = "path = ? AND kind = ? AND substr(value, -?) = ?"
            return _Predicate(sql, [path, STRING, len(value), value], exact=True, rank=5)
    # Case-insensitive text matches: strings at the path are candidates.
    return _Predicate("path = ? AND kind = ?", [path, STRING], exact=False, rank=6)


def _is_plain_scalar(value: Any) -> bool:
    scalar = _scalar(value)
    return scalar is not None and scalar[0] != OPAQUE


def _predicates(
    conditions: list[Condition], opaque: Callable[[str], bool]
) -> tuple[list[_Predicate], bool]:
    predicates: list[_Predicate] = []
    exact = True
    for condition in conditions:
        if condition.operator == "all" and condition.value and all(
            _is_plain_scalar(item) for item in condition.value
        ):
            items = [_equality(_path(condition.path), item, opaque) for item in condition.value]
            exact = exact and all(item.exact for item in items)
            predicates += items
            continue
        predicate = _predicate(condition, opaque)
        if predicate is None:
            exact = False
            continue
        exact = exact and predicate.exact
        predicates.append(predicate)
    return predicates, exact


#: Row counts estimating a condition's selectivity stop at a cap: first this one, ...
FIRST_CAP = 32
#: ... multiplied by this while every condition reaches it, ...
CAP_GROWTH = 4
#: ... up to this one (beyond it, the kind of condition decides).
MAX_CAP = 32_768

#: ``count(where, params, cap)``: how many index rows ``where`` selects, counting up to ``cap``.
RowCounter = Callable[[str, list[Any], int], int]


def capped_count(connection: sqlite3.Connection, where: str, params: list[Any], cap: int) -> int:
    """The number of index rows ``where`` selects, counted up to ``cap`` (reads at most
    ``cap`` rows of the index)."""
    row = connection.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM tag_index WHERE {where} LIMIT ?)",  # noqa: S608
        (*params, cap),
    ).fetchone()
    return row[0]


def _row_counts(predicates: list[_Predicate], count: RowCounter) -> list[int]:
    """Capped row counts of ``predicates``; the cap grows until one predicate stays below
    it, so the smallest count is exact while costing a few times that many rows at most."""
    cap = FIRST_CAP
    while True:
        counts = [count(p.where, p.params, cap) for p in predicates]
        if min(counts) < cap or cap >= MAX_CAP:
            return counts
        cap *= CAP_GROWTH


def _ordered(predicates: list[_Predicate], count: RowCounter | None) -> list[_Predicate]:
    """``predicates`` with the most selective positive one first and negations last.

    With ``count``, positive predicates are ordered by how many index rows they select
    (kind of condition, then query order, breaking ties); without it by kind alone.
    """
    positive = [p for p in predicates if not p.negated]
    negative = sorted((p for p in predicates if p.negated), key=lambda p: p.rank)
    if count is None or len(positive) < 2:
        return sorted(positive, key=lambda p: p.rank) + negative
    counts = _row_counts(positive, count)
    order = sorted(range(len(positive)), key=lambda i: (counts[i], positive[i].rank, i))
    return [positive[i] for i in order] + negative


def plan(
    conditions: list[Condition],
    opaque: Callable[[str], bool],
    count: RowCounter | None = None,
) -> Plan:
    """The SQL that selects candidate streams for ``conditions``.

    ``opaque(path)`` tells whether integers beyond 64 bits (indexed without their value) are
    stored at a path. SQLite drives the lookup from the first predicate and tests each of its
    streams against the others through the by-stream index, so the first must be the most
    selective: ``count`` (see :func:`capped_count`) measures that in the index, whatever the
    order of the query's keys; without it the kind of condition decides (equality first).
    Negations are never first.
    """
    predicates, exact = _predicates(conditions, opaque)
    if not predicates:
        return Plan("", [], exact)
    predicates = _ordered(predicates, count)
    clauses, params = [], []
    for number, predicate in enumerate(predicates):
        if number == 0 and not predicate.negated:
            # The driving set: streams are read from this one's rows.
            clauses.append(f"seq IN (SELECT stream FROM tag_index WHERE {predicate.where})")
        else:
            # Checked per candidate through the by-stream index, so that a condition many
            # streams meet costs nothing until a candidate of the driving set is tested.
            inner = f"SELECT 1 FROM tag_index WHERE stream = seq AND {predicate.where}"
            clauses.append(f"{'NOT EXISTS' if predicate.negated else 'EXISTS'} ({inner})")
        params += predicate.params
    return Plan(" AND ".join(clauses), params, exact)
