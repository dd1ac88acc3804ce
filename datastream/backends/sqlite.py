"""The embedded storage backend: one SQLite file (or memory), zero set-up.

``Backend(database_name)`` takes a file path (created when missing) or ``':memory:'``. Files
are opened in WAL mode, so several threads and processes can read while one writes; writes are
serialised by SQLite (``BEGIN IMMEDIATE``) and every call is one transaction, so a batch lands
whole or not at all. Each thread (and each forked process) gets its own connection.

Tables::

    streams     (seq INTEGER PRIMARY KEY, stream_id TEXT UNIQUE, record TEXT)   metadata as JSON
    datapoints  (stream, ts, seq, value)   the write heads, PRIMARY KEY (stream, ts, seq),
                WITHOUT ROWID
    chunks      (id INTEGER PRIMARY KEY, stream, series, first, last, count, data BLOB)
                UNIQUE (stream, series, first): raw and bucket chunks
                (:mod:`datastream.engine.chunks`), the bytes beside what an index lists
    counters    (name PRIMARY KEY, value)  the datapoint insertion sequence
    tag_index   (path, kind, value, stream)   user tags, see :mod:`.sqlite_tagindex`;
                tag queries select candidate streams there (and in SQL alone when exact)

Raw values are stored natively when they are integers or floats, as NULL for ``None``, and as
JSON text otherwise (strings, booleans, dictionaries, lists, high-accuracy decimal strings).
Timestamps are integer POSIX seconds, so the supported range is the library's whole range.

A stream record's ``private`` key (:class:`~datastream.storage.StreamRecord`) holds its ``seq``.
A path that cannot hold a database (under a file, in a directory that cannot be written)
raises :class:`~datastream.exceptions.BackendUnavailable` naming it;
:func:`check_database_path` tells the same without touching anything, and
:meth:`Backend.check` checks the settings (opening an existing file read-only when asked to).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import pathlib
import sqlite3
import threading
import uuid
from collections.abc import Iterator, Mapping
from operator import itemgetter
from typing import Any

from .. import exceptions
from ..limits import INT64_MAX, INT64_MIN
from ..storage import BaseStorage, ChunkInfo, Clock, NewChunk, StreamRecord, record_fields
from ..tagquery import Condition, matches
from . import sqlite_tagindex as tagindex
from . import sqlite_upgrade
from .sqlite_codec import NATIVE as _NATIVE
from .sqlite_codec import dumps as _dumps
from .sqlite_codec import encode as _encode
from .sqlite_codec import loads as _loads

__all__ = ["Backend", "check_database_path"]

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS streams (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    stream_id TEXT NOT NULL UNIQUE,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS datapoints (
    stream INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    seq INTEGER NOT NULL,
    value,
    PRIMARY KEY (stream, ts, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT OR IGNORE INTO counters (name, value) VALUES ('datapoint_seq', 0);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    stream INTEGER NOT NULL,
    series INTEGER NOT NULL,
    first INTEGER NOT NULL,
    last INTEGER NOT NULL,
    count INTEGER NOT NULL,
    data BLOB NOT NULL,
    UNIQUE (stream, series, first)
);
"""

#: The layout version, kept in ``PRAGMA user_version`` (2 added the tag index, 3 the chunks).
SCHEMA_VERSION = 3
#: Layouts this version converts on open (see :mod:`datastream.upgrade`).
CONVERTIBLE_VERSIONS = (1, 2)

#: Stream ids bound in one ``IN (...)`` (well under SQLite's variable limit).
_IDS_PER_QUERY = 500
_VALUE = itemgetter(1)


def check_database_path(database_name: str | os.PathLike) -> str | None:
    """Why ``database_name`` cannot hold an SQLite database, or ``None`` when it can.

    Looks only: nothing is created or opened. ``':memory:'`` is always fine.
    """
    name = os.fspath(database_name)
    if name == ":memory:":
        return None
    path = os.path.abspath(name)
    if os.path.isdir(path):
        return f"SQLite database path {path} is a directory"
    if os.path.exists(path):
        if not os.path.isfile(path):
            return f"SQLite database path {path} is not a regular file"
        if not os.access(path, os.R_OK | os.W_OK):
            return f"SQLite database {path} is not readable and writable"
    directory = os.path.dirname(path)
    existing = directory
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"Cannot use SQLite database {path}: {existing} is not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        what = "directory" if existing == directory else "missing directory under"
        return f"Cannot use SQLite database {path}: cannot write the {what} {existing}"
    return None


