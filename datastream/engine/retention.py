"""Retention: dropping a stream's old raw datapoints and buckets, by policy or on request.

Raw datapoints go only where every coarser granularity has been downsampled past them. Whole
chunks are dropped; only the chunk a cut falls in is rewritten. Each series remembers where it
was cut (``record['retained_since']``), so that reads of a granularity whose old buckets were
dropped give nothing there rather than empty buckets; ``earliest_datapoint`` moves once every
series was cut after it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..granularity import Granularity
from ..retention import RAW, Policy
from ..storage import RAW_SERIES, Storage, StreamRecord, bucket_series
from ..tagquery import matches, parse_query
from .chunkstore import ChunkStore
from .records import granularity_of
from .units import Unit, Units

__all__ = ["Retainer"]


class Retainer:
    """Drops data of streams before a time, and enforces retention policies."""

    def __init__(
        self, storage: Storage, data: ChunkStore, units: Units, now: Callable[[], int]
    ) -> None:
        self.storage, self.data, self.units, self.now = storage, data, units, now

    def delete_before(self, stream_id: Any, before: int, name: str = RAW) -> int:
        """Drop the raw datapoints (``name='raw'``) or the buckets of granularity ``name`` of
        one stream before the second ``before``; returns how many were dropped."""
        with self.units.open() as unit:
            return self._drop(unit, unit.record(stream_id), name, before)

    def enforce(self, rules: list[tuple[dict[str, Any], Policy]]) -> int:
        """Apply each stream's own policy, else the first rule whose tags match it; returns
        how many datapoints and buckets were dropped."""
        now = self.now()
        conditions = [(parse_query(tags), policy) for tags, policy in rules]
        dropped = 0
        for record in self.storage.list_streams([]):
            policy = record.get("retention")
            if policy is None:
                policy = next(
                    (p for condition, p in conditions if matches(condition, record["tags"])),
                    None,
                )
            for name, kept in (policy or {}).items():
                if kept is not None:
                    dropped += self.delete_before(record["stream_id"], now - kept, name)
        return dropped

    def _drop(self, unit: Unit, record: StreamRecord, name: str, before: int) -> int:
        highest = granularity_of(record)
        lower = Granularity.lower_than(highest)
        done = record["downsampled_until"]
        if name == RAW:
            series = RAW_SERIES
            for granularity in lower:  # nothing is dropped before its buckets exist
                until = done.get(granularity.name)
                if until is None:
                    return 0
                before = min(before, until)
        else:
            granularity = Granularity.by_name[name]
            if granularity not in lower:
                return 0  # no buckets at that granularity ("raw" names the stream's own)
            series = bucket_series(granularity)
        since = dict(record.get("retained_since") or {})
        if record["earliest_datapoint"] is None or since.get(name, before - 1) >= before:
            return 0
        dropped = self.data.delete_before(record, series, before)
        since[name] = before
        changes: dict[str, Any] = {
            "retained_since": since,
            "data_version": (record.get("data_version") or 0) + 1,
        }
        names = [RAW, *(g.name for g in lower)]
        earliest = record["earliest_datapoint"]
        if all(since.get(n, earliest) > earliest for n in names):
            firsts = [self.data.first_time(record, RAW_SERIES)] + [
                self.data.first_time(record, bucket_series(g)) for g in lower
            ]
            found = [first for first in firsts if first is not None]
            changes["earliest_datapoint"] = min(found) if found else min(since.values())
        unit.change(record, **changes)
        unit.touch_layout(record)
        return dropped
