"""Live tail of a stream over Server-Sent Events, without a message broker.

A live connection follows one stream at one granularity. Raw data (the stream's highest
granularity): each appended datapoint is one event. A downsampled granularity: each newly
closed bucket is one event, and with ``open_bucket`` the current, not yet closed buckets are
sent as ``open_bucket`` events whenever they change.

How it scales: one :class:`Hub` per process keeps a :class:`Channel` per distinct followed
query (stream, granularity, downsamplers, time format, open bucket). A single daemon thread
polls each channel once per interval — one storage read per channel, however many
connections share it — and hands the new events to every subscriber. A subscriber is a queue:
a thread's :class:`queue.SimpleQueue` under WSGI (``runserver``, gunicorn), an
:class:`asyncio.Queue` fed through the event loop under ASGI (uvicorn, daphne), where a
connection costs no thread at all.

Event ids: ``<POSIX seconds>-<n>``. For raw data ``n`` is the datapoint's position among the
datapoints of the same second (0 for the first), for buckets it is always 0 and the seconds are
the bucket's start. A client reconnecting with ``Last-Event-ID`` gets every event after that
id, each once. ``open_bucket`` events carry no id, so that they never move the resume point.
Datapoints appended into the past (``check_timestamp=False``) behind the live position are not
sent.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import itertools
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from datastream import Datastream, exceptions
from datastream.constants import TIME_DOWNSAMPLERS, VALUE_DOWNSAMPLERS
from datastream.downsamplers import expand_value_downsamplers, summarise_times, summarise_values
from datastream.granularity import GranularityType, from_seconds, to_seconds
from datastream.jsonformat import dumps

from .chartformat import convert_datapoint, time_converter

__all__ = [
    "Cursor",
    "Channel",
    "Hub",
    "LiveSpec",
    "format_event",
    "format_event_id",
    "hub",
    "open_buckets",
    "parse_event_id",
]

logger = logging.getLogger(__name__)

#: ``(POSIX seconds, n)``: the position of an event (see the module docstring).
Cursor = tuple[int, int]

#: An ordinal past every datapoint of a second: ``(t, AFTER_ALL)`` = "all of second t seen".
AFTER_ALL = 2**62

#: Most events read from storage in one go (catch-up and polls page with this size).
PAGE_SIZE = 2000

_MIN_SECONDS = to_seconds(datetime.datetime.min.replace(tzinfo=datetime.UTC))


@dataclasses.dataclass(frozen=True)
class LiveSpec:
    """What a live connection follows; connections with equal specs share a channel."""

    stream_id: str
    granularity: GranularityType
    raw: bool
    value_downsamplers: tuple[str, ...] | None = None
    time_downsamplers: tuple[str, ...] | None = None
    time_format: str = "iso"
    open_bucket: bool = False


def parse_event_id(text: str) -> Cursor | None:
    """The cursor of an event id ``<seconds>-<n>``; ``None`` if ``text`` is not one."""
    head, dash, tail = text.strip().rpartition("-")
    if not dash or not head or not tail.isdigit() or len(text) > 40:
        return None
    try:
        seconds = int(head)
    except ValueError:
        return None
    return seconds, int(tail)


def format_event_id(cursor: Cursor) -> str:
    """The id of the event at ``cursor``."""
    return f"{cursor[0]}-{cursor[1]}"


def format_event(data: bytes, event_id: str | None = None, event: str | None = None) -> bytes:
    """One Server-Sent Event (``data`` is one line of JSON)."""
    head = b""
    if event_id is not None:
        head += b"id: " + event_id.encode() + b"\n"
    if event is not None:
        head += b"event: " + event.encode() + b"\n"
    return head + b"data: " + data + b"\n\n"


# Reading ------------------------------------------------------------------------------------


def _value_keys(stream: Any, names: tuple[str, ...] | None) -> list[str]:
    stored = [VALUE_DOWNSAMPLERS[n] for n in stream.value_downsamplers]
    if names is None:
        return stored
    wanted = {VALUE_DOWNSAMPLERS[n] for n in names}
    return [k for k in stored if k in wanted]


def _time_keys(names: tuple[str, ...] | None) -> list[str]:
    if names is None:
        return list(TIME_DOWNSAMPLERS.values())
    wanted = {TIME_DOWNSAMPLERS[n] for n in names}
    return [k for k in TIME_DOWNSAMPLERS.values() if k in wanted]


def open_buckets(
    datastream: Datastream,
    stream: Any,
    granularity: GranularityType,
    value_downsamplers: tuple[str, ...] | list[str] | None = None,
    time_downsamplers: tuple[str, ...] | list[str] | None = None,
    start: int | None = None,
    end: int | None = None,
) -> list[tuple[int, dict[str, Any]]]:
    """The buckets of ``granularity`` not closed yet, computed from raw datapoints.

    ``stream`` is a :class:`datastream.Stream`. Returns ``(bucket start, datapoint)`` pairs, in
    time order, for the buckets from ``downsampled_until`` (the first bucket of the stream when
    nothing is closed) to the one holding the latest datapoint, within the buckets whose
    start lies in ``[start, end]`` when given. Datapoints have the requested keys, as
    ``get_data`` gives them; nothing is stored.
    """
    if stream.latest_datapoint is None or not stream.value_downsamplers:
        return []
    size = granularity.seconds
    until = (getattr(stream, "downsampled_until", None) or {}).get(granularity.name)
    first = (
        to_seconds(until)
        if until is not None
        else granularity.round_seconds(to_seconds(stream.earliest_datapoint))
    )
    last = granularity.round_seconds(to_seconds(stream.latest_datapoint))
    if start is not None:
        first = max(first, granularity.round_seconds(start))
    if end is not None:
        last = min(last, granularity.round_seconds(end))
    if last < first:
        return []
    raw = datastream.get_data(
        stream.id,
        stream.highest_granularity,
        start=from_seconds(first),
        end_exclusive=from_seconds(last + size),
    )
    keys = [
        VALUE_DOWNSAMPLERS[name]
        for name in expand_value_downsamplers(stream.value_downsamplers, stream.value_type)
    ]
    high_accuracy = bool(stream.value_type_options.get("high_accuracy"))
    value_keys = _value_keys(
        stream, None if value_downsamplers is None else tuple(value_downsamplers)
    )
    time_names = None if time_downsamplers is None else tuple(time_downsamplers)
    time_keys = _time_keys(time_names)
    buckets: list[tuple[int, dict[str, Any]]] = []
    for bucket, points in itertools.groupby(raw, key=lambda p: granularity.round_timestamp(p["t"])):
        times, values = [], []
        for point in points:
            times.append(to_seconds(point["t"]))
            values.append(point["v"])
        non_null = [t for t, v in zip(times, values) if v is not None]
        start_seconds = to_seconds(bucket)
        summary = summarise_values(values, keys, stream.value_type, high_accuracy)
        time_summary = summarise_times(times, non_null, start_seconds, size)
        datapoint: dict[str, Any] = {}
        if time_names != ():
            datapoint["t"] = {
                k: from_seconds(time_summary[k])
                if k in ("a", "z", "m") and time_summary.get(k) is not None
                else time_summary.get(k)
                for k in time_keys
            }
        if value_downsamplers is None or len(value_downsamplers):
            datapoint["v"] = {k: summary.get(k) for k in value_keys}
        buckets.append((start_seconds, datapoint))
    return buckets


class Channel:
    """The events of one :class:`LiveSpec`, polled once per interval for all subscribers."""

    def __init__(
        self,
        datastream: Datastream,
        spec: LiveSpec,
        current: Callable[[], Datastream | None] | None = None,
    ) -> None:
        self.datastream = datastream
        self.spec = spec
        # The configured datastream now: when it is another one (settings changed), the
        # channel ends its connections instead of reading a closed storage.
        self.current = current
        self.lock = threading.Lock()
        self.subscribers: set[Subscriber] = set()
        self.head: Cursor | None = None
        self.ready = False
        self.open_payload: bytes | None = None
        self.closed_reason: str | None = None
        self.removed = False
        self._convert = time_converter(spec.time_format)

    # Reads (any thread) -----------------------------------------------------------------

    def stream(self) -> Any:
        from datastream import Stream

        return Stream(self.datastream.get_tags(self.spec.stream_id))

    def current_head(self, stream: Any) -> Cursor | None:
        """The position of the latest event the stream has now."""
        spec = self.spec
        if spec.raw:
            if stream.latest_datapoint is None:
                return None
            latest = stream.latest_datapoint
            count = self.datastream.get_data(
                spec.stream_id, spec.granularity, start=latest, end=latest
            ).count()
            return to_seconds(latest), max(0, count - 1)
        until = (getattr(stream, "downsampled_until", None) or {}).get(spec.granularity.name)
        if until is None or stream.earliest_datapoint is None:
            return None
        last = to_seconds(until) - spec.granularity.seconds
        if last < spec.granularity.round_seconds(to_seconds(stream.earliest_datapoint)):
            return None
        return last, 0

    def read_after(
        self, cursor: Cursor | None, until: Cursor | None = None, stream: Any = None
    ) -> list[tuple[Cursor, bytes]]:
        """Up to :data:`PAGE_SIZE` events after ``cursor`` (``None``: from the stream's start),
        not after ``until`` when given, as ``(cursor, JSON data)``."""
        spec = self.spec
        if spec.raw:
            seconds, seen = cursor if cursor is not None else (_MIN_SECONDS, AFTER_ALL)
            if seen >= AFTER_ALL:  # everything of that second was seen
                data = self.datastream.get_data(
                    spec.stream_id, spec.granularity, start_exclusive=from_seconds(seconds)
                )[:PAGE_SIZE]
            else:  # the first ``seen + 1`` datapoints of that second were seen
                data = self.datastream.get_data(
                    spec.stream_id, spec.granularity, start=from_seconds(seconds)
                )[: PAGE_SIZE + seen + 1]
            events = []
            previous, ordinal = None, -1
            for datapoint in data:
                at = to_seconds(datapoint["t"])
                ordinal = ordinal + 1 if at == previous else 0
                previous = at
                position = (at, ordinal)
                if cursor is not None and position <= cursor:
                    continue
                if until is not None and position > until:
                    break
                events.append((position, dumps(convert_datapoint(datapoint, self._convert))))
            return events
        if stream is None:
            stream = self.stream()
        if stream.earliest_datapoint is None:
            return []
        size = spec.granularity.seconds
        first = spec.granularity.round_seconds(to_seconds(stream.earliest_datapoint))
        if cursor is not None:
            first = max(first, spec.granularity.round_seconds(cursor[0]) + size)
        data = self.datastream.get_data(
            spec.stream_id,
            spec.granularity,
            start=from_seconds(first),
            value_downsamplers=spec.value_downsamplers,
            time_downsamplers=spec.time_downsamplers,
        )
        events = []
        for index, datapoint in enumerate(data[:PAGE_SIZE]):
            position = (first + index * size, 0)
            if until is not None and position > until:
                break
            events.append((position, dumps(convert_datapoint(datapoint, self._convert))))
        return events

    def read_open(self, stream: Any) -> bytes | None:
        """The open buckets as one JSON array of datapoints (``None`` when there are none)."""
        spec = self.spec
        buckets = open_buckets(
            self.datastream,
            stream,
            spec.granularity,
            spec.value_downsamplers,
            spec.time_downsamplers,
        )
        if not buckets:
            return None
        return dumps(
            [
                convert_datapoint(datapoint, self._convert) | {"open": True}
                for _start, datapoint in buckets
            ]
        )

    # Polling (the hub's thread) ---------------------------------------------------------

    def poll(self) -> None:
        """Read what is new since the last poll and hand it to every subscriber."""
        spec = self.spec
        if self.current is not None and self.current() is not self.datastream:
            self.close("The server's datastream configuration changed; reconnect.")
            return
        try:
            stream = None if spec.raw else self.stream()
            events: list[tuple[Cursor, bytes]] = []
            head = self.head
            while True:
                page = self.read_after(head, stream=stream)
                events.extend(page)
                if page:
                    head = page[-1][0]
                if len(page) < PAGE_SIZE:
                    break
            open_payload = self.read_open(stream) if spec.open_bucket else None
        except exceptions.StreamNotFound:
            self.close("The stream was deleted.")
            return
        changed_open = spec.open_bucket and open_payload != self.open_payload
        # A subscriber registers under the lock: it either reads up to the old head itself
        # and gets these events here, or sees the new head and reads them itself.
        with self.lock:
            self.head = head
            self.open_payload = open_payload
            subscribers = list(self.subscribers)
        if not events and not changed_open:
            return
        for subscriber in subscribers:
            subscriber.deliver(events, open_payload, changed_open)

    def close(self, reason: str) -> None:
        """End every subscriber's connection with an ``error`` event."""
        self.closed_reason = reason
        with self.lock:
            subscribers = list(self.subscribers)
        for subscriber in subscribers:
            subscriber.end(reason)


class Subscriber:
    """One connection's queue of encoded events; fed by the hub's thread."""

    def __init__(self, channel: Channel, cursor: Cursor | None) -> None:
        self.channel = channel
        self.cursor = cursor

    def _put(self, item: Any) -> None:
        raise NotImplementedError

    def deliver(
        self, events: list[tuple[Cursor, bytes]], open_payload: bytes | None, changed_open: bool
    ) -> None:
        self._put(("events", events, open_payload, changed_open))

    def end(self, reason: str) -> None:
        self._put(("end", reason))

    def encode(self, item: Any) -> tuple[bytes, bool]:
        """The bytes to send for a queued item, and whether the connection ends after them."""
        if item[0] == "end":
            return format_event(dumps({"error": item[1]}), event="error"), True
        _kind, events, open_payload, changed_open = item
        return self.encode_events(events, open_payload, changed_open), False

    def encode_events(
        self, events: list[tuple[Cursor, bytes]], open_payload: bytes | None, changed_open: bool
    ) -> bytes:
        chunks = []
        for position, data in events:
            if self.cursor is not None and position <= self.cursor:
                continue  # already sent during the catch-up
            self.cursor = position
            chunks.append(format_event(data, format_event_id(position)))
        if changed_open:
            chunks.append(format_event(open_payload or b"[]", event="open_bucket"))
        return b"".join(chunks)


class ThreadSubscriber(Subscriber):
    """A subscriber read by a blocking thread (WSGI)."""

    def __init__(self, channel: Channel, cursor: Cursor | None) -> None:
        super().__init__(channel, cursor)
        self.queue: queue.SimpleQueue = queue.SimpleQueue()

    def _put(self, item: Any) -> None:
        self.queue.put(item)


class AsyncSubscriber(Subscriber):
    """A subscriber read by a coroutine (ASGI): items go through its event loop."""

    def __init__(
        self, channel: Channel, cursor: Cursor | None, loop: asyncio.AbstractEventLoop
    ) -> None:
        super().__init__(channel, cursor)
        self.loop = loop
        self.queue: asyncio.Queue = asyncio.Queue()

    def _put(self, item: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: the connection is gone
            pass


class Hub:
    """The channels of one process and the thread that polls them.

    ``interval`` is the time between two polls (seconds); ``keepalive`` the longest silence
    on a connection before a comment line is sent.
    """

    def __init__(self, interval: float = 0.5, keepalive: float = 15.0) -> None:
        self.interval = interval
        self.keepalive = keepalive
        self.channels: dict[tuple[int, LiveSpec], Channel] = {}
        self.lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.polls = 0

    # Subscribing ------------------------------------------------------------------------

    def subscribe(
        self,
        subscriber_factory: Callable[[Channel], Subscriber],
        datastream: Datastream,
        spec: LiveSpec,
        current: Callable[[], Datastream | None] | None = None,
    ) -> tuple[Subscriber, Cursor | None]:
        """Register a subscriber on the channel of ``spec``; returns it and the channel's head
        at registration: the subscriber must read everything up to there itself (events after
        it are queued for it). Blocking (storage reads)."""
        key = (id(datastream), spec)
        while True:
            with self.lock:
                channel = self.channels.get(key)
                if channel is None or channel.datastream is not datastream:
                    channel = self.channels[key] = Channel(datastream, spec, current)
                self._ensure_thread()
            with channel.lock:
                if channel.removed:  # the poller dropped it meanwhile: take a new one
                    continue
                if not channel.ready:
                    stream = channel.stream()
                    channel.head = channel.current_head(stream)
                    if spec.open_bucket:
                        channel.open_payload = channel.read_open(stream)
                    channel.ready = True
                subscriber = subscriber_factory(channel)
                channel.subscribers.add(subscriber)
                return subscriber, channel.head

    def unsubscribe(self, subscriber: Subscriber) -> None:
        channel = subscriber.channel
        with channel.lock:
            channel.subscribers.discard(subscriber)

    def connections(self) -> int:
        """How many live connections this process serves now."""
        with self.lock:
            channels = list(self.channels.values())
        return sum(len(channel.subscribers) for channel in channels)

    # Polling ----------------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="datastream-live-poller", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            with self.lock:
                for key, channel in list(self.channels.items()):
                    with channel.lock:
                        if channel.ready and not channel.subscribers:
                            channel.removed = True
                            del self.channels[key]
                channels = [c for c in self.channels.values() if c.ready]
                if not self.channels:
                    self._thread = None
                    return
            for channel in channels:
                try:
                    channel.poll()
                except Exception:  # noqa: BLE001 - one broken channel must not stop the others
                    logger.exception("Polling live stream %s failed", channel.spec.stream_id)
            self.polls += 1

    # Connections ------------------------------------------------------------------------

    def _catch_up(self, subscriber: Subscriber, head: Cursor | None) -> Iterator[bytes]:
        """Events from the subscriber's cursor up to ``head``, page by page."""
        channel = subscriber.channel
        if head is None:
            return
        while subscriber.cursor is None or subscriber.cursor < head:
            page = channel.read_after(subscriber.cursor, until=head)
            if not page:
                break
            yield subscriber.encode_events(page, None, False)

    def _start(self, subscriber: Subscriber) -> tuple[bytes, bytes]:
        text = b"retry: 1000\n: connected\n\n"
        if subscriber.channel.spec.open_bucket:
            payload = subscriber.channel.open_payload
            opening = format_event(payload or b"[]", event="open_bucket")
            return text, opening
        return text, b""

    def events(
        self,
        datastream: Datastream,
        spec: LiveSpec,
        cursor: Cursor | None,
        from_head: bool,
        current: Callable[[], Datastream | None] | None = None,
    ) -> Iterator[bytes]:
        """The event stream of one WSGI connection (a blocking iterator).

        ``cursor`` is where to resume (events after it); ``from_head`` ignores it and starts
        with what arrives after the connection opened.
        """
        subscriber, head = self.subscribe(
            lambda channel: ThreadSubscriber(channel, cursor), datastream, spec, current
        )
        assert isinstance(subscriber, ThreadSubscriber)
        try:
            if from_head:
                subscriber.cursor = head
            greeting, opening = self._start(subscriber)
            yield greeting
            yield from self._catch_up(subscriber, head)
            if opening:
                yield opening
            while True:
                try:
                    item = subscriber.queue.get(timeout=self.keepalive)
                except queue.Empty:
                    yield b": keep-alive\n\n"
                    continue
                text, last = subscriber.encode(item)
                if text:
                    yield text
                if last:
                    return
        finally:
            self.unsubscribe(subscriber)

    async def aevents(
        self,
        datastream: Datastream,
        spec: LiveSpec,
        cursor: Cursor | None,
        from_head: bool,
        current: Callable[[], Datastream | None] | None = None,
    ) -> AsyncIterator[bytes]:
        """The event stream of one ASGI connection (storage reads run in a worker thread)."""
        loop = asyncio.get_running_loop()
        subscriber, head = await asyncio.to_thread(
            self.subscribe,
            lambda channel: AsyncSubscriber(channel, cursor, loop),
            datastream,
            spec,
            current,
        )
        assert isinstance(subscriber, AsyncSubscriber)
        try:
            if from_head:
                subscriber.cursor = head
            greeting, opening = self._start(subscriber)
            yield greeting
            pages = self._catch_up(subscriber, head)
            while (text := await asyncio.to_thread(next, pages, None)) is not None:
                yield text
            if opening:
                yield opening
            while True:
                try:
                    item = await asyncio.wait_for(subscriber.queue.get(), self.keepalive)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                text, last = subscriber.encode(item)
                if text:
                    yield text
                if last:
                    return
        finally:
            self.unsubscribe(subscriber)


_hub: Hub | None = None
_hub_lock = threading.Lock()


def hub(interval: float = 0.5, keepalive: float = 15.0) -> Hub:
    """The process's hub, created on first use (later calls update its timings)."""
    global _hub
    with _hub_lock:
        if _hub is None:
            _hub = Hub(interval, keepalive)
        _hub.interval, _hub.keepalive = interval, keepalive
        return _hub
