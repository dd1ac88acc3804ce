"""Dummy streams: create them, back-fill their history and append to them in real time."""

from __future__ import annotations

import dataclasses
import datetime
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils import lorem_ipsum

from .streamtypes import StreamType
from .timespan import Span

__all__ = [
    "BackfillPlan",
    "DummyStreams",
    "OverlapError",
    "utc_now",
]

UTC = datetime.UTC


def utc_now() -> datetime.datetime:
    """The current time, aware, in UTC, whole seconds."""
    return datetime.datetime.now(UTC).replace(microsecond=0)


class OverlapError(ValueError):
    """A fixed back-fill span that would write before data the streams already have."""


@dataclass(frozen=True)
class BackfillPlan:
    """Timestamps ``start, start + interval, …, <= end`` for every stream; ``left_out`` of
    those datapoints fall into a gap of their stream (nothing is appended there)."""

    start: datetime.datetime
    end: datetime.datetime
    interval: int
    streams: int
    left_out: int = 0

    @property
    def timestamps(self) -> int:
        """Number of timestamps (both ends inclusive)."""
        if self.end < self.start:
            return 0
        return int((self.end - self.start).total_seconds()) // self.interval + 1

    @property
    def datapoints(self) -> int:
        """Number of datapoints to append: one per stream and timestamp, but none in gaps."""
        return self.timestamps * self.streams - self.left_out

    def iter_timestamps(self) -> Iterator[datetime.datetime]:
        """The planned timestamps, oldest first."""
        step = datetime.timedelta(seconds=self.interval)
        for index in range(self.timestamps):
            yield self.start + index * step


