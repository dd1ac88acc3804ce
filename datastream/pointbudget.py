"""Choosing a granularity for a point budget (a chart's width in pixels).

:func:`choose_granularity` answers: which is the finest granularity, not finer than the
stream's highest, whose datapoints over a time range number at most ``max_points``? At the
stream's highest granularity that number is how many raw datapoints are stored in the range
(asked through a callable, so that a storage counts them); at a coarser granularity it is how
many buckets the range spans, with the bucket rules of ``get_data``: ``start`` rounds down to
its bucket, ``start_exclusive`` skips the bucket holding it, ``end`` is inclusive, and
``end_exclusive`` excludes itself. When even days give more, days are used.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from .granularity import Granularity, GranularityType

__all__ = ["TimeRange", "bucket_span", "choose_granularity"]


@dataclasses.dataclass(frozen=True)
class TimeRange:
    """A time range in integer POSIX seconds, each end inclusive unless marked exclusive."""

    start: int
    end: int
    start_exclusive: bool = False
    end_exclusive: bool = False


def bucket_span(granularity: GranularityType, time_range: TimeRange) -> int:
    """How many buckets of ``granularity`` ``get_data`` spans over ``time_range``."""
    size = granularity.seconds
    first = granularity.round_seconds(time_range.start)
    if time_range.start_exclusive:
        first += size
    last_second = time_range.end - 1 if time_range.end_exclusive else time_range.end
    if last_second < first:
        return 0
    return (granularity.round_seconds(last_second) - first) // size + 1


def choose_granularity(
    max_points: int,
    highest: GranularityType,
    time_range: TimeRange | None,
    count_raw: Callable[[int], int],
) -> GranularityType:
    """The finest granularity giving at most ``max_points`` datapoints over ``time_range``.

    ``count_raw(limit)`` returns how many raw datapoints the range holds, or any number above
    ``limit`` when it holds more (so that a storage may stop counting there). A ``time_range``
    of ``None`` is an empty stream: its highest granularity is chosen.
    """
    if time_range is None or count_raw(max_points) <= max_points:
        return highest
    for granularity in Granularity.lower_than(highest):
        if bucket_span(granularity, time_range) <= max_points:
            return granularity
    return Granularity.Days
