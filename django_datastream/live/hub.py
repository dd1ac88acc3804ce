"""Live tail of a stream over Server-Sent Events, without a message broker.

A live connection follows one stream at one granularity. Raw data (the stream's highest
granularity): each appended datapoint is one event. A downsampled granularity: each newly
closed bucket is one event, and with ``open_bucket`` the current, not yet closed buckets are
sent as ``open_bucket`` events whenever they change.

How it scales: one :class:`Hub` per process keeps a :class:`Channel` per distinct followed
query (stream, granularity, downsamplers, time format, open bucket). A single daemon thread
polls each channel once per interval — one storage read per channel, however many
connections share it — and hands the new events to every subscriber that is up to date. A
subscriber (:class:`Subscriber`) is one connection's bounded queue, read by the connection: a
thread under WSGI (``runserver``, gunicorn), a coroutine under ASGI (uvicorn, daphne), where a
connection costs no thread of its own.

Memory is bounded per connection. A connection that starts behind the live position (a replay
from ``start`` or ``Last-Event-ID``) is fed by the same thread from storage, one small page
(:data:`REPLAY_PAGE` events, at most :data:`REPLAY_PAGE_BYTES`) at a time, round robin over
all replaying connections, and only while its queue has room: at most :data:`BUFFER_BYTES`
of events wait for a connection. The polls come first: replay pages are read in the time
left until the next poll, so replays do not delay live delivery. A connection whose queue
cannot take new live events falls behind and is fed from storage in the same way until it has
caught up; a connection that takes nothing from its full queue for ``stall_timeout`` seconds
(the client reads nothing) is dropped: its queue is emptied, the hub forgets it and the
response ends with an ``error`` event as soon as the server can write to it. When a
connection ends, the hub drops its queue, and the channel with its last connection (after any
storage read in progress for it, so that nothing touches the storage afterwards).

Access is checked again while a connection lasts: the connection calls its ``check`` (the
resource's authentication and authorization, see :mod:`django_datastream.live.view`) before
it sends new data when the previous check is older than the poll interval, and at each
keep-alive; a refusal ends the response with an ``error`` event carrying the refusal.

Event ids: ``<POSIX seconds>-<n>``. For raw data ``n`` is the datapoint's position among the
datapoints of the same second (0 for the first), for buckets it is always 0 and the seconds are
the bucket's start. A client reconnecting with ``Last-Event-ID`` gets every event after that
id, each once. ``open_bucket`` events carry no id, so that they never move the resume point.
Datapoints appended into the past (``check_timestamp=False``) behind the live position are not
sent.
"""

from __future__ import annotations

import array
import asyncio
import bisect
import collections
import dataclasses
import logging
import re
import threading
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from datastream import Datastream, exceptions
from datastream.granularity import GranularityType, from_seconds, to_seconds
from datastream.jsonformat import dumps
from datastream.limits import MAX_DATAPOINT_SECONDS, MIN_DATAPOINT_SECONDS

from ..formats.columns import convert_datapoint, time_converter

__all__ = [
    "BUFFER_BYTES",
    "AsyncLiveEvents",
    "Channel",
    "Cursor",
    "Hub",
    "LiveEvents",
    "LiveSpec",
    "Page",
    "REPLAY_PAGE",
    "REPLAY_PAGE_BYTES",
    "Subscriber",
    "event_id_in_range",
    "format_event",
    "format_event_id",
    "hub",
    "parse_event_id",
]

logger = logging.getLogger(__name__)

#: ``(POSIX seconds, n)``: the position of an event (see the module docstring).
Cursor = tuple[int, int]

#: An ordinal past every datapoint of a second: ``(t, AFTER_ALL)`` = "all of second t seen".
AFTER_ALL = 2**62

