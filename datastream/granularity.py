"""The seven granularities and their bucket arithmetic.

Each granularity is a class (as in the original library) whose metaclass makes the classes
ordered, hashable and printable: ``Granularity.Seconds > Granularity.Minutes`` (finer is
greater), ``str(Granularity.Seconds10) == '10seconds'``.

Buckets are aligned to the UTC calendar. Arithmetic is done on integer POSIX seconds so that it
is exact for every supported timestamp, including those before 1970.
"""

from __future__ import annotations

import datetime

from .constants import UNIX_EPOCH

__all__ = [
    "EPOCH",
    "GRANULARITY_CODES",
    "Granularity",
    "GranularityType",
    "UTC",
    "from_seconds",
    "to_seconds",
]

UTC = datetime.UTC
#: The Unix epoch (:data:`datastream.constants.UNIX_EPOCH`), second 0 of the arithmetic below.
EPOCH = UNIX_EPOCH
_SECOND = datetime.timedelta(seconds=1)


def to_seconds(timestamp: datetime.datetime) -> int:
    """POSIX seconds of ``timestamp`` (naive means UTC), sub-second part dropped (floored)."""
    if timestamp.tzinfo is None:
        timestamp = timestamp.replace(tzinfo=UTC)
    return (timestamp - EPOCH) // _SECOND


def from_seconds(seconds: int) -> datetime.datetime:
    """Aware UTC datetime for integer POSIX ``seconds``."""
    return datetime.datetime.fromtimestamp(seconds, UTC)


class _GranularityMeta(type):
    _order: int
    name: str
    key: str

    def __str__(cls) -> str:
        return cls.name

    def __repr__(cls) -> str:
        return f"<Granularity {cls.name}>"

    def __hash__(cls) -> int:
        return hash(("datastream.Granularity", cls.__name__))

    def __eq__(cls, other: object) -> bool:
        return cls is other

    def _cmp(cls, other: object) -> int:
        if not isinstance(other, _GranularityMeta) or not hasattr(other, "_order"):
            raise TypeError(f"cannot compare a granularity with {other!r}")
        return other._order

    def __lt__(cls, other: object) -> bool:
        return cls._order < cls._cmp(other)

    def __le__(cls, other: object) -> bool:
        return cls._order <= cls._cmp(other)

    def __gt__(cls, other: object) -> bool:
        return cls._order > cls._cmp(other)

    def __ge__(cls, other: object) -> bool:
        return cls._order >= cls._cmp(other)


class _Base(metaclass=_GranularityMeta):
    _order = 0
    name = ""
    key = ""
    seconds = 1

    @classmethod
    def duration_in_seconds(cls) -> int:
        """Length of one bucket, in seconds."""
        return cls.seconds

    @classmethod
    def round_seconds(cls, seconds: int) -> int:
        """Start of the bucket holding POSIX ``seconds``, as POSIX seconds."""
        return seconds - seconds % cls.seconds

    @classmethod
    def round_timestamp(cls, timestamp: datetime.datetime) -> datetime.datetime:
        """Start of the bucket holding ``timestamp`` (naive means UTC), as an aware UTC datetime."""
        return from_seconds(cls.round_seconds(to_seconds(timestamp)))


class Granularity:
    """Namespace of the seven granularity classes, finest first in :attr:`values`."""

    class Seconds(_Base):
        _order, name, key, seconds = 0, "seconds", "s", 1

    class Seconds10(_Base):
        _order, name, key, seconds = -1, "10seconds", "S", 10

    class Minutes(_Base):
        _order, name, key, seconds = -10, "minutes", "m", 60

    class Minutes10(_Base):
        _order, name, key, seconds = -11, "10minutes", "M", 600

    class Hours(_Base):
        _order, name, key, seconds = -20, "hours", "h", 3600

    class Hours6(_Base):
        _order, name, key, seconds = -21, "6hours", "H", 21600

    class Days(_Base):
        _order, name, key, seconds = -30, "days", "d", 86400

    #: The seven granularities, from the highest (finest) to the lowest (coarsest).
    values: tuple[type[_Base], ...] = (Seconds, Seconds10, Minutes, Minutes10, Hours, Hours6, Days)

    #: Lookup by class attribute name, by ``name`` and by one-letter ``key``.
    by_attribute = {g.__name__: g for g in values}
    by_name = {g.name: g for g in values}
    by_key = {g.key: g for g in values}

    @classmethod
    def is_granularity(cls, value: object) -> bool:
        """True if ``value`` is one of the seven granularity classes."""
        return isinstance(value, _GranularityMeta) and value in cls.values

    @classmethod
    def lower_than(cls, granularity: type[_Base]) -> tuple[type[_Base], ...]:
        """Granularities coarser than ``granularity``, finest first."""
        return tuple(g for g in cls.values if g < granularity)


GranularityType = type[_Base]

#: A small stable integer per granularity (0 for seconds ... 6 for days), for storages that
#: key downsampled buckets by granularity.
GRANULARITY_CODES: dict[GranularityType, int] = {
    g: index for index, g in enumerate(Granularity.values)
}

assert len(Granularity.by_key) == len(Granularity.values) == len(Granularity.by_name)
assert all(len(g.key) == 1 for g in Granularity.values)
assert all(a > b for a, b in zip(Granularity.values, Granularity.values[1:]))
