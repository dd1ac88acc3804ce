"""Opaque paging cursors that stay exact while data is appended.

A cursor is a signed, URL-safe token (Django's :mod:`django.core.signing`, keyed by
``SECRET_KEY``) holding where the previous page ended and a digest of the query it belongs to.
A token that was altered, made by another server, or made for another query (another stream,
granularity, range, order, filter…) is refused with :class:`InvalidCursor` (HTTP 400).

Datapoints (:class:`DatapointPosition`) are positioned by time, not by index, so that
datapoints appended meanwhile neither shift nor repeat a page:

* a downsampled page ends at a bucket; the next page starts after that bucket's start;
* a raw page ends at a datapoint at second ``time``; ``skip`` is how many datapoints the
  next read skips from the start a raw read rounds ``time`` down to (to the stream's highest
  granularity) — those before ``time``, which in-order appends cannot change, and those of
  ``time`` already returned. Datapoints of one second come in insertion order, and in-order
  appends land at or after the latest second, hence after the cursor.
* newest first, appends at ``time`` itself come *before* the ones returned: ``seen`` (how many
  datapoints that second had) lets the next page skip the new ones too. (A datapoint appended
  at exactly that second while the page is being made may come once more.)

The stream list is positioned by the number of streams returned and the last stream's id
(:class:`ListPosition`).
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import hashlib
import json
import re
import zlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from django.core import signing

from datastream import Datapoints
from datastream.constants import TIME_DOWNSAMPLERS
from datastream.granularity import from_seconds, to_seconds
from datastream.limits import INT64_MAX, MAX_BOUND_SECONDS, MIN_BOUND_SECONDS

from ..params.parse import CursorParameter, QueryError

if TYPE_CHECKING:
    from .request import DetailRequest

__all__ = [
    "DATAPOINTS",
    "STREAMS",
    "DatapointPosition",
    "InvalidCursor",
    "ListPosition",
    "MAX_CURSOR_LENGTH",
    "TOKEN_PATTERN",
    "Window",
    "continue_datapoints",
    "datapoints_scope",
    "decode_cursor",
    "encode_cursor",
    "next_datapoints_cursor",
    "page_position",
    "position_after",
    "query_digest",
    "window_after_cursor",
]

#: Longest token accepted (real ones are well under 200 characters).
MAX_CURSOR_LENGTH = 512

_SALT = "django_datastream.cursor"
# "~" is unreserved in URLs and not in the base64url alphabet of the signed value.
_SEPARATOR = "~"
_DIGEST_LENGTH = 12
_TIMES_IN_BUCKET = ("first", "last", "mean")
#: What a token is made of (``django.core.signing``): an optional ``.`` (compressed), the
#: base64url value, the separator and the base64url signature. ASCII only: ``str.isalnum``,
#: ``\d`` and ``int()`` would take other scripts' letters and digits.
TOKEN_PATTERN = r"\.?[A-Za-z0-9_-]+~[A-Za-z0-9_-]+"
_TOKEN = re.compile(TOKEN_PATTERN, re.ASCII)
#: Time range of a position (POSIX seconds): every second a ``datetime`` holds, the bounds the
#: API accepts for ``start`` and ``end``.
_TIME_RANGE = (MIN_BOUND_SECONDS, MAX_BOUND_SECONDS)

GetData = Callable[..., Datapoints]


class InvalidCursor(QueryError):
    """A cursor that cannot be used here; the message says why (answered 400)."""


#: Cursor kinds: a cursor of one is refused by the other.
DATAPOINTS = "datapoints"
STREAMS = "streams"


def query_digest(scope: Any) -> str:
    """A short digest of ``scope`` (JSON-able data describing the query a cursor belongs to)."""
    text = signing.JSONSerializer().dumps(_jsonable(scope))
    return hashlib.blake2b(text, digest_size=_DIGEST_LENGTH).hexdigest()


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in sorted(value.items())}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if value is None or isinstance(value, str | int | float | bool):
        return value
    name = getattr(value, "name", None)  # granularity classes
    return name if isinstance(name, str) else str(value)


def _signer(kind: str) -> signing.Signer:
    return signing.Signer(salt=f"{_SALT}.{kind}", sep=_SEPARATOR)


class _AsciiJSONSerializer:
    """``django.core.signing``'s JSON serializer, reading ASCII JSON only (a signed payload
    is compact ASCII JSON of integers and a hex digest)."""

    def dumps(self, obj: Any) -> bytes:
        return signing.JSONSerializer().dumps(obj)

    def loads(self, data: bytes) -> Any:
        if not data.isascii():
            raise ValueError("a cursor payload is ASCII")
        return json.loads(data.decode("ascii"))


def encode_cursor(kind: str, scope: Any, position: list[int]) -> str:
    """A signed token for ``position`` (integers) in the query described by ``scope``."""
    return _signer(kind).sign_object([query_digest(scope), *position])


def decode_cursor(token: str, kind: str, scope: Any, parameter: str = "cursor") -> list[int]:
    """The position in ``token``; raises :class:`InvalidCursor` (naming ``parameter``) unless
    this server made it for ``kind`` and the same ``scope``, and the position is one a page
    of ``kind`` can end at (``datapoints``: :class:`DatapointPosition`, ``streams``:
    :class:`ListPosition`). The token is read with ASCII rules only."""
    shown = token if len(token) <= 40 else token[:40] + "…"
    if len(token) > MAX_CURSOR_LENGTH:
        raise InvalidCursor(f"Invalid cursor {shown!r} in parameter '{parameter}': too long.")
    try:
        if not _TOKEN.fullmatch(token):
            raise ValueError("not a token")
        payload = _signer(kind).unsign_object(token, serializer=_AsciiJSONSerializer)
    except (signing.BadSignature, ValueError, UnicodeError, zlib.error):
        raise InvalidCursor(
            f"Invalid cursor {shown!r} in parameter '{parameter}': it was not made by this "
            "server for this kind of page, or it was altered. Use the meta.next_cursor of a "
            "response as it is."
        ) from None
    if (
        not isinstance(payload, list)
        or not payload
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in payload[1:])
    ):
        raise InvalidCursor(f"Invalid cursor {shown!r} in parameter '{parameter}'.")
    if payload[0] != query_digest(scope):
        raise InvalidCursor(
            f"The cursor in parameter '{parameter}' belongs to another query: keep every other "
            "parameter (stream, granularity, range, order, downsamplers, filters) as in the "
            "request that returned it; only limit and format may change."
        )
    position = _POSITION_TYPES.get(kind)
    problem = position.problem(payload[1:]) if position is not None else None
    if problem is not None:
        raise InvalidCursor(f"Invalid cursor {shown!r} in parameter '{parameter}': {problem}.")
    return payload[1:]


def _time_problem(seconds: int) -> str | None:
    low, high = _TIME_RANGE
    if low <= seconds <= high:
        return None
    return (
        f"its position ({seconds} s) is outside the supported time range "
        "(0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z)"
    )


def _count_problem(count: int) -> str | None:
    if 0 <= count <= INT64_MAX:
        return None
    return f"its position holds the count {count}, outside 0 to {INT64_MAX}"


# Datapoints -----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DatapointPosition:
    """Where a page of datapoints ended (see the module docstring)."""

    #: POSIX seconds of the last datapoint returned, or the start of its bucket.
    time: int
    #: Raw: datapoints at ``time`` returned so far (in the direction of the query).
    skip: int = 0
    #: Raw, newest first: datapoints at ``time`` when the position was taken.
    seen: int = 0

    def to_list(self) -> list[int]:
        return [self.time, self.skip, self.seen]

    @staticmethod
    def problem(values: list[int]) -> str | None:
        """What is wrong with ``values`` as a position (``None``: nothing): three integers,
        a time in the supported range, counts from 0 to 2**63 - 1."""
        if len(values) != 3:
            return "malformed position"
        return _time_problem(values[0]) or _count_problem(values[1]) or _count_problem(values[2])

    @classmethod
    def from_list(cls, values: list[int]) -> DatapointPosition:
        problem = cls.problem(values)
        if problem is not None:
            raise InvalidCursor(f"Invalid cursor: {problem}.")
        return cls(*values)


def _is_raw(arguments: Mapping[str, Any], highest: Any) -> bool:
    return arguments["granularity"] >= highest


@dataclasses.dataclass(frozen=True)
class Window:
    """What to read for a page: ``get_data(**arguments)[offset:offset + limit]``."""

    arguments: dict[str, Any]
    offset: int = 0
    #: Where the window continues from (``None``: the first page, or a page by offset).
    position: DatapointPosition | None = None


def position_after(
    get_data: GetData, window: Window, highest: Any, times: list[int | None]
) -> DatapointPosition:
    """The position after a page read from ``window``, given the time of each datapoint of the
    page (POSIX seconds; for buckets any second inside the bucket, or ``None`` when the page
    does not show one). ``highest`` is the stream's highest granularity. ``times`` must not
    be empty."""
    arguments = window.arguments
    granularity = arguments["granularity"]
    if not _is_raw(arguments, highest):
        last = times[-1]
        if last is None:  # only interval time downsamplers were asked for: read its time
            index = window.offset + len(times) - 1
            first = get_data(**{**arguments, "time_downsamplers": ["first"]})
            item = next(iter(first[index : index + 1]))  # one bucket read, not a batch
            last = to_seconds(item["t"][TIME_DOWNSAMPLERS["first"]])
        return DatapointPosition(granularity.round_seconds(last))
    seconds = times[-1]
    assert seconds is not None
    moment = from_seconds(seconds)
    # The datapoints of this second at the end of the page.
    run = next((i for i, t in enumerate(reversed(times)) if t != seconds), len(times))
    previous = window.position
    same_second = run == len(times) and previous is not None and previous.time == seconds
    if not arguments["reverse"]:
        # ``skip`` counts from the start a raw read rounds ``seconds`` down to (its bucket at
        # the stream's highest granularity) through the last datapoint returned.
        if same_second:
            assert previous is not None
            return DatapointPosition(seconds, previous.skip + run)
        skip = run + _count_before(get_data, arguments, highest, moment)
        if run == len(times) and previous is None and window.offset:
            # Datapoints of this second may precede the page; earlier ones cannot be appended.
            earlier = get_data(**{**arguments, "end": None, "end_exclusive": moment}).count()
            skip += window.offset - earlier
        return DatapointPosition(seconds, skip)
    if same_second:
        assert previous is not None
        return DatapointPosition(seconds, previous.skip + run, previous.seen)
    returned = run
    if run == len(times) and previous is None and window.offset:
        newer = (
            get_data(**arguments).count()
            - get_data(**{**arguments, "end": moment, "end_exclusive": None}).count()
        )
        returned += window.offset - newer
    return DatapointPosition(seconds, returned, _count_at(get_data, arguments, moment))


def _count_before(
    get_data: GetData, arguments: Mapping[str, Any], highest: Any, moment: datetime.datetime
) -> int:
    """Raw datapoints from the start of the highest-granularity bucket holding ``moment`` up
    to (excluding) ``moment``."""
    if highest.seconds == 1:
        return 0
    bounds = {"start": moment, "start_exclusive": None, "end": None, "end_exclusive": moment}
    return get_data(**{**arguments, **bounds}).count()


def _count_at(get_data: GetData, arguments: Mapping[str, Any], moment: datetime.datetime) -> int:
    """Raw datapoints at the second ``moment``. Both counts run from the start of the
    highest-granularity bucket holding ``moment`` (a raw read rounds its start down to it),
    so they cost no more than that bucket, however long the stream."""
    near = {**arguments, "start": moment, "start_exclusive": None}
    through = get_data(**{**near, "end": moment, "end_exclusive": None}).count()
    return through - get_data(**{**near, "end": None, "end_exclusive": moment}).count()


def continue_datapoints(
    get_data: GetData, arguments: Mapping[str, Any], highest: Any, position: DatapointPosition
) -> Window:
    """The window that continues the query ``arguments`` (``get_data`` keyword arguments)
    right after ``position``."""
    moment = from_seconds(position.time)
    continued = dict(arguments)
    if not _is_raw(arguments, highest):
        if arguments["reverse"]:
            continued.update(end=None, end_exclusive=moment)
        else:
            continued.update(start=None, start_exclusive=moment)
        return Window(continued, 0, position)
    if not arguments["reverse"]:
        continued.update(start=moment, start_exclusive=None)
        return Window(continued, position.skip, position)
    continued.update(end=moment, end_exclusive=None)
    appended = max(0, _count_at(get_data, arguments, moment) - position.seen)
    return Window(continued, position.skip + appended, position)


def page_position(
    get_data: GetData, window: Window, highest: Any, length: int
) -> DatapointPosition:
    """The position after a page of ``length`` (> 0) datapoints read from ``window``, found
    without the page's own datapoints (which a JSON answer never turns into Python objects):
    one datapoint read, and for raw data one or two counts."""
    arguments = window.arguments
    index = window.offset + length - 1
    if not _is_raw(arguments, highest):  # buckets: the last one's time is enough
        return position_after(get_data, window, highest, [None] * length)
    last = next(iter(get_data(**arguments)[index : index + 1]))
    moment = last["t"]
    if not arguments["reverse"]:
        before = get_data(**{**arguments, "end": None, "end_exclusive": moment}).count()
    else:
        every = get_data(**arguments).count()
        before = every - get_data(**{**arguments, "end": moment, "end_exclusive": None}).count()
    # The page's datapoints of that second: those after the ones of other seconds.
    run = max(1, min(length, index + 1 - before))
    seconds = to_seconds(moment)
    times: list[int | None] = [None] * (length - run) + [seconds] * run
    return position_after(get_data, window, highest, times)


def datapoints_scope(stream_id: str, echo: dict[str, Any]) -> dict[str, Any]:
    """What a datapoint cursor is bound to: the stream and the parsed query (its ``echo``)."""
    return {"stream": stream_id, "query": echo}


def window_after_cursor(detail: DetailRequest, cursor: CursorParameter) -> Window:
    """The window continuing the query of ``detail`` right after its ``cursor`` (400 if the
    cursor is invalid, altered or made for another query)."""
    stream = detail.stream
    scope = datapoints_scope(stream.id, detail.echo)
    values = decode_cursor(cursor.token, DATAPOINTS, scope, cursor.name)
    get_data = functools.partial(detail.datastream.get_data, stream.id)
    position = DatapointPosition.from_list(values)
    return continue_datapoints(get_data, detail.arguments, stream.highest_granularity, position)


def next_datapoints_cursor(detail: DetailRequest, window: Window, length: int) -> str:
    """The cursor continuing after a page of ``length`` (> 0) datapoints read from
    ``window``."""
    stream = detail.stream
    get_data = functools.partial(detail.datastream.get_data, stream.id)
    position = page_position(get_data, window, stream.highest_granularity, length)
    return encode_cursor(DATAPOINTS, datapoints_scope(stream.id, detail.echo), position.to_list())


# The stream list ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ListPosition:
    """Where a page of the stream list ended: ``count`` streams returned so far."""

    count: int

    def to_list(self) -> list[int]:
        return [self.count]

    @staticmethod
    def problem(values: list[int]) -> str | None:
        """What is wrong with ``values`` as a position (``None``: nothing): one count from 0
        to 2**63 - 1."""
        if len(values) != 1:
            return "malformed position"
        return _count_problem(values[0])

    @classmethod
    def from_list(cls, values: list[int]) -> ListPosition:
        problem = cls.problem(values)
        if problem is not None:
            raise InvalidCursor(f"Invalid cursor: {problem}.")
        return cls(values[0])


#: Cursor kind -> its position, checked by :func:`decode_cursor`.
_POSITION_TYPES: dict[str, Any] = {DATAPOINTS: DatapointPosition, STREAMS: ListPosition}
