"""Converting an SQLite file written by an earlier layout (1 or 2) to the chunk layout (3).

Layouts 1 and 2 kept one row per raw datapoint (``datapoints``, now the write heads) and one
row per bucket (``buckets``, one column per downsampler key, beside its JSON text). The
conversion seals every stream's datapoints into raw chunks, packs its buckets into bucket
chunks and drops the ``buckets`` table, in one transaction: a conversion that stops half way
(a crash, Ctrl-C) leaves the file as it was.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..downsamplers import TIME_KEYS
from ..engine import records
from ..granularity import Granularity
from .sqlite_codec import dumps, loads

if TYPE_CHECKING:
    from .sqlite import Backend

__all__ = ["QUICK_ROWS", "convert", "legacy_rows"]

#: Up to this many datapoint and bucket rows, a file is converted when it is opened; a larger
#: one asks for the conversion command (it takes about a second per million rows).
QUICK_ROWS = 2_000_000

#: ``progress(done, total)``: streams converted so far, of how many.
Progress = Callable[[int, int], None]


def legacy_rows(connection: sqlite3.Connection) -> int:
    """How many datapoint and bucket rows a file of layout 1 or 2 holds."""
    (rows,) = connection.execute("SELECT count(*) FROM datapoints").fetchone()
    if connection.execute("SELECT 1 FROM sqlite_master WHERE name = 'buckets'").fetchone():
        rows += connection.execute("SELECT count(*) FROM buckets").fetchone()[0]
    return rows


def _value(stored: Any) -> Any:
    return loads(stored) if isinstance(stored, str) else stored


def convert(backend: Backend, connection: sqlite3.Connection, progress: Progress | None) -> None:
    """Convert the open file of ``backend`` (layout 1 or 2, tables of layout 3 created) to
    layout 3, in one transaction."""
    from ..engine.chunkstore import ChunkStore  # the engine's layout rules, written once

    store = ChunkStore(backend)
    has_buckets = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE name = 'buckets'"
    ).fetchone()
    streams = connection.execute("SELECT seq, stream_id, record FROM streams").fetchall()
    time_keys = list(TIME_KEYS)
    connection.execute("BEGIN IMMEDIATE")
    try:
        for done, (seq, stream_id, text) in enumerate(streams, 1):
            record = backend._decode_record(seq, stream_id, text)
            (held,) = connection.execute(
                "SELECT count(*) FROM datapoints WHERE stream = ?", (seq,)
            ).fetchone()
            record["head_count"], record["sealed_until"] = held, None
            if held:
                store._seal(record, [])
            if has_buckets:
                value_keys = records.value_keys(record)
                columns = [f"v_{k}" for k in value_keys] + [f"t_{k}" for k in time_keys]
                for code, granularity in enumerate(Granularity.values):
                    rows = connection.execute(
                        f"SELECT bucket, {', '.join(['1', *columns])} FROM buckets "  # noqa: S608 - known names
                        "WHERE stream = ? AND granularity = ? ORDER BY bucket",
                        (seq, code),
                    ).fetchall()
                    buckets = [
                        (
                            row[0],
                            {k: _value(row[2 + i]) for i, k in enumerate(value_keys)},
                            {k: _value(row[2 + len(value_keys) + i])
                             for i, k in enumerate(time_keys)},
                        )
                        for row in rows
                    ]
                    for start in range(0, len(buckets), 100_000):
                        store.upsert_buckets(record, granularity, buckets[start : start + 100_000])
            fields = {k: v for k, v in record.items() if k not in ("stream_id", "private")}
            connection.execute("UPDATE streams SET record = ? WHERE seq = ?", (dumps(fields), seq))
            if progress is not None:
                progress(done, len(streams))
        if has_buckets:
            connection.execute("DROP TABLE buckets")
        connection.execute("PRAGMA user_version = 3")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
