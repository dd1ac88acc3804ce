"""Types of dummy streams: the ``--types`` grammar, random values and stream settings.

A types string is a comma-separated list of items, each ``int``, ``float``, ``enum`` or
``graph``, optionally followed by a domain in parentheses::

    int(0,10),float(-2,2),enum(on,off),graph(6,13)

* ``int(a,b)`` – a uniformly random integer in ``[a, b]`` (default ``0,100``);
* ``float(a,b)`` – a uniformly random float in ``[a, b]`` (default ``0,100``);
* ``enum(x,y,…)`` – one of the listed words (default ``a,b,c``);
* ``graph(n,m)`` – a random directed graph with ``n`` nodes and ``m`` distinct edges without
  self-loops (default ``4,6``).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "NUMERIC_VALUE_DOWNSAMPLERS",
    "StreamType",
    "StreamTypeError",
    "parse_types",
]

#: Value downsamplers of dummy numeric streams: the seven that every backend keeps cheaply.
#: (``median``, ``most_often``, ``least_often`` and ``frequencies`` keep every distinct value
#: of a bucket, which is costly for random floats.)
NUMERIC_VALUE_DOWNSAMPLERS: tuple[str, ...] = (
    "mean",
    "sum",
    "min",
    "max",
    "sum_squares",
    "std_dev",
    "count",
)

_INT = r"[-+]?\d+"
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_ITEM = (
    rf"int(?:\(\s*{_INT}\s*,\s*{_INT}\s*\))?"
    rf"|float(?:\(\s*{_NUM}\s*,\s*{_NUM}\s*\))?"
    r"|enum(?:\(\s*\w+(?:\s*,\s*\w+)*\s*\))?"
    rf"|graph(?:\(\s*{_INT}\s*,\s*{_INT}\s*\))?"
)
_TYPES_RE = re.compile(rf"^\s*(?:{_ITEM})(?:\s*,\s*(?:{_ITEM}))*\s*$")
_ITEM_RE = re.compile(rf"(?P<item>{_ITEM})")

_DEFAULT_DOMAINS = {"int": "0,100", "float": "0,100", "enum": "a,b,c", "graph": "4,6"}


class StreamTypeError(ValueError):
    """A types string that does not follow the grammar or has an impossible domain."""


@dataclass(frozen=True)
class StreamType:
    """One dummy stream type: its kind (``int``…), its domain and how to fill a stream."""

    kind: str
    domain: str
    bounds: tuple[Any, ...] = field(default=())

    @property
    def value_type(self) -> str:
        """The datastream value type of streams of this kind."""
        return {"int": "numeric", "float": "numeric", "enum": "nominal", "graph": "graph"}[
            self.kind
        ]

    @property
    def is_numeric(self) -> bool:
        """True for ``int`` and ``float`` streams."""
        return self.value_type == "numeric"

    @property
    def value_downsamplers(self) -> list[str]:
        """Value downsamplers the stream is created with."""
        return list(NUMERIC_VALUE_DOWNSAMPLERS) if self.is_numeric else ["count"]

    def visualization(self) -> dict[str, Any]:
        """The ``visualization`` tag read by the demo page.

        Numeric streams are lines (mean inside a min/max band) with a fixed y range; enum
        streams are ``state`` charts (values at full resolution, counts when zoomed out);
        graph streams are ``event`` charts (datapoint counts), hidden until asked for.
        """
        if self.is_numeric:
            low, high = self.bounds
            return {
                "type": "line",
                "hidden": False,
                "value_downsamplers": ["mean", "min", "max"],
                "time_downsamplers": ["mean"],
                "minimum": low,
                "maximum": high,
            }
        return {
            "type": "state" if self.kind == "enum" else "event",
            "hidden": self.kind == "graph",
            "value_downsamplers": ["count"],
            "time_downsamplers": ["mean"],
            "minimum": None,
            "maximum": None,
        }

    def random_value(self, rng: random.Random) -> Any:
        """A random value of this type, drawn from ``rng``."""
        if self.kind == "int":
            return rng.randint(*self.bounds)
        if self.kind == "float":
            return rng.uniform(*self.bounds)
        if self.kind == "enum":
            return rng.choice(self.bounds)
        return random_graph(rng, *self.bounds)


def random_graph(rng: random.Random, nodes: int, edges: int) -> dict[str, list[dict[str, int]]]:
    """A random directed graph: ``nodes`` vertices ``0..nodes-1`` and up to ``edges`` edges.

    Edges are distinct and never loops; asking for at least ``nodes * (nodes - 1)`` edges gives
    the complete graph.
    """
    possible = [(a, b) for a in range(nodes) for b in range(nodes) if a != b]
    chosen = possible if edges >= len(possible) else rng.sample(possible, edges)
    return {
        "v": [{"i": i} for i in range(nodes)],
        "e": [{"f": a, "t": b} for a, b in chosen],
    }


def _make(kind: str, domain: str | None) -> StreamType:
    domain = _DEFAULT_DOMAINS[kind] if domain is None else domain
    parts = [part.strip() for part in domain.split(",")]
    if kind in ("int", "graph"):
        low, high = int(parts[0]), int(parts[1])
        if kind == "int" and low > high:
            raise StreamTypeError(f"Empty domain in '{kind}({domain})': {low} > {high}.")
        if kind == "graph" and (low < 0 or high < 0):
            raise StreamTypeError(
                f"A graph needs non-negative numbers of nodes and edges, not '{kind}({domain})'."
            )
        return StreamType(kind, ",".join(parts), (low, high))
    if kind == "float":
        low_f, high_f = float(parts[0]), float(parts[1])
        if low_f > high_f:
            raise StreamTypeError(f"Empty domain in '{kind}({domain})': {low_f} > {high_f}.")
        return StreamType(kind, ",".join(parts), (low_f, high_f))
    return StreamType(kind, ",".join(parts), tuple(parts))


def parse_types(text: str) -> list[StreamType]:
    """The stream types listed in ``text``; raises :class:`StreamTypeError` if it is invalid."""
    if not _TYPES_RE.match(text):
        raise StreamTypeError(
            "Invalid stream types string. Use a comma-separated list of 'int', 'float', "
            "'enum' or 'graph', each optionally with a domain in parentheses, "
            "e.g. 'int(0,10),float(-2,2),enum(a,b,c),graph(6,13)'."
        )
    types = []
    for match in _ITEM_RE.finditer(text):
        item = re.sub(r"\s+", "", match.group("item"))
        kind, _, rest = item.partition("(")
        types.append(_make(kind, rest[:-1] if rest else None))
    return types