#: Most events one poll reads from storage in one go (a poll reads page after page).
PAGE_SIZE = 2000
#: Most bytes of events in one page of a poll (a page ends after the event crossing it).
POLL_PAGE_BYTES = 64 * 1024
#: Most events of one replay page.
REPLAY_PAGE = 500
#: Most bytes of one replay page (a page ends after the event crossing it); a quarter of the
#: buffer when that is smaller.
REPLAY_PAGE_BYTES = 32 * 1024
#: Most bytes of events queued for one connection: a replay page is read for a connection
#: only while it fits; live events that do not fit make the connection fall behind.
BUFFER_BYTES = 128 * 1024

#: Bytes a page spends on each event besides its frame (its position and offset).
EVENT_OVERHEAD = 24

#: Event data of the ``error`` event ending a connection that read nothing for too long.
TOO_SLOW = (
    "This connection read nothing while its buffer was full; it was dropped. Reconnect with "
    "Last-Event-ID to resume."
)

_EVENT_ID = re.compile(r"(-?[0-9]{1,20})-([0-9]{1,18})", re.ASCII)

#: The result of an access check: ``None`` (allowed) or the data of the ``error`` event
#: ending the connection.
Refusal = dict[str, Any] | None


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
    """The cursor of an event id ``<seconds>-<n>`` written in ASCII digits (at most 20 for the
    seconds, an optional ``-`` before them, at most 18 for ``n``); ``None`` if ``text`` is not
    one. Whether the time is one an event can have is :func:`event_id_in_range`."""
    match = _EVENT_ID.fullmatch(text.strip(" \t"))
    if match is None:
        return None
    return int(match[1]), int(match[2])


def event_id_in_range(cursor: Cursor) -> bool:
    """Whether ``cursor`` lies in the time range of the library's datapoints (and so of every
    event: 0001-01-02T00:00:00Z to 9999-12-30T23:59:59Z, ``datastream.limits``)."""
    return MIN_DATAPOINT_SECONDS <= cursor[0] <= MAX_DATAPOINT_SECONDS


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


class Page:
    """Events read from storage, kept compact: their Server-Sent Event frames one after the
    other in one ``bytes`` and their positions in arrays (no Python object per event), and
    whether more events may follow (the page was cut by its limits)."""

    __slots__ = ("data", "ends", "more", "ordinals", "seconds")

    def __init__(self) -> None:
        self.data = b""
        self.seconds = array.array("q")
        self.ordinals = array.array("q")
        self.ends = array.array("q")  # offset in ``data`` after each frame
        self.more = False

    def __len__(self) -> int:
        return len(self.ends)

    @property
    def size(self) -> int:
        """The bytes this page holds (what a queue counts)."""
        return len(self.data) + EVENT_OVERHEAD * len(self.ends) + 256

    def position(self, index: int) -> Cursor:
        """The position of event ``index``."""
        return self.seconds[index], self.ordinals[index]

    @property
    def last(self) -> Cursor:
        """The position of the last event (the page is not empty)."""
        return self.position(len(self.ends) - 1)

    def after(self, cursor: Cursor | None) -> bytes:
        """The frames of the events after ``cursor``."""
        if not self.ends:
            return b""
        if cursor is None or self.position(0) > cursor:
            return self.data
        index = bisect.bisect_right(range(len(self.ends)), cursor, key=self.position)
        return self.data[self.ends[index - 1] :] if index else self.data