class Backend(BaseStorage):
    """Datastream storage in an SQLite database file (``database_name``) or in memory.

    ``clock`` is the default clock of a :class:`~datastream.Datastream` built on it. The
    original's backend attributes (``value_downsamplers``, ``time_downsamplers`` and the
    capability flags) come from :class:`~datastream.storage.BaseStorage`. Besides the
    storage methods, it can switch databases (:class:`~datastream.storage.SwitchableStorage`).
    """

    def __init__(self, database_name: str, clock: Clock | None = None) -> None:
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be a callable returning a datetime, not {clock!r}")
        if not isinstance(database_name, str | os.PathLike) or not str(database_name):
            raise ValueError(
                f"database_name must be a file path or ':memory:', not {database_name!r}"
            )
        if clock is not None:
            self.clock = clock
        self._local = threading.local()
        self._open(str(database_name))

    def __repr__(self) -> str:
        return f"<datastream.backends.sqlite.Backend {self.database_name!r}>"

    @classmethod
    def check(cls, settings: Mapping[str, Any], *, connect: bool = False) -> list[str]:
        """What is wrong with ``Backend(**settings)``, found without creating or writing
        anything: an empty list when nothing is.

        The path is only looked at (:func:`check_database_path`); with ``connect`` an
        existing file is also opened read-only and its layout read. A missing file (and
        directory) is fine: the backend creates it on first use.
        """
        name = settings.get("database_name")
        if not isinstance(name, str | os.PathLike) or not str(name):
            return [f"database_name must be a file path or ':memory:', not {name!r}"]
        if os.fspath(name) == ":memory:":
            return []
        problem = check_database_path(name)
        if problem is not None:
            return [f"{problem}; give the path of an SQLite file in a writable directory"]
        path = os.path.abspath(os.fspath(name))
        if not connect or not os.path.exists(path):
            return []
        # immutable: no lock files (-wal, -shm) are created beside a WAL database just to look.
        try:
            uri = pathlib.Path(path).as_uri() + "?mode=ro&immutable=1"
            connection = sqlite3.connect(uri, uri=True)
        except sqlite3.Error as error:
            return [f"Opening the SQLite database {path!r} failed: {error!r}"]
        try:
            (version,) = connection.execute("PRAGMA user_version").fetchone()
            (existing,) = connection.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'streams'"
            ).fetchone()
        except sqlite3.Error as error:
            return [f"Opening the SQLite database {path!r} failed: {error!r}"]
        finally:
            connection.close()
        if version not in (SCHEMA_VERSION, *CONVERTIBLE_VERSIONS) and (existing or version):
            return [
                f"{path} holds datastream data in layout {version}, this version uses layout "
                f"{SCHEMA_VERSION}; export the data or use a new file"
            ]
        return []

    # Connections ---------------------------------------------------------------------------

    def _open(self, database_name: str) -> None:
        self.database_name = database_name
        self._memory = database_name == ":memory:"
        # A memory database is shared by every thread of this backend through one connection.
        self._lock: Any = threading.RLock() if self._memory else contextlib.nullcontext()
        self._shared: sqlite3.Connection | None = None
        self._generation = uuid.uuid4().hex
        with self._lock:
            connection = self._conn()
            (version,) = connection.execute("PRAGMA user_version").fetchone()
            existing = connection.execute(
                "SELECT count(*) FROM sqlite_master WHERE name = 'streams'"
            ).fetchone()[0]
            if version not in (SCHEMA_VERSION, *CONVERTIBLE_VERSIONS) and (existing or version):
                raise ValueError(
                    f"{database_name} holds datastream data in layout {version}, this version "
                    f"uses layout {SCHEMA_VERSION}; export the data or use a new file"
                )
            self._record_cache: dict[int, tuple[str, StreamRecord]] = {}
            if existing and version in CONVERTIBLE_VERSIONS:
                self._convert(connection, version, self._pending_progress)
            connection.executescript(_SCHEMA + tagindex.SCHEMA)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    #: ``progress(done, total)`` of the next conversion on open (:meth:`upgrade` sets it).
    _pending_progress: sqlite_upgrade.Progress | None = None
    #: Whether opening converts a file of an earlier layout however large (:meth:`upgrade`).
    _convert_any_size = False

    def _convert(
        self,
        connection: sqlite3.Connection,
        version: int,
        progress: sqlite_upgrade.Progress | None,
    ) -> None:
        """Convert a file of layout 1 or 2 (see :mod:`.sqlite_upgrade`), when quick or asked."""
        rows = sqlite_upgrade.legacy_rows(connection)
        if rows > sqlite_upgrade.QUICK_ROWS and not self._convert_any_size:
            raise exceptions.BackendUnavailable(
                f"{os.path.abspath(self.database_name)} holds {rows:,} datapoints and buckets "
                f"in layout {version}; this version stores them in chunks (layout "
                f"{SCHEMA_VERSION}). Convert the file once with `manage.py upgrade_datastream` "
                "(or `python -m datastream.upgrade PATH`); nothing is lost"
            )
        logger.warning(
            "Converting %s (%s rows) from layout %s to layout %s",
            self.database_name, f"{rows:,}", version, SCHEMA_VERSION,
        )
        connection.executescript(_SCHEMA + tagindex.SCHEMA)
        if version == 1:
            self._index_every_stream(connection)
        sqlite_upgrade.convert(self, connection, progress)

    @classmethod
    def upgrade(
        cls,
        settings: Mapping[str, Any],
        progress: sqlite_upgrade.Progress | None = None,
    ) -> bool:
        """Convert the file of ``settings`` from an earlier layout, however large (with
        ``progress(done, total)`` per stream); whether there was anything to convert."""
        name = os.fspath(settings["database_name"])
        if name == ":memory:" or not os.path.exists(name):
            return False
        connection = sqlite3.connect(name)
        try:
            (version,) = connection.execute("PRAGMA user_version").fetchone()
        finally:
            connection.close()
        if version not in CONVERTIBLE_VERSIONS:
            return False
        backend = cls.__new__(cls)
        backend._pending_progress, backend._convert_any_size = progress, True
        cls.__init__(backend, name)
        backend.close()
        return True

    @staticmethod
    def _index_every_stream(connection: sqlite3.Connection) -> None:
        """Fill the tag index of a layout 1 file (which had none)."""
        connection.execute("BEGIN IMMEDIATE")
        try:
            for seq, text in connection.execute("SELECT seq, record FROM streams").fetchall():
                tagindex.replace(connection, seq, _loads(text)["tags"])
        except BaseException:
            connection.execute("ROLLBACK")
            raise
        connection.execute("COMMIT")

    def _connect(self) -> sqlite3.Connection:
        if self._memory:
            connection = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        else:
            problem = check_database_path(self.database_name)
            if problem is not None:
                raise exceptions.BackendUnavailable(problem)
            try:
                os.makedirs(os.path.dirname(os.path.abspath(self.database_name)), exist_ok=True)
                connection = sqlite3.connect(self.database_name, isolation_level=None, timeout=60)
                connection.execute("PRAGMA journal_mode=WAL")
            except (OSError, sqlite3.OperationalError) as error:
                raise exceptions.BackendUnavailable(
                    f"Cannot open SQLite database {os.path.abspath(self.database_name)}: {error}"
                ) from None
            connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA busy_timeout=60000")
        return connection

    def _conn(self) -> sqlite3.Connection:
        if self._memory:
            if self._shared is None:
                self._shared = self._connect()
            return self._shared
        local = self._local
        key = (os.getpid(), self._generation)
        if getattr(local, "key", None) != key:
            local.connection = self._connect()
            local.key = key
        return local.connection

    def switch_database(self, database_name: str) -> None:
        """Use another SQLite file (or ``':memory:'``) from now on."""
        self.close()
        self._open(database_name)

    def close(self) -> None:
        """Close this thread's connection (others close when their threads end)."""
        if self._shared is not None:
            self._shared.close()
            self._shared = None
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None
            self._local.key = None

    # Units of work --------------------------------------------------------------------------

    @contextlib.contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """One ``BEGIN IMMEDIATE`` transaction: writers are serialised, readers see a snapshot."""
        if self._memory:
            self._lock.acquire()
        try:
            connection = self._conn()
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        finally:
            if self._memory:
                self._lock.release()

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            return self._conn().execute(sql, params).fetchall()

    # Streams --------------------------------------------------------------------------------

    @staticmethod
    def _decode_record(seq: int, stream_id: str, text: str) -> StreamRecord:
        record: StreamRecord = _loads(text)
        record["stream_id"] = stream_id
        record["private"] = seq
        return record

    def load_stream(self, stream_id: str) -> StreamRecord | None:
        rows = self._query(
            "SELECT seq, stream_id, record FROM streams WHERE stream_id = ?", (stream_id,)
        )
        return self._decode_record(*rows[0]) if rows else None

    def load_streams(self, stream_ids: list[str]) -> list[StreamRecord]:
        records = []
        with self._lock:
            connection = self._conn()
            for start in range(0, len(stream_ids), _IDS_PER_QUERY):
                chunk = stream_ids[start : start + _IDS_PER_QUERY]
                marks = ",".join("?" * len(chunk))
                rows = connection.execute(
                    f"SELECT seq, stream_id, record FROM streams WHERE stream_id IN ({marks})",  # noqa: S608 - only marks
                    chunk,
                ).fetchall()
                records.extend(self._decode_record(*row) for row in rows)
        return records

    def _cached_record(self, seq: int, stream_id: str, text: str) -> StreamRecord:
        """A decoded record for reading only, decoded again only when its text changed."""
        cached = self._record_cache.get(seq)
        if cached is not None and cached[0] == text:
            return cached[1]
        record = self._decode_record(seq, stream_id, text)
        self._record_cache[seq] = (text, record)
        return record

    def list_streams(
        self, conditions: list[Condition], offset: int = 0, limit: int | None = None
    ) -> list[StreamRecord]:
        select = "SELECT seq, stream_id, record FROM streams"
        with self._lock:
            plan = self._plan(conditions)
            where = f" WHERE {plan.where}" if plan.where else ""
            if plan.exact:
                rows = self._conn().execute(
                    f"{select}{where} ORDER BY seq LIMIT ? OFFSET ?",  # noqa: S608 - planned
                    (*plan.params, -1 if limit is None else limit, offset),
                ).fetchall()
                return [self._cached_record(*row) for row in rows]
            rows = self._conn().execute(f"{select}{where} ORDER BY seq", plan.params).fetchall()
        # The index gave a superset: the matcher decides.
        records = (self._cached_record(*row) for row in rows)
        found = (r for r in records if matches(conditions, r["tags"]))
        stop = None if limit is None else offset + limit
        return list(itertools.islice(found, offset, stop))

    def count_streams(self, conditions: list[Condition]) -> int:
        with self._lock:
            plan = self._plan(conditions)
            if plan.exact:
                where = f" WHERE {plan.where}" if plan.where else ""
                return self._conn().execute(
                    f"SELECT count(*) FROM streams{where}", plan.params  # noqa: S608 - planned
                ).fetchone()[0]
        return len(self.list_streams(conditions))

    def _plan(self, conditions: list[Condition]) -> tagindex.Plan:
        connection = self._conn()
        return tagindex.plan(
            conditions,
            lambda path: tagindex.has_opaque(connection, path),
            lambda where, params, cap: tagindex.capped_count(connection, where, params, cap),
        )

    def insert_stream(self, record: StreamRecord) -> None:
        with self._lock:
            cursor = self._conn().execute(
                "INSERT INTO streams (stream_id, record) VALUES (?, ?)",
                (record["stream_id"], _dumps(record_fields(record))),
            )
            record["private"] = cursor.lastrowid
            tagindex.replace(self._conn(), record["private"], record["tags"])

    def update_streams(self, changes: list[tuple[StreamRecord, dict[str, Any]]]) -> None:
        # Each record was loaded in this unit of work and holds every field's new value.
        with self._lock:
            connection = self._conn()
            connection.executemany(
                "UPDATE streams SET record = ? WHERE seq = ?",
                [(_dumps(record_fields(record)), record["private"]) for record, _ in changes],
            )
            for record, fields in changes:
                if "tags" in fields:
                    tagindex.replace(connection, record["private"], record["tags"])

    def delete_streams(self, stream_ids: list[str] | None) -> None:
        with self._lock:
            connection = self._conn()
            if stream_ids is None:
                for table in ("datapoints", "chunks", "streams", "tag_index"):
                    connection.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed names
                return
            for stream_id in stream_ids:
                row = connection.execute(
                    "SELECT seq FROM streams WHERE stream_id = ?", (stream_id,)
                ).fetchone()
                if row is None:
                    continue
                connection.execute("DELETE FROM datapoints WHERE stream = ?", row)
                connection.execute("DELETE FROM chunks WHERE stream = ?", row)
                connection.execute("DELETE FROM streams WHERE seq = ?", row)
                tagindex.remove(connection, [row[0]])

    # Write heads ---------------------------------------------------------------------------

    def insert_datapoints(self, rows: list[tuple[StreamRecord, int, Any]]) -> None:
        with self._lock:
            connection = self._conn()
            (start,) = connection.execute(
                "SELECT value FROM counters WHERE name = 'datapoint_seq'"
            ).fetchone()
            stored = [
                (
                    record["private"],
                    seconds,
                    start + index,
                    value if type(value) in _NATIVE and INT64_MIN <= value <= INT64_MAX
                    else _encode(value),
                )
                for index, (record, seconds, value) in enumerate(rows, 1)
            ]
            connection.executemany("INSERT INTO datapoints VALUES (?, ?, ?, ?)", stored)
            connection.execute(
                "UPDATE counters SET value = ? WHERE name = 'datapoint_seq'",
                (start + len(stored),),
            )

    def fetch_head(self, record: StreamRecord) -> list[tuple[int, Any]]:
        rows = self._query(
            "SELECT ts, value FROM datapoints WHERE stream = ? ORDER BY ts, seq",
            (record["private"],),
        )
        if rows and str in set(map(type, map(_VALUE, rows))):
            return [(t, _loads(v) if type(v) is str else v) for t, v in rows]
        return rows

    def clear_head(self, record: StreamRecord, before: int | None = None) -> None:
        if before is None:
            self._query("DELETE FROM datapoints WHERE stream = ?", (record["private"],))
        else:
            self._query(
                "DELETE FROM datapoints WHERE stream = ? AND ts < ?", (record["private"], before)
            )

    # Chunks ----------------------------------------------------------------------------------

    @contextlib.contextmanager
    def read_snapshot(self) -> Iterator[None]:  # type: ignore[override]
        """A read transaction (within a unit of work: the unit's own)."""
        with self._lock:
            connection = self._conn()
            if connection.in_transaction:
                yield
                return
            connection.execute("BEGIN")
            try:
                yield
            finally:
                connection.execute("COMMIT")

    def chunk_index(
        self, record: StreamRecord, series: int, lo: int, hi: int
    ) -> list[ChunkInfo]:
        # From the last chunk starting before lo (the only earlier one that can reach lo).
        rows = self._query(
            "SELECT id, first, last, count FROM chunks WHERE stream = ?1 AND series = ?2 "
            "AND first >= coalesce((SELECT max(first) FROM chunks WHERE stream = ?1 AND "
            "series = ?2 AND first < ?3), ?3) AND first < ?4 AND last >= ?3 ORDER BY first",
            (record["private"], series, lo, hi),
        )
        return [ChunkInfo(*row) for row in rows]

    def chunk_data(self, ids: list[Any]) -> dict[Any, bytes]:
        found: dict[Any, bytes] = {}
        for start in range(0, len(ids), _IDS_PER_QUERY):
            part = ids[start : start + _IDS_PER_QUERY]
            marks = ",".join("?" * len(part))
            found.update(
                self._query(f"SELECT id, data FROM chunks WHERE id IN ({marks})", tuple(part))  # noqa: S608 - only marks
            )
        return found

    def write_chunks(
        self, record: StreamRecord, series: int, remove: list[Any], add: list[NewChunk]
    ) -> None:
        with self._lock:
            connection = self._conn()
            connection.executemany("DELETE FROM chunks WHERE id = ?", [(i,) for i in remove])
            connection.executemany(
                "INSERT INTO chunks (stream, series, first, last, count, data) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(record["private"], series, c.first, c.last, c.count, c.data) for c in add],
            )

    def delete_chunks(
        self, record: StreamRecord, series: int | None = None, before: int | None = None
    ) -> None:
        where, params = "stream = ?", [record["private"]]
        if series is not None:
            where, params = where + " AND series = ?", [*params, series]
        if before is not None:
            where, params = where + " AND last < ?", [*params, before]
        self._query(f"DELETE FROM chunks WHERE {where}", tuple(params))  # noqa: S608 - fixed
