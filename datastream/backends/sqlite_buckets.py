"""The SQLite storage's downsampled buckets: one row per stored bucket, one column per key.

Each value and time downsampler key has its own column (reads fetch only the requested ones,
without JSON decoding) and its own JSON text column (``j<column>``), so that JSON responses are
assembled by SQLite without Python objects; ``jt`` holds the whole time part.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator
from itertools import repeat
from operator import itemgetter
from typing import Any

from ..constants import TIME_DOWNSAMPLERS, VALUE_DOWNSAMPLERS
from ..granularity import GRANULARITY_CODES, GranularityType
from ..jsonformat import dumps as datapoint_dumps
from ..storage import StreamRecord
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


_BATCH = 10000


def _datetimes(seconds: list[int]) -> list[datetime.datetime]:
    at = datetime.datetime.fromtimestamp
    return [at(x, datetime.UTC) for x in seconds]


def _json_texts(values: list[Any], simple: bool) -> list[str]:
    """The JSON text of each value (see datastream.jsonformat). ``simple`` values (numbers,
    ``None``, datetimes) hold no comma, so one array is written and split: no Python call per
    value."""
    if simple:
        try:
            return _split_array(values)
        except TypeError:  # integers beyond 64 bits
            pass
    return [datapoint_dumps(value).decode() for value in values]


def _split_array(values: list[Any]) -> list[str]:
    text = datapoint_dumps(values).decode()
    return text[1:-1].split(",") if values else []


def _columns(summaries: list[dict], keys: list[str]) -> list[list[Any]]:
    """``[[summary.get(key) for summary in summaries] for key in keys]``, without a Python
    call per summary when every summary holds every key."""
    try:
        return [list(map(itemgetter(key), summaries)) for key in keys]
    except KeyError:
        return [[summary.get(key) for summary in summaries] for key in keys]


def _datapoint_json(
    record: StreamRecord, value_keys: list[str] | None, time_keys: list[str] | None
) -> str:
    """The SQL expression of a bucket's datapoint JSON text, assembled by SQLite from each
    stored value's JSON text (no parsing, no Python object) with one printf (a chain of ||
    copies the growing text at every step). A NULL text makes the expression NULL."""
    stored = [VALUE_DOWNSAMPLERS[name] for name in record["value_downsamplers"]]
    parts, columns = [], []
    if time_keys is not None:
        if list(time_keys) == list(_TIME_COLUMNS):
            parts.append('"t":%s')
            columns.append("jt")
        else:
            parts.append('"t":{' + ",".join(f'"{k}":%s' for k in time_keys) + "}")
            columns += [f"j{_TIME_COLUMNS[k]}" for k in time_keys]
    if value_keys is not None:
        keys = [k for k in value_keys if k in stored]
        parts.append('"v":{' + ",".join(f'"{k}":%s' for k in keys) + "}")
        columns += [f"j{_VALUE_COLUMNS[k]}" for k in keys]
    text = f"printf('{{{','.join(parts)}}}'{''.join(', ' + c for c in columns)})"
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
        self,
        record: StreamRecord,
        granularity: GranularityType,
        buckets: list[tuple[int, dict, dict]],
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
            _json_texts(values, numeric and key not in _TEXT_VALUE_KEYS)
            for key, values in zip(keys, value_lists)
        ]
        time_texts = [
            _json_texts(_datetimes(values) if key in ("a", "z", "m") else values, True)
            for key, values in zip(_TIME_COLUMNS, time_lists)
        ]
        rows = list(
            zip(
                repeat(record.private, count),
                repeat(GRANULARITY_CODES[granularity], count),
                [b for b, _v, _t in buckets],
                *stored_values,
                *time_lists,
                *value_texts,
                *time_texts,
            )
        )
        self._executemany(sql, rows)

    def fetch_json(
        self,
        record: StreamRecord,
        granularity: GranularityType,
        lo: int,
        hi: int,
        reverse: bool,
        value_keys: list[str] | None,
        time_keys: list[str] | None,
    ) -> Iterator[tuple[int, bytes]]:
        text = _datapoint_json(record, value_keys, time_keys)
        order = "DESC" if reverse else "ASC"
        sql = (
            f"SELECT bucket, CAST({text} AS BLOB) FROM buckets "  # noqa: S608 - known names
            "WHERE stream = ? AND granularity = ? AND bucket >= ? AND bucket < ? "
            f"ORDER BY bucket {order} LIMIT ?"
        )
        for rows in self._pages(sql, record, granularity, lo, hi, reverse):
            yield from rows

    def fetch_json_array(
        self,
        record: StreamRecord,
        granularity: GranularityType,
        lo: int,
        hi: int,
        reverse: bool,
        value_keys: list[str] | None,
        time_keys: list[str] | None,
    ) -> tuple[int, bytes | None]:
        # One statement and one Python object for the whole window. The subquery's ORDER BY
        # cannot be dropped (it has a LIMIT), and group_concat takes its rows in that order.
        text = _datapoint_json(record, value_keys, time_keys)
        order = "DESC" if reverse else "ASC"
        size = granularity.seconds
        sql = (
            "SELECT count(*), count(x), CAST('[' || coalesce(group_concat(x, ','), '') || ']' "
            f"AS BLOB) FROM (SELECT {text} AS x FROM buckets "  # noqa: S608 - known names
            "WHERE stream = ? AND granularity = ? AND bucket >= ? AND bucket < ? "
            f"ORDER BY bucket {order} LIMIT ?)"
        )
        params = (record.private, GRANULARITY_CODES[granularity], lo, hi, (hi - lo) // size)
        ((rows, texts, array),) = self._query(sql, params)
        return rows, (array if texts == rows else None)

    def _pages(
        self,
        sql: str,
        record: StreamRecord,
        granularity: GranularityType,
        lo: int,
        hi: int,
        reverse: bool,
    ) -> Iterator[list[tuple]]:
        """Pages of ``sql`` (whose parameters are stream, granularity, lo, hi and a limit and
        whose first column is the bucket start), walking ``[lo, hi)`` in order."""
        code = GRANULARITY_CODES[granularity]
        while lo < hi:
            rows = self._query(sql, (record.private, code, lo, hi, _BATCH))
            yield rows
            if len(rows) < _BATCH:
                return
            if reverse:
                hi = rows[-1][0]
            else:
                lo = rows[-1][0] + 1

    def fetch(
        self,
        record: StreamRecord,
        granularity: GranularityType,
        lo: int,
        hi: int,
        reverse: bool,
        value_keys: list[str] | None = None,
        time_keys: list[str] | None = None,
    ) -> Iterator[tuple[int, dict, dict]]:
        stored = [VALUE_DOWNSAMPLERS[name] for name in record["value_downsamplers"]]
        value_keys = stored if value_keys is None else [k for k in value_keys if k in stored]
        time_keys = list(_TIME_COLUMNS) if time_keys is None else list(time_keys)
        columns = ", ".join(
            ["bucket"]
            + [_VALUE_COLUMNS[k] for k in value_keys]
            + [_TIME_COLUMNS[k] for k in time_keys]
        )
        order = "DESC" if reverse else "ASC"
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
        for rows in self._pages(sql, record, granularity, lo, hi, reverse):
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