class Channel:
    """The events of one :class:`LiveSpec`, polled once per interval for all subscribers.

    ``lock`` guards ``subscribers``, ``head`` and ``removed``; ``busy`` is held by whoever
    reads the storage for the channel (the hub's thread, or the first subscription), so that
    the last connection leaving can wait until no read is in flight.
    """

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
        self.busy = threading.Lock()
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
        self,
        cursor: Cursor | None,
        until: Cursor | None = None,
        stream: Any = None,
        limit: int = PAGE_SIZE,
        max_bytes: int = POLL_PAGE_BYTES,
    ) -> Page:
        """Up to ``limit`` events after ``cursor`` (``None``: from the stream's start), not
        after ``until`` when given, ending after the event that reaches ``max_bytes``."""
        page = Page()
        frames = []
        size = 0
        for position, datapoint in self._datapoints_after(cursor, stream, limit):
            if until is not None and position > until:
                break
            # A frame of its own size: orjson's output keeps a 4 KiB allocation however short.
            data = dumps(convert_datapoint(datapoint, self._convert))
            frame = b"id: %d-%d\ndata: %s\n\n" % (position[0], position[1], data)
            frames.append(frame)
            end = (page.ends[-1] if page.ends else 0) + len(frame)
            page.seconds.append(position[0])
            page.ordinals.append(position[1])
            page.ends.append(end)
            size += len(frame) + EVENT_OVERHEAD
            if size >= max_bytes:
                page.more = True
                break
        else:
            page.more = len(frames) >= limit
        page.data = b"".join(frames)
        return page

    def _datapoints_after(
        self, cursor: Cursor | None, stream: Any, limit: int
    ) -> Iterator[tuple[Cursor, dict[str, Any]]]:
        """``(position, datapoint)`` of at most ``limit`` events after ``cursor``."""
        spec = self.spec
        if spec.raw:
            seconds, seen = cursor if cursor is not None else (MIN_DATAPOINT_SECONDS - 1, AFTER_ALL)
            if seen >= AFTER_ALL:  # everything of that second was seen
                data = self.datastream.get_data(
                    spec.stream_id, spec.granularity, start_exclusive=from_seconds(seconds)
                )[:limit]
                previous, ordinal = None, -1
            else:  # the first ``seen + 1`` datapoints of that second were seen: skip them
                data = self.datastream.get_data(
                    spec.stream_id, spec.granularity, start=from_seconds(seconds)
                )[seen + 1 : seen + 1 + limit]
                previous, ordinal = seconds, seen
            for datapoint in data:
                at = to_seconds(datapoint["t"])
                ordinal = ordinal + 1 if at == previous else 0
                previous = at
                yield (at, ordinal), datapoint
            return
        if stream is None:
            stream = self.stream()
        if stream.earliest_datapoint is None:
            return
        size = spec.granularity.seconds
        first = spec.granularity.round_seconds(to_seconds(stream.earliest_datapoint))
        if cursor is not None:
            first = max(first, spec.granularity.round_seconds(cursor[0]) + size)
        if first > MAX_DATAPOINT_SECONDS:
            return
        data = self.datastream.get_data(
            spec.stream_id,
            spec.granularity,
            start=from_seconds(first),
            value_downsamplers=spec.value_downsamplers,
            time_downsamplers=spec.time_downsamplers,
        )
        for index, datapoint in enumerate(data[:limit]):
            yield (first + index * size, 0), datapoint

    def read_open(self) -> bytes | None:
        """The open buckets as one JSON array of datapoints (``None`` when there are none)."""
        spec = self.spec
        buckets = self.datastream.get_open_buckets(
            spec.stream_id,
            spec.granularity,
            value_downsamplers=spec.value_downsamplers,
            time_downsamplers=spec.time_downsamplers,
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
        """Read what is new since the last poll, page by page, and hand each page to every
        subscriber that is up to date (a subscriber whose queue cannot take it falls behind,
        and is fed from storage by the hub)."""
        spec = self.spec
        with self.busy:
            with self.lock:
                self.subscribers -= {s for s in self.subscribers if s.abandoned}
                if not self.subscribers:
                    self.removed = True  # the hub forgets the channel
            if self.removed:
                return
            if self.current is not None and self.current() is not self.datastream:
                self.close("The server's datastream configuration changed; reconnect.")
                return
            try:
                stream = None if spec.raw else self.stream()
                head = self.head
                while True:
                    page = self.read_after(head, stream=stream)
                    if page:
                        head = page.last
                    # A subscriber registers under the lock: it either starts before the old
                    # head (and is fed from storage) or sees the new head.
                    with self.lock:
                        self.head = head
                        current = [s for s in self.subscribers if not s.replaying]
                    if page:
                        self._deliver(current, ("events", page, None, False), page.size)
                    if not page.more:
                        break
                    if not current:  # nobody is up to date: skip ahead without reading
                        stream = stream if stream is not None else self.stream()
                        with self.lock:
                            self.head = self.current_head(stream) or self.head
                        break
                open_payload = self.read_open() if spec.open_bucket else None
            except exceptions.StreamNotFound:
                self.close("The stream was deleted.")
                return
            if spec.open_bucket and open_payload != self.open_payload:
                with self.lock:
                    self.open_payload = open_payload
                    current = [s for s in self.subscribers if not s.replaying]
                item = ("events", None, open_payload, True)
                self._deliver(current, item, len(open_payload or b""))

    @staticmethod
    def _deliver(subscribers: list[Subscriber], item: tuple[Any, ...], size: int) -> None:
        for subscriber in subscribers:
            if subscriber.offer(item, size):
                if item[1] is not None:
                    subscriber.position = item[1].last
            else:
                subscriber.replaying = True  # behind: fed from storage until it caught up

    def close(self, reason: str) -> None:
        """End every subscriber's connection with an ``error`` event; the channel is done."""
        self.closed_reason = reason
        with self.lock:
            subscribers = list(self.subscribers)
            self.subscribers.clear()
            self.removed = True
        for subscriber in subscribers:
            subscriber.end({"error": reason})


class Subscriber:
    """One connection's queue of items, fed by the hub's thread and read by the connection.

    At most :data:`BUFFER_BYTES` of events wait in it (one item more when it was empty, so
    that a page larger than that still goes through). ``cursor`` is the last event the
    connection sent; ``position`` the last event queued (the hub's side); ``replaying`` says
    that the hub feeds it from storage (it starts, or fell, behind the channel's head).
    """

    def __init__(self, channel: Channel, limit: int = BUFFER_BYTES) -> None:
        self.channel = channel
        self.limit = limit
        #: Most bytes of one replay page for this queue.
        self.page_bytes = min(REPLAY_PAGE_BYTES, max(1, limit // 4))
        self.cursor: Cursor | None = None
        self.position: Cursor | None = None
        self.replaying = False
        self.ended = False
        #: Set when the connection's response was garbage-collected without being closed.
        self.abandoned = False
        self.queued = 0
        self.taken_at = time.monotonic()
        self.wake_hub: Callable[[], None] | None = None
        self._items: collections.deque[tuple[tuple[Any, ...], int]] = collections.deque()
        self._lock = threading.Lock()

    # The hub's side ---------------------------------------------------------------------

    def has_room(self) -> bool:
        """Whether a replay page fits in the queue now."""
        return self.queued + self.page_bytes <= self.limit

    def offer(self, item: tuple[Any, ...], size: int, force: bool = False) -> bool:
        """Queue ``item`` of ``size`` bytes unless it does not fit (``force``: queue anyway);
        returns whether it was queued (an ended subscriber swallows everything)."""
        with self._lock:
            if self.ended:
                return True
            if self._items and not force and self.queued + size > self.limit:
                return False
            self._items.append((item, size))
            self.queued += size
            first = len(self._items) == 1
        if first:
            self._notify()
        return True

    def end(self, data: dict[str, Any]) -> None:
        """Replace whatever is queued by an ``error`` event with ``data`` that ends the
        connection (a client resuming with ``Last-Event-ID`` misses nothing dropped here)."""
        with self._lock:
            if self.ended:
                return
            self.ended = True
            self._items.clear()
            self._items.append((("end", data), 0))
            self.queued = 0
        self._notify()

    def abandon(self) -> None:
        """Mark the connection as gone without a close (no lock: any thread, even the
        garbage collector's); the hub forgets it before its next read for the channel."""
        self.abandoned = True

    def release(self) -> None:
        """Forget everything queued but an ``error`` event ending the connection; nothing
        more is queued."""
        with self._lock:
            self.ended = True
            ending = [entry for entry in self._items if entry[0][0] == "end"]
            self._items.clear()
            self._items.extend(ending)
            self.queued = 0

    def _notify(self) -> None:
        raise NotImplementedError

    # The connection's side --------------------------------------------------------------

    def _pop(self) -> tuple[Any, ...] | None:
        with self._lock:
            if not self._items:
                return None
            item, size = self._items.popleft()
            self.queued -= size
            self.taken_at = time.monotonic()
            wake = self.replaying and not self.ended and self.has_room()
        if wake and self.wake_hub is not None:
            self.wake_hub()
        return item

    def encode(self, item: tuple[Any, ...]) -> tuple[bytes, bool]:
        """The bytes to send for a queued item, and whether the connection ends after them."""
        if item[0] == "end":
            return format_event(dumps(item[1]), event="error"), True
        _kind, page, open_payload, changed_open = item
        text = b""
        if page is not None:
            text = page.after(self.cursor)  # what was not sent yet
            if text:
                self.cursor = page.last
        if changed_open:
            text += format_event(open_payload or b"[]", event="open_bucket")
        return text, False


class ThreadSubscriber(Subscriber):
    """A subscriber read by a blocking thread (WSGI)."""

    def __init__(self, channel: Channel, limit: int = BUFFER_BYTES) -> None:
        super().__init__(channel, limit)
        self._ready = threading.Condition(self._lock)

    def _notify(self) -> None:
        with self._ready:
            self._ready.notify()

    def get(self, timeout: float) -> tuple[Any, ...] | None:
        """The next item, or ``None`` after ``timeout`` seconds without one."""
        deadline = time.monotonic() + timeout
        with self._ready:
            while not self._items:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._ready.wait(remaining)
        return self._pop()


class AsyncSubscriber(Subscriber):
    """A subscriber read by a coroutine (ASGI), bound to its event loop on first read."""

    def __init__(self, channel: Channel, limit: int = BUFFER_BYTES) -> None:
        super().__init__(channel, limit)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    def _notify(self) -> None:
        loop, event = self._loop, self._event
        if loop is None or event is None:
            return  # not read yet: the first read finds the items
        try:
            loop.call_soon_threadsafe(event.set)
        except RuntimeError:  # the loop is closed: the connection is gone
            pass

    async def get(self, timeout: float) -> tuple[Any, ...] | None:
        """The next item, or ``None`` after ``timeout`` seconds without one."""
        loop = asyncio.get_running_loop()
        if self._event is None:
            self._event = asyncio.Event()
            self._loop = loop
        deadline = loop.time() + timeout
        while True:
            item = self._pop()
            if item is not None:
                return item
            self._event.clear()
            item = self._pop()  # queued between the first look and the clear
            if item is not None:
                return item
            remaining = deadline - loop.time()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(self._event.wait(), remaining)
            except TimeoutError:
                return None


class Hub:
    """The channels of one process and the thread that polls them and feeds replays.

    ``interval`` is the time between two polls (seconds); ``keepalive`` the longest silence
    on a connection before a comment line is sent; ``stall_timeout`` (default: the
    keep-alive) how long a connection may take nothing from its full queue before it is
    dropped; ``buffer_bytes`` the bound of each connection's queue.
    """

    def __init__(
        self,
        interval: float = 0.5,
        keepalive: float = 15.0,
        stall_timeout: float | None = None,
        buffer_bytes: int = BUFFER_BYTES,
    ) -> None:
        self.interval = interval
        self.keepalive = keepalive
        self.stall_timeout = stall_timeout
        self.buffer_bytes = buffer_bytes
        self.channels: dict[tuple[int, LiveSpec], Channel] = {}
        self.lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._turn = 0
        self.polls = 0
        #: Replay pages read and connections dropped for not reading (for tests and benches).
        self.replay_pages = 0
        self.dropped = 0

    # Subscribing ------------------------------------------------------------------------

    def subscribe(
        self,
        subscriber_class: type[Subscriber],
        datastream: Datastream,
        spec: LiveSpec,
        cursor: Cursor | None,
        from_head: bool,
        current: Callable[[], Datastream | None] | None = None,
    ) -> Subscriber:
        """Register a new connection on the channel of ``spec``, starting after ``cursor``
        (``None``: from the stream's start) or, with ``from_head``, from what arrives next.
        Blocking (the first connection of a channel reads the storage)."""
        key = (id(datastream), spec)
        while True:
            with self.lock:
                channel = self.channels.get(key)
                if channel is None or channel.datastream is not datastream:
                    channel = self.channels[key] = Channel(datastream, spec, current)
                self._ensure_thread()
            try:
                with channel.busy, channel.lock:
                    if channel.removed:  # its last connection left meanwhile: take a new one
                        continue
                    if not channel.ready:
                        stream = channel.stream()
                        channel.head = channel.current_head(stream)
                        if spec.open_bucket:
                            channel.open_payload = channel.read_open()
                        channel.ready = True
                    subscriber = subscriber_class(channel, self.buffer_bytes)
                    subscriber.wake_hub = self._wake.set
                    head = channel.head
                    start = head if from_head else cursor
                    subscriber.cursor = subscriber.position = start
                    subscriber.replaying = head is not None and (start is None or start < head)
                    if not subscriber.replaying and spec.open_bucket:
                        payload = channel.open_payload
                        subscriber.offer(("events", None, payload, True), len(payload or b""))
                    channel.subscribers.add(subscriber)
            except BaseException:
                self._forget_if_unused(channel)
                raise
            if subscriber.replaying:
                self._wake.set()
            return subscriber

    def _forget_if_unused(self, channel: Channel) -> bool:
        """Forget ``channel`` if it has no subscriber or was closed; returns whether it is
        removed."""
        with self.lock, channel.lock:
            if not channel.subscribers:
                channel.removed = True
            if channel.removed:
                key = (id(channel.datastream), channel.spec)
                if self.channels.get(key) is channel:
                    del self.channels[key]
            return channel.removed

    def unsubscribe(self, subscriber: Subscriber, wait: bool = True) -> None:
        """Forget a connection and its queue; the channel goes with its last connection.
        With ``wait``, return only once no storage read for that channel is in flight (the
        caller may close the storage next)."""
        channel = subscriber.channel
        with channel.lock:
            channel.subscribers.discard(subscriber)
        subscriber.release()
        if self._forget_if_unused(channel) and wait:
            with channel.busy:
                pass

    def connections(self) -> int:
        """How many live connections this process serves now."""
        with self.lock:
            channels = list(self.channels.values())
        return sum(len(channel.subscribers) for channel in channels)

    # The hub's thread -------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name="datastream-live-poller", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        next_poll = time.monotonic() + self.interval
        while True:
            self._wake.clear()
            if time.monotonic() >= next_poll:
                with self.lock:
                    if not self.channels:
                        self._thread = None
                        return
                    channels = [c for c in self.channels.values() if c.ready]
                for channel in channels:
                    try:
                        channel.poll()
                    except Exception:  # noqa: BLE001 - one broken channel must not stop others
                        logger.exception("Polling live stream %s failed", channel.spec.stream_id)
                    if channel.removed:
                        self._forget_if_unused(channel)
                self._drop_stalled(channels)
                self.polls += 1
                next_poll = time.monotonic() + self.interval
            if not self._replay_round(next_poll):
                self._wake.wait(max(0.0, next_poll - time.monotonic()))

    def _replaying(self) -> list[Subscriber]:
        with self.lock:
            channels = list(self.channels.values())
        subscribers = []
        for channel in channels:
            with channel.lock:
                subscribers.extend(s for s in channel.subscribers if s.replaying and not s.ended)
        return subscribers

    def _replay_round(self, deadline: float) -> bool:
        """One replay page for each replaying connection with room, round robin, until
        ``deadline`` (the next poll); returns whether any page was read."""
        subscribers = self._replaying()
        if not subscribers:
            return False
        self._turn = (self._turn + 1) % len(subscribers)
        worked = False
        for subscriber in subscribers[self._turn :] + subscribers[: self._turn]:
            if time.monotonic() >= deadline:
                return True
            if subscriber.has_room():
                worked = self._replay_page(subscriber) or worked
        return worked

    def _replay_page(self, subscriber: Subscriber) -> bool:
        """Queue the next page of ``subscriber``'s replay; it goes live once it reached the
        channel's head. Returns whether the storage was read."""
        channel = subscriber.channel
        with channel.busy:
            if channel.removed or subscriber.ended or subscriber.abandoned:
                return False
            head = channel.head
            position = subscriber.position
            if head is None or (position is not None and position >= head):
                self._go_live(subscriber)
                return False
            try:
                page = channel.read_after(
                    position, until=head, limit=REPLAY_PAGE, max_bytes=subscriber.page_bytes
                )
            except exceptions.StreamNotFound:
                channel.close("The stream was deleted.")
                return True
            except Exception:  # noqa: BLE001 - this connection ends, the others go on
                logger.exception("Replaying live stream %s failed", channel.spec.stream_id)
                subscriber.end({"error": "Reading the stream failed; reconnect."})
                self.unsubscribe(subscriber, wait=False)
                return True
            self.replay_pages += 1
            if page:
                subscriber.offer(("events", page, None, False), page.size, force=True)
                subscriber.position = page.last
            if not page or page.last >= head:
                self._go_live(subscriber)
            return True

    @staticmethod
    def _go_live(subscriber: Subscriber) -> None:
        channel = subscriber.channel
        with channel.lock:
            subscriber.replaying = False
            payload = channel.open_payload
        if channel.spec.open_bucket:
            subscriber.offer(("events", None, payload, True), len(payload or b""), force=True)

    def _drop_stalled(self, channels: list[Channel]) -> None:
        """Drop the connections that took nothing from their full queue for too long."""
        timeout = self.keepalive if self.stall_timeout is None else self.stall_timeout
        now = time.monotonic()
        for channel in channels:
            with channel.lock:
                stalled = [
                    s
                    for s in channel.subscribers
                    if not s.has_room() and now - s.taken_at > timeout and not s.ended
                ]
            for subscriber in stalled:
                logger.info("Dropping a live connection of %s: it reads nothing", channel.spec)
                subscriber.end({"error": TOO_SLOW})
                self.unsubscribe(subscriber, wait=False)
                self.dropped += 1

    # Connections ------------------------------------------------------------------------

    def events(
        self,
        datastream: Datastream,
        spec: LiveSpec,
        cursor: Cursor | None,
        from_head: bool,
        current: Callable[[], Datastream | None] | None = None,
        check: Callable[[], Refusal] | None = None,
    ) -> LiveEvents:
        """The event stream of one WSGI connection, registered now (a blocking iterable with
        ``close``).

        ``cursor`` is where to resume (events after it); ``from_head`` ignores it and starts
        with what arrives after the connection opened. ``check`` is called before new data
        is sent once the previous check is older than the poll interval, and at each
        keep-alive: a refusal ends the connection with it as ``error`` event.
        """
        subscriber = self.subscribe(ThreadSubscriber, datastream, spec, cursor, from_head, current)
        assert isinstance(subscriber, ThreadSubscriber)
        return LiveEvents(self, subscriber, check)

    def aevents(
        self,
        datastream: Datastream,
        spec: LiveSpec,
        cursor: Cursor | None,
        from_head: bool,
        current: Callable[[], Datastream | None] | None = None,
        check: Callable[[], Awaitable[Refusal]] | None = None,
    ) -> AsyncLiveEvents:
        """The event stream of one ASGI connection, registered now (blocking: call it from a
        thread, as Django does for a synchronous view), as an async iterable with ``close``;
        as :meth:`events` otherwise, with an awaitable ``check``."""
        subscriber = self.subscribe(AsyncSubscriber, datastream, spec, cursor, from_head, current)
        assert isinstance(subscriber, AsyncSubscriber)
        return AsyncLiveEvents(self, subscriber, check)


GREETING = b"retry: 1000\n: connected\n\n"
KEEPALIVE = b": keep-alive\n\n"


def _sync_events(
    hub: Hub, subscriber: ThreadSubscriber, check: Callable[[], Refusal] | None
) -> Iterator[bytes]:
    checked = time.monotonic()
    try:
        yield GREETING
        while True:
            item = subscriber.get(hub.keepalive)
            if item is not None and item[0] == "end":
                yield subscriber.encode(item)[0]
                return
            # Access is checked again before new data goes out (at most once per poll
            # interval) and at each keep-alive.
            if check is not None and (item is None or time.monotonic() - checked >= hub.interval):
                refusal = check()
                checked = time.monotonic()
                if refusal is not None:
                    yield format_event(dumps(refusal), event="error")
                    return
            if item is None:
                yield KEEPALIVE
                continue
            text, _last = subscriber.encode(item)
            if text:
                yield text
    finally:
        hub.unsubscribe(subscriber)


async def _async_events(
    hub: Hub, subscriber: AsyncSubscriber, check: Callable[[], Awaitable[Refusal]] | None
) -> AsyncIterator[bytes]:
    checked = time.monotonic()
    try:
        yield GREETING
        while True:
            item = await subscriber.get(hub.keepalive)
            if item is not None and item[0] == "end":
                yield subscriber.encode(item)[0]
                return
            if check is not None and (item is None or time.monotonic() - checked >= hub.interval):
                refusal = await check()
                checked = time.monotonic()
                if refusal is not None:
                    yield format_event(dumps(refusal), event="error")
                    return
            if item is None:
                yield KEEPALIVE
                continue
            text, _last = subscriber.encode(item)
            if text:
                yield text
    finally:
        # No waiting in the event loop; close() waits, from Django's thread.
        hub.unsubscribe(subscriber, wait=False)


class LiveEvents:
    """The bytes of one WSGI connection's response: iterate it (blocking); ``close()`` (as
    Django's response does) ends it and releases its queue. A response dropped without a
    close is forgotten by the hub before its next read."""

    def __init__(
        self, hub: Hub, subscriber: ThreadSubscriber, check: Callable[[], Refusal] | None
    ) -> None:
        self.hub = hub
        self.subscriber = subscriber
        self._iterator = _sync_events(hub, subscriber, check)
        self._finalizer = weakref.finalize(self, subscriber.abandon)

    def __iter__(self) -> Iterator[bytes]:
        return self._iterator

    def close(self) -> None:
        """End the connection: its queue and channel are released."""
        self._finalizer.detach()
        try:
            self._iterator.close()
        except ValueError:  # running in another thread: it ends by itself
            pass
        self.hub.unsubscribe(self.subscriber)


class AsyncLiveEvents:
    """The bytes of one ASGI connection's response: iterate it with ``async for``;
    ``close()`` (as Django's response does, from a thread) or ``aclose()`` ends it."""

    def __init__(
        self,
        hub: Hub,
        subscriber: AsyncSubscriber,
        check: Callable[[], Awaitable[Refusal]] | None,
    ) -> None:
        self.hub = hub
        self.subscriber = subscriber
        self._iterator = _async_events(hub, subscriber, check)
        self._finalizer = weakref.finalize(self, subscriber.abandon)

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._iterator

    async def aclose(self) -> None:
        """End the connection from the event loop."""
        self._finalizer.detach()
        await self._iterator.aclose()  # type: ignore[attr-defined]
        self.hub.unsubscribe(self.subscriber, wait=False)

    def close(self) -> None:
        """End the connection (blocking: from a thread)."""
        self._finalizer.detach()
        self.hub.unsubscribe(self.subscriber)


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