class DummyStreams:
    """A set of dummy streams titled ``Stream 0``, ``Stream 1``… in a ``Datastream``.

    ``rng`` makes values reproducible; ``now`` is the clock used for spans and real time.
    """

    def __init__(
        self,
        datastream: Any,
        types: Sequence[StreamType],
        interval: int,
        rng: random.Random | None = None,
        now: Callable[[], datetime.datetime] = utc_now,
    ) -> None:
        self.datastream = datastream
        self.types = list(types)
        self.interval = int(interval)
        self.rng = rng or random.Random()
        self.now = now
        self.stream_ids: list[str] = []
        self.appended = 0

    # Streams ---------------------------------------------------------------------------------

    def ensure(self) -> list[str]:
        """Create (or find) the streams; returns their ids in order."""
        from datastream import Granularity

        self.stream_ids = []
        for number, stream_type in enumerate(self.types):
            # Realistic signals (django_datastream.demo.signals) bring a title and a unit.
            title = getattr(stream_type, "title", None) or f"Stream {number}"
            unit = getattr(stream_type, "unit", None)
            visualization = stream_type.visualization()
            if unit:
                visualization["unit"] = unit
            tags = {
                "description": getattr(stream_type, "description", None)
                or lorem_ipsum.paragraphs(1, common=False)[0],
                "unit_description": title if unit else f"random, domain: {stream_type.domain}",
                "stream_number": number,
                "visualization": visualization,
            }
            stream_id = self.datastream.ensure_stream(
                {"title": title},
                tags,
                stream_type.value_downsamplers,
                Granularity.Seconds,
                value_type=stream_type.value_type,
            )
            self.stream_ids.append(stream_id)
        return list(self.stream_ids)

    def value(self, stream_type: Any, timestamp: datetime.datetime) -> Any:
        """The value of a stream at ``timestamp``: a realistic signal's value there (``None``
        inside one of its gaps: nothing is appended), else a random value of the type."""
        value_at = getattr(stream_type, "value_at", None)
        if value_at is not None:
            return value_at(timestamp, self.rng)
        return stream_type.random_value(self.rng)

    def latest_datapoint(self) -> datetime.datetime | None:
        """The newest ``latest_datapoint`` of the streams, or ``None`` if they have no data."""
        latest = None
        for stream_id in self.stream_ids:
            value = self.datastream.get_tags(stream_id).get("latest_datapoint")
            if value is not None and (latest is None or value > latest):
                latest = value
        return latest

    def stream_title(self, stream_id: str) -> str:
        """The ``title`` tag of one of the streams."""
        return str(self.datastream.get_tags(stream_id).get("title", stream_id))

    # Back-fill -------------------------------------------------------------------------------

    def plan(self, span: Span) -> BackfillPlan:
        """What to back-fill for ``span``, given the data the streams already have.

        A relative span (``2d``) ends now and resumes one interval after the newest existing
        datapoint, so running the command again continues the streams. A fixed span must start
        after the newest existing datapoint, else :class:`OverlapError`.
        """
        latest = self.latest_datapoint()
        step = datetime.timedelta(seconds=self.interval)
        if span.is_relative:
            end = self.now()
            start = end - datetime.timedelta(seconds=span.seconds or 0)
            if latest is not None and latest + step > start:
                start = latest + step
        else:
            assert span.start is not None and span.end is not None
            start, end = span.start, span.end
            if latest is not None and start <= latest:
                raise OverlapError(
                    f"The time span starts at {_iso(start)} but the streams already have data "
                    f"until {_iso(latest)}. Start the span after that, or remove the data "
                    "with --flush first."
                )
        plan = BackfillPlan(start, end, self.interval, len(self.stream_ids))
        return dataclasses.replace(plan, left_out=self.left_out(plan))

    def left_out(self, plan: BackfillPlan) -> int:
        """How many of the planned datapoints fall into gaps of their streams: realistic signals
        (``in_gap``) decide their gaps by the timestamp alone, so this is known beforehand."""
        checks = [
            stream_type.in_gap
            for _, stream_type in zip(self.stream_ids, self.types)
            if callable(getattr(stream_type, "in_gap", None))
        ]
        if not checks:
            return 0
        return sum(
            bool(in_gap(timestamp.timestamp()))
            for timestamp in plan.iter_timestamps()
            for in_gap in checks
        )

    def backfill(
        self,
        plan: BackfillPlan,
        batch_size: int = 5000,
        downsample_every: int = 60000,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Append the planned datapoints in batches, downsampling as it goes and at the end.

        ``progress`` is called with the number of datapoints appended so far. Returns how
        many datapoints were appended.
        """
        batch: list[dict[str, Any]] = []
        done = since_downsample = 0
        for timestamp in plan.iter_timestamps():
            for stream_id, stream_type in zip(self.stream_ids, self.types):
                value = self.value(stream_type, timestamp)
                if value is None:
                    continue  # a gap in a realistic signal
                batch.append({"stream_id": stream_id, "value": value, "timestamp": timestamp})
            if len(batch) >= batch_size:
                self.datastream.append_multiple(batch)
                done += len(batch)
                since_downsample += len(batch)
                self.appended += len(batch)
                batch = []
                if since_downsample >= downsample_every:
                    self.datastream.downsample_streams(until=timestamp)
                    since_downsample = 0
                if progress is not None:
                    progress(done)
        if batch:
            self.datastream.append_multiple(batch)
            done += len(batch)
            self.appended += len(batch)
            if progress is not None:
                progress(done)
        if done:
            self.datastream.downsample_streams(until=plan.end)
        return done

    # Real time -------------------------------------------------------------------------------

    def append_now(self) -> list[tuple[str, Any]]:
        """Append one random value to every stream at the current time, then downsample.

        Returns ``(stream id, value)`` pairs.
        """
        timestamp = self.now()
        appended = []
        batch = []
        for stream_id, stream_type in zip(self.stream_ids, self.types):
            value = self.value(stream_type, timestamp)
            if value is None:
                continue  # a gap in a realistic signal
            batch.append({"stream_id": stream_id, "value": value, "timestamp": timestamp})
            appended.append((stream_id, value))
        if batch:
            self.datastream.append_multiple(batch)
        self.appended += len(batch)
        self.datastream.downsample_streams()
        return appended

    def run_real_time(
        self,
        stop_after: float | None = None,
        on_round: Callable[[list[tuple[str, Any]]], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> int:
        """Append every ``interval`` seconds until interrupted or ``stop_after`` seconds passed.

        Rounds follow a fixed schedule, so slow rounds do not make the timestamps drift.
        Returns the number of rounds.
        """
        started = monotonic()
        rounds = 0
        while True:
            appended = self.append_now()
            rounds += 1
            if on_round is not None:
                on_round(appended)
            next_round = started + rounds * self.interval
            if stop_after is not None and next_round - started > stop_after:
                remaining = started + stop_after - monotonic()
                if remaining > 0:
                    sleep(remaining)
                return rounds
            delay = next_round - monotonic()
            if delay > 0:
                sleep(delay)


def _iso(value: datetime.datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
