"""The SQLite storage's downsampled buckets: one row per stored bucket, one column per key.

Each value and time downsampler key has its own column (reads fetch only the requested ones,
without JSON decoding) and its own JSON text column (``j<column>``), so that JSON responses are
assembled by SQLite without Python objects; ``jt`` holds the whole time part.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import repeat
from operator import itemgetter
from typing import Any

from ..constants import TIME_DOWNSAMPLERS, TIMESTAMP_TIME_KEYS, VALUE_DOWNSAMPLERS
from ..granularity import GRANULARITY_CODES, GranularityType
from ..jsonformat import datapoint_template, json_texts, object_template, timestamp_texts
from ..storage import READ_BATCH, Bucket, BucketWindow, StreamRecord
from .sqlite_codec import encode, loads

__all__ = ["SCHEMA", "BucketTable"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS buckets (
    stream INTEGER NOT NULL,
    granularity INTEGER NOT NULL,
    bucket INTEGER NOT NULL,
    {columns},
    PRIMARY KEY (stream, granularity, bucket)
) WITHOUT ROWID;
"""

# One column per downsampler key: reads fetch only the requested ones, without JSON decoding.
_VALUE_COLUMNS = {key: f"v_{key}" for key in VALUE_DOWNSAMPLERS.values()}
_TIME_COLUMNS = {key: f"t_{key}" for key in TIME_DOWNSAMPLERS.values()}
# ... and each of them as JSON text (j<column>), so that JSON responses need no Python objects.
SCHEMA = SCHEMA.replace(
    "{columns}",
    ",\n    ".join(
        [*_VALUE_COLUMNS.values(), *_TIME_COLUMNS.values()]
        + [f"j{column}" for column in (*_VALUE_COLUMNS.values(), *_TIME_COLUMNS.values())]
        # The whole time part, made by SQLite on insert: responses usually want all of it.
        + [
            "jt TEXT GENERATED ALWAYS AS ('{' || "
            + " || ',' || ".join(f"'\"{k}\":' || j{c}" for k, c in _TIME_COLUMNS.items())
            + " || '}') STORED"
        ]
    ),
)
# Columns that may hold JSON text (dictionaries, strings, decimal text) rather than numbers.
_TEXT_VALUE_KEYS = frozenset({"f", "o", "r"})


def _columns(summaries: list[dict], keys: list[str]) -> list[list[Any]]:
    """``[[summary.get(key) for summary in summaries] for key in keys]``, without a Python
    call per summary when every summary holds every key."""
    try:
        return [list(map(itemgetter(key), summaries)) for key in keys]
    except KeyError:
        return [[summary.get(key) for summary in summaries] for key in keys]


def _datapoint_json(window: BucketWindow) -> str:
    """The SQL expression of a bucket's datapoint JSON text (:mod:`datastream.jsonformat`),
    assembled by SQLite from each stored value's JSON text (no parsing, no Python object) with
    one printf (a chain of || copies the growing text at every step). A NULL text makes the
    expression NULL."""
    time_keys, value_keys = window.time_keys, window.value_keys
    time = value = None
    columns = []
    if time_keys is not None:
        if list(time_keys) == list(_TIME_COLUMNS):
            time = "%s"
            columns.append("jt")
        else:
            time = object_template(time_keys, "%s")
            columns += [f"j{_TIME_COLUMNS[k]}" for k in time_keys]
    if value_keys is not None:
        value = object_template(value_keys, "%s")
        columns += [f"j{_VALUE_COLUMNS[k]}" for k in value_keys]
    text = f"printf('{datapoint_template(time, value)}'{''.join(', ' + c for c in columns)})"
    if columns:
        missing = " OR ".join(f"{c} IS NULL" for c in columns)
        text = f"CASE WHEN {missing} THEN NULL ELSE {text} END"
    return text


