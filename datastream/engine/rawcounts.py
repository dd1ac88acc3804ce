"""Counting and skipping raw datapoints through the stored counts of closed buckets.

A raw range ``[lo, hi)`` of a long stream is cut into pieces: whole closed buckets of the
coarsest granularity that fits, then of finer ones towards the edges, and raw seconds only at
the very edges and above what was downsampled. A closed bucket (its start below the
granularity's ``downsampled_until``) stores the exact number of raw datapoints in it (``c``):
an append into the past re-opens it. So counting a year of per-second data sums a few hundred
stored counts and counts a few seconds of raw datapoints, and skipping to a deep page walks
those counts instead of the datapoints: both cost about the same whatever the stream's length.
"""

from __future__ import annotations

from collections.abc import Iterator

from ..granularity import Granularity, GranularityType
from ..storage import BucketWindow, Storage, StreamRecord
from ..values import decode_value
from .records import granularity_of, high_accuracy

__all__ = ["count_raw", "seek_raw"]

#: Up to this span (in seconds, an hour) a range is counted directly: one storage call.
DIRECT_SPAN = 3_600

#: A piece: ``(granularity, lo, hi)``, with ``granularity`` ``None`` for raw seconds.
Piece = tuple[GranularityType | None, int, int]


def _levels(record: StreamRecord) -> list[tuple[GranularityType, int]]:
    """``(granularity, closed until)`` of every downsampled granularity, coarsest first."""
    if "count" not in record["value_downsamplers"]:
        return []
    levels = []
    for granularity in reversed(Granularity.lower_than(granularity_of(record))):
        until = record["downsampled_until"].get(granularity.name)
        if until is not None:
            levels.append((granularity, until))
    return levels


def _pieces(lo: int, hi: int, levels: list[tuple[GranularityType, int]]) -> list[Piece]:
    """``[lo, hi)`` as ordered pieces: closed buckets where they fit, raw seconds elsewhere."""
    if lo >= hi:
        return []
    for depth, (granularity, until) in enumerate(levels):
        size = granularity.seconds
        start = -(-lo // size) * size
        end = granularity.round_seconds(min(hi, until))
        if start < end:
            finer = levels[depth + 1 :]
            return [*_pieces(lo, start, finer), (granularity, start, end), *_pieces(end, hi, finer)]
    return [(None, lo, hi)]


def _plan(record: StreamRecord, lo: int, hi: int) -> list[Piece] | None:
    """The pieces of ``[lo, hi)``, or ``None`` when a direct count is as cheap."""
    earliest, latest = record["earliest_datapoint"], record["latest_datapoint"]
    if earliest is None:
        return None
    # The span decides; the pieces keep the full range, so that datapoints appended since
    # ``record`` was read still count in the raw tail.
    if min(hi, latest + 1) - max(lo, earliest) <= DIRECT_SPAN:
        return None
    levels = _levels(record)
    return _pieces(lo, hi, levels) if levels else None


def _bucket_counts(
    storage: Storage,
    record: StreamRecord,
    granularity: GranularityType,
    lo: int,
    hi: int,
    reverse: bool,
) -> Iterator[tuple[int, int]]:
    accurate = high_accuracy(record)
    window = BucketWindow(record, granularity, lo, hi, reverse, ("c",), ())
    for start, value, _time in storage.fetch_buckets(window):
        count = value.get("c") or 0
        yield start, int(decode_value(count, True) if accurate else count)


def _count_piece(storage: Storage, record: StreamRecord, piece: Piece) -> int:
    granularity, lo, hi = piece
    if granularity is None:
        return storage.count_datapoints(record, lo, hi)
    counts = _bucket_counts(storage, record, granularity, lo, hi, False)
    return sum(count for _start, count in counts)


def count_raw(storage: Storage, record: StreamRecord, lo: int, hi: int) -> int:
    """Number of raw datapoints of ``[lo, hi)``, without reading them on a long range."""
    pieces = _plan(record, lo, hi)
    if pieces is None:
        return storage.count_datapoints(record, lo, hi)
    return sum(_count_piece(storage, record, piece) for piece in pieces)


def seek_raw(
    storage: Storage, record: StreamRecord, lo: int, hi: int, offset: int, reverse: bool
) -> tuple[int, int, int]:
    """``(lo, hi, offset)`` selecting the same window with the least left to skip.

    Whole pieces and closed buckets before the window (after it with ``reverse``) are
    skipped by their counts; the range shrinks accordingly and ``offset`` is what is left.
    """
    if offset <= 0:
        return lo, hi, offset
    pieces = _plan(record, lo, hi)
    if pieces is None:
        return lo, hi, offset
    levels = _levels(record)
    return _seek(storage, record, pieces, levels, lo, hi, offset, reverse)


def _seek(
    storage: Storage,
    record: StreamRecord,
    pieces: list[Piece],
    levels: list[tuple[GranularityType, int]],
    lo: int,
    hi: int,
    offset: int,
    reverse: bool,
) -> tuple[int, int, int]:
    for piece in reversed(pieces) if reverse else pieces:
        granularity, a, b = piece
        if granularity is None:
            count = storage.count_datapoints(record, a, b)
            if count > offset:
                return (lo, b, offset) if reverse else (a, hi, offset)
            offset -= count
            lo, hi = (lo, a) if reverse else (b, hi)
            continue
        for start, count in _bucket_counts(storage, record, granularity, a, b, reverse):
            if count <= offset:
                offset -= count
                lo, hi = (lo, start) if reverse else (start + granularity.seconds, hi)
                continue
            # The window starts inside this bucket: skip within it at the finer levels.
            end = start + granularity.seconds
            finer = [level for level in levels if level[0].seconds < granularity.seconds]
            inner = _pieces(start, end, finer)
            inner_lo, inner_hi, offset = _seek(
                storage, record, inner, finer, start, end, offset, reverse
            )
            return (lo, inner_hi, offset) if reverse else (inner_lo, hi, offset)
        # Every datapoint of the piece was skipped.
        lo, hi = (lo, a) if reverse else (b, hi)
    return lo, hi, offset
