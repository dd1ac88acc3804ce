"""Realistic demo signals: daily cycles, trends, noise, occasional gaps and spikes.

``datastream_demo`` fills its streams with these (``dummystream`` keeps its uniform random
values), so that zooming in and out and the min/max bands show something worth seeing. A
value is a function of the timestamp plus random noise; gaps and spikes are decided by the
timestamp alone, so that a back-fill and the real-time appends that follow it look alike.

Each :class:`Signal` offers what the demo generator needs from a stream type
(:class:`~django_datastream.management.streamtypes.StreamType`) plus :meth:`Signal.value_at`.
"""

from __future__ import annotations

import datetime
import hashlib
import math
import random
from dataclasses import dataclass
from typing import Any

from datastream.constants import UNIX_EPOCH
from django_datastream.management.streamtypes import NUMERIC_VALUE_DOWNSAMPLERS

__all__ = ["DEMO_SIGNALS", "Signal"]

_DAY = 86400.0


def _chance(*key: Any) -> float:
    """A number in [0, 1) fixed by ``key`` (the same on every run and machine)."""
    digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class Signal:
    """A numeric signal: ``base`` + a daily cycle + a slow weekly wave + a trend + noise.

    ``peak_hour`` is the UTC hour of the daily maximum; ``trend`` is added per day since the
    epoch (a slow drift, wrapped by a weekly wave so that values stay in range). One hour in
    ``gap_every_hours`` (chosen by the timestamp) has a gap of up to 40 minutes without data;
    a datapoint is a spike with probability ``spike_chance``.
    """

    title: str
    unit: str
    minimum: float
    maximum: float
    base: float
    daily: float
    peak_hour: float
    weekly: float
    noise: float
    spike: float
    spike_chance: float = 0.0005
    gap_every_hours: int = 36
    decimals: int = 2
    kind: str = "float"
    value_type: str = "numeric"
    is_numeric: bool = True

    @property
    def description(self) -> str:
        """The ``description`` tag of the stream."""
        return (
            f"{self.title} ({self.unit}), a demo signal: a daily cycle peaking at "
            f"{self.peak_hour:g}:00 UTC, a weekly wave, noise, and now and then a gap or a spike."
        )

    @property
    def domain(self) -> str:
        return f"{self.minimum:g},{self.maximum:g}"

    @property
    def bounds(self) -> tuple[float, float]:
        return self.minimum, self.maximum

    @property
    def value_downsamplers(self) -> list[str]:
        return list(NUMERIC_VALUE_DOWNSAMPLERS)

    def visualization(self) -> dict[str, Any]:
        """The ``visualization`` tag: a mean line in a min/max band, fixed y range."""
        return {
            "type": "line",
            "hidden": False,
            "value_downsamplers": ["mean", "min", "max"],
            "time_downsamplers": ["mean"],
            "minimum": self.minimum,
            "maximum": self.maximum,
        }

    def in_gap(self, seconds: float) -> bool:
        """True when ``seconds`` falls into one of the signal's gaps."""
        hour = int(seconds // 3600)
        if _chance(self.title, "gap", hour) * self.gap_every_hours >= 1:
            return False
        start = _chance(self.title, "gap start", hour) * 1200
        length = 300 + _chance(self.title, "gap length", hour) * 2100
        offset = seconds - hour * 3600
        return start <= offset < start + length

    def value_at(self, timestamp: datetime.datetime, rng: random.Random) -> float | None:
        """The value at ``timestamp``, or ``None`` inside a gap (append nothing then)."""
        seconds = (timestamp - UNIX_EPOCH).total_seconds()
        if self.in_gap(seconds):
            return None
        day_phase = 2 * math.pi * (seconds / _DAY - self.peak_hour / 24)
        week_phase = 2 * math.pi * seconds / (7 * _DAY)
        value = (
            self.base
            + self.daily * math.cos(day_phase)
            + self.weekly * math.sin(week_phase)
            + rng.gauss(0, self.noise)
        )
        if rng.random() < self.spike_chance:
            value += self.spike * (1 if rng.random() < 0.8 else -1)
        return round(min(self.maximum, max(self.minimum, value)), self.decimals)

    def random_value(self, rng: random.Random) -> float:
        """A value at the current time (for callers that know no timestamp)."""
        now = datetime.datetime.now(datetime.UTC)
        value = self.value_at(now, rng)
        return value if value is not None else round(self.base, self.decimals)


#: The three streams of ``datastream_demo``.
DEMO_SIGNALS: tuple[Signal, ...] = (
    Signal(
        title="Outdoor temperature", unit="°C", minimum=-5, maximum=35, base=14, daily=7,
        peak_hour=15, weekly=4, noise=0.4, spike=12,
    ),
    Signal(
        title="Power load", unit="kW", minimum=0, maximum=120, base=55, daily=25,
        peak_hour=19, weekly=8, noise=3, spike=45, spike_chance=0.001,
    ),
    Signal(
        title="Server CPU", unit="%", minimum=0, maximum=100, base=35, daily=15,
        peak_hour=11, weekly=5, noise=6, spike=50, spike_chance=0.002, gap_every_hours=30,
        decimals=1,
    ),
)  # fmt: skip
