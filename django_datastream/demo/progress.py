"""A small text progress bar for management commands."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["ProgressBar"]


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
