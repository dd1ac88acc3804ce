"""What the management commands share: the configured datastream, times, counts, progress.

``downsample``, ``dummystream`` and the demo's ``datastream_demo`` all use this module; it
imports nothing from the demo sub-app.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from dateutil.parser import isoparse
from django.core.management.base import CommandError

__all__ = [
    "NO_BACKEND",
    "TIME_FORMAT_ERROR",
    "ProgressBar",
    "TimeFormatError",
    "configured_datastream",
    "counted",
    "parse_timestamp",
]

UTC = datetime.UTC

TIME_FORMAT_ERROR = (
    "Use time format 'yyyy-mm-ddThh:mm:ss' (i.e. '2007-03-04T21:08:12'); any ISO 8601 time "
    "works, read as UTC unless it carries an offset."
)

NO_BACKEND = (
    "DATASTREAM_BACKEND is not set, so there is no datastream to work on. "
    "Set it (and DATASTREAM_BACKEND_SETTINGS) in the Django settings."
)


class TimeFormatError(ValueError):
    """A time argument that is not an ISO 8601 time (the message says how to write one)."""


def parse_timestamp(text: str) -> datetime.datetime:
    """An ISO 8601 time (``2007-03-04T21:08:12``, ``2007-03-04``, ``…Z``, ``…+02:00``) as an
    aware UTC datetime; without an offset it is UTC. Raises :class:`TimeFormatError`."""
    try:
        value = isoparse(text.strip())
    except (ValueError, OverflowError):
        raise TimeFormatError(f"Invalid time {text!r}. {TIME_FORMAT_ERROR}") from None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise TimeFormatError(f"Time {text!r} is out of range. {TIME_FORMAT_ERROR}") from None


def counted(count: int, noun: str) -> str:
    """``'1 stream'``, ``'2 streams'``: a count with its noun in the right number."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def configured_datastream() -> Any:
    """``django_datastream.datastream``, or a CommandError when no backend is configured."""
    from django_datastream import datastream

    if datastream is None:
        raise CommandError(NO_BACKEND)
    return datastream


class ProgressBar:
    """Draws ``label [#####-----]  42% 1234/2900 (0:07 left)`` on a stream.

    On a terminal the bar is redrawn in place; elsewhere (CI logs, files) a line is written at
    every tenth of the work. ``enabled=False`` draws nothing.
    """

    width = 30

    def __init__(self, out: Any, total: int, label: str = "", enabled: bool = True) -> None:
        self.out = out
        # Django's OutputWrapper ends every write with a newline unless told otherwise.
        self._write = (
            (lambda text: out.write(text, ending="")) if hasattr(out, "style_func") else out.write
        )
        self.total = max(int(total), 0)
        self.label = label
        self.enabled = enabled and self.total > 0
        self.done = 0
        self._started = time.monotonic()
        self._tty = bool(getattr(out, "isatty", lambda: False)())
        self._last_tenth = -1
        self._last_draw = 0.0

    def update(self, done: int) -> None:
        """Record that ``done`` units of ``total`` are finished, and redraw if useful."""
        self.done = min(done, self.total)
        if not self.enabled:
            return
        if self._tty:
            now = time.monotonic()
            if now - self._last_draw >= 0.1 or self.done == self.total:
                self._last_draw = now
                self._write("\r" + self._line())
                self.out.flush()
        else:
            tenth = self.done * 10 // self.total
            if tenth != self._last_tenth:
                self._last_tenth = tenth
                self._write(self._line() + "\n")
                self.out.flush()

    def finish(self) -> None:
        """End the bar's line (on a terminal)."""
        if self.enabled and self._tty:
            self._write("\n")
            self.out.flush()

    def _line(self) -> str:
        fraction = self.done / self.total if self.total else 1.0
        filled = int(fraction * self.width)
        bar = "#" * filled + "-" * (self.width - filled)
        elapsed = time.monotonic() - self._started
        if 0 < self.done < self.total:
            left = elapsed * (self.total - self.done) / self.done
            eta = f" ({_clock(left)} left)"
        else:
            eta = f" ({_clock(elapsed)})" if self.done else ""
        prefix = f"{self.label} " if self.label else ""
        return f"{prefix}[{bar}] {fraction:4.0%} {self.done}/{self.total}{eta}"


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds + 0.5), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"
