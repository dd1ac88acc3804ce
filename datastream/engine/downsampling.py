"""Downsampling: closing complete buckets of the lower granularities of each stream."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from .. import exceptions
from ..downsamplers import empty_time, empty_value
from ..granularity import Granularity
from ..storage import Storage, StreamRecord
from ..stream import Stream
from ..values import decode_value
from .buckets import storable_buckets, summarise_ranges, time_out, with_gaps
from .chunkstore import ChunkStore
from .records import granularity_of, high_accuracy, tags_of, value_keys
from .units import Units
from .writes import Writer

__all__ = ["Downsampler"]

logger = logging.getLogger(__name__)


class Downsampler:
    """Computes and stores the buckets of streams up to a time, one stream at a time."""

    def __init__(
        self,
        storage: Storage,
        data: ChunkStore,
        units: Units,
        writer: Writer,
        now: Callable[[], int],
    ) -> None:
        self.storage = storage
        self.data = data
        self.units = units
        self.writer = writer
        self.now = now

    def downsample(
        self,
        records: list[StreamRecord],
        until: int,
        return_datapoints: bool,
        filter_stream: Callable[[Stream], bool] | None,
    ) -> list[dict[str, Any]]:
        """Downsample each of ``records``; a stream that fails does not stop the others.

        Raises :class:`~datastream.exceptions.DownsamplingFailed` at the end when some failed
        (each failed stream's record keeps its ``last_downsampling_error``), and
        :class:`~datastream.exceptions.BackendUnavailable` at once.
        """
        created: list[dict[str, Any]] = []
        collect = return_datapoints or self.units.observed
        failures: dict[str, str] = {}
        for record in records:
            if not record["value_downsamplers"] or record["earliest_datapoint"] is None:
                continue
            if filter_stream is not None and not filter_stream(Stream(tags_of(record))):
                continue
            try:
                new = self._downsample_stream(record, until, collect)
            except exceptions.BackendUnavailable:
                raise  # an outage concerns every stream: stop at once
            except Exception as error:  # one broken stream must not stop the others
                logger.exception("Downsampling stream %s failed", record["stream_id"])
                message = f"{type(error).__name__}: {error}"
                failures[record["stream_id"]] = message
                self._report(record["stream_id"], {"at": self.now(), "error": message})
                continue
            self.units.notify(
                [(item["stream_id"], item["granularity"], item["datapoint"]) for item in new]
            )
            if return_datapoints:
                created.extend(new)
        if failures:
            raise exceptions.DownsamplingFailed(failures)
        return created

    def _report(self, stream_id: str, failure: dict[str, Any] | None) -> None:
        """Keep ``failure`` as the stream's ``last_downsampling_error``, in its own unit."""
        with self.units.open() as unit:
            record = unit.load(stream_id)
            if record is not None:
                unit.change(record, last_downsampling_error=failure)

    def _downsample_stream(
        self, record: StreamRecord, until: int, collect: bool
    ) -> list[dict[str, Any]]:
        highest = granularity_of(record)
        bound = min(until, self.storage.safe_latest(record))
        targets = []
        for granularity in Granularity.lower_than(highest):
            done = record["downsampled_until"].get(granularity.name)
            if done is None:
                done = granularity.round_seconds(record["earliest_datapoint"])
            hi = granularity.round_seconds(bound)
            if hi > done:
                targets.append((granularity, done, hi))
        if not targets:
            return []
        times, values = self.data.scan_datapoints(
            record, min(t[1] for t in targets), max(t[2] for t in targets)
        )
        accurate = high_accuracy(record)
        if accurate:
            values = [decode_value(v, True) for v in values]
        keys = value_keys(record)
        # One scan for every granularity.
        computed = summarise_ranges(times, values, targets, keys, record["value_type"], accurate)
        new: list[dict[str, Any]] = []
        with self.units.open() as unit:
            current = unit.load(record["stream_id"])
            if current is None or current["version"] != record["version"]:
                return []  # someone else downsampled, or data arrived in the past: skip
            until_map = dict(current["downsampled_until"])
            for granularity, _lo, hi in targets:
                self.data.upsert_buckets(
                    current,
                    granularity,
                    storable_buckets(computed[granularity], accurate),
                )
                until_map[granularity.name] = hi
            unit.change(current, downsampled_until=until_map, version=current["version"] + 1)
            if self.data.seal_passed(current, min(hi for _g, _lo, hi in targets)):
                unit.touch_layout(current)
            if current.get("last_downsampling_error") is not None:
                unit.change(current, last_downsampling_error=None)
            subscribed = {
                Granularity.by_attribute[s["granularity"]]
                for derived_id in current["contributes_to"]
                if (d := unit.load(derived_id)) is not None
                for s in d["derived_from"]["sources"]
                if s["stream_id"] == current["stream_id"]
            }
            for granularity, lo, hi in targets:
                feed = granularity in subscribed
                if not (feed or collect):
                    continue
                size = granularity.seconds
                for bucket, value, time in with_gaps(
                    computed[granularity], lo, hi, size, False,
                    lambda b, size=size: (b, empty_value(keys), empty_time(b, size)),
                ):
                    if feed:
                        self.writer.feed(unit, current, granularity, bucket, value)
                    if collect:
                        new.append(
                            {
                                "stream_id": current["stream_id"],
                                "granularity": granularity,
                                "datapoint": {"t": time_out(time, None), "v": dict(value)},
                            }
                        )
        return new