class BucketTable:
    """Reads and writes the ``buckets`` table through the storage's connection."""

    def __init__(
        self,
        query: Callable[[str, tuple], list[tuple]],
        executemany: Callable[[str, list[tuple]], None],
    ) -> None:
        self._query = query
        self._executemany = executemany

    def upsert(
        self, record: StreamRecord, granularity: GranularityType, buckets: list[Bucket]
    ) -> None:
        if not buckets:
            return
        keys = [VALUE_DOWNSAMPLERS[name] for name in record["value_downsamplers"]]
        value_columns = [_VALUE_COLUMNS[k] for k in keys]
        time_columns = list(_TIME_COLUMNS.values())
        columns = (
            value_columns
            + time_columns
            + [f"j{c}" for c in value_columns]
            + [f"j{c}" for c in time_columns]
        )
        sql = (
            "INSERT OR REPLACE INTO buckets (stream, granularity, bucket, "
            + ", ".join(columns)
            + ") VALUES ("
            + ", ".join("?" * (3 + len(columns)))
            + ")"
        )
        numeric = record["value_type"] == "numeric"
        plain = numeric and not record["value_type_options"].get("high_accuracy")
        count = len(buckets)
        value_lists = _columns([v for _b, v, _t in buckets], keys)
        time_lists = _columns([t for _b, _v, t in buckets], list(_TIME_COLUMNS))
        stored_values = [
            values if plain and key not in _TEXT_VALUE_KEYS else [encode(x) for x in values]
            for key, values in zip(keys, value_lists)
        ]
        value_texts = [
            json_texts(values, numeric and key not in _TEXT_VALUE_KEYS)
            for key, values in zip(keys, value_lists)
        ]
        time_texts = [
            timestamp_texts(values) if key in TIMESTAMP_TIME_KEYS else json_texts(values, True)
            for key, values in zip(_TIME_COLUMNS, time_lists)
        ]
        rows = list(
            zip(
                repeat(record["private"], count),
                repeat(GRANULARITY_CODES[granularity], count),
                [b for b, _v, _t in buckets],
                *stored_values,
                *time_lists,
                *value_texts,
                *time_texts,
            )
        )
        self._executemany(sql, rows)

    def fetch_json(self, window: BucketWindow) -> Iterator[tuple[int, bytes | None]]:
        text = _datapoint_json(window)
        order = "DESC" if window.reverse else "ASC"
        sql = (
            f"SELECT bucket, CAST({text} AS BLOB) FROM buckets "  # noqa: S608 - known names
            "WHERE stream = ? AND granularity = ? AND bucket >= ? AND bucket < ? "
            f"ORDER BY bucket {order} LIMIT ?"
        )
        for rows in self._pages(sql, window):
            yield from rows

    def fetch_json_array(self, window: BucketWindow) -> tuple[int, bytes | None]:
        # One statement and one Python object for the whole window. The subquery's ORDER BY
        # cannot be dropped (it has a LIMIT), and group_concat takes its rows in that order.
        text = _datapoint_json(window)
        order = "DESC" if window.reverse else "ASC"
        sql = (
            "SELECT count(*), count(x), CAST('[' || coalesce(group_concat(x, ','), '') || ']' "
            f"AS BLOB) FROM (SELECT {text} AS x FROM buckets "  # noqa: S608 - known names
            "WHERE stream = ? AND granularity = ? AND bucket >= ? AND bucket < ? "
            f"ORDER BY bucket {order} LIMIT ?)"
        )
        lo, hi = window.lo, window.hi
        code = GRANULARITY_CODES[window.granularity]
        params = (window.record["private"], code, lo, hi, (hi - lo) // window.granularity.seconds)
        ((rows, texts, array),) = self._query(sql, params)
        return rows, (array if texts == rows else None)

    def _pages(self, sql: str, window: BucketWindow) -> Iterator[list[tuple]]:
        """Pages of ``sql`` (whose parameters are stream, granularity, lo, hi and a limit and
        whose first column is the bucket start), walking ``window`` in order."""
        stream, code = window.record["private"], GRANULARITY_CODES[window.granularity]
        lo, hi = window.lo, window.hi
        while lo < hi:
            rows = self._query(sql, (stream, code, lo, hi, READ_BATCH))
            yield rows
            if len(rows) < READ_BATCH:
                return
            if window.reverse:
                hi = rows[-1][0]
            else:
                lo = rows[-1][0] + 1

    def fetch(self, window: BucketWindow) -> Iterator[Bucket]:
        value_keys = list(window.value_keys or ())
        time_keys = list(window.time_keys or ())
        record = window.record
        columns = ", ".join(
            ["bucket"]
            + [_VALUE_COLUMNS[k] for k in value_keys]
            + [_TIME_COLUMNS[k] for k in time_keys]
        )
        order = "DESC" if window.reverse else "ASC"
        sql = (
            f"SELECT {columns} FROM buckets WHERE stream = ? AND granularity = ? "
            f"AND bucket >= ? AND bucket < ? ORDER BY bucket {order} LIMIT ?"
        )
        split = 1 + len(value_keys)
        # Only nominal streams, high-accuracy streams and f/o/r hold text that needs decoding.
        decode = (
            record["value_type"] != "numeric"
            or bool(record["value_type_options"].get("high_accuracy"))
            or bool(_TEXT_VALUE_KEYS.intersection(value_keys))
        )
        for rows in self._pages(sql, window):
            if decode:
                yield from [
                    (
                        row[0],
                        dict(zip(value_keys, [loads(v) if type(v) is str else v
                                              for v in row[1:split]])),
                        dict(zip(time_keys, row[split:])),
                    )
                    for row in rows
                ]
            else:
                yield from [
                    (row[0], dict(zip(value_keys, row[1:split])), dict(zip(time_keys, row[split:])))
                    for row in rows
                ]
