"""The one table of the query-string parameters of a stream's datapoints.

Declared once, as django-filter declares a filter set: each :class:`Param` names a parameter,
its short form and what it is for. Everything that lists parameters is derived from it:

* :data:`ALIASES` (long name → short form), which parsing uses to read either form;
* :data:`QUERY_NAMES`, the long and short names of the ``get_data`` arguments (the parsed
  query holds them; the detail answer's ``ETag`` adds every *other* parameter as given);
* :data:`CHART_NAMES` and :data:`PAGING_NAMES`, the other roles;
* :data:`NOT_LIVE` and :data:`LIVE`, the detail parameters the live endpoint refuses and
  takes;
* the OpenAPI document's parameters: each entry's schema and description (its ``kind`` and
  ``meaning``) and short form (:mod:`django_datastream.openapi`, whose rules join some).

The parsers of the values are :mod:`django_datastream.params.parse`; the ``query_params`` echo
of a page is the parsed objects' ``echo()``, over the same names.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

from datastream.arguments import DATA_ARGUMENTS
from datastream.constants import TIME_DOWNSAMPLERS, VALUE_DOWNSAMPLERS
from datastream.granularity import Granularity
from datastream.thinning import ALGORITHMS, MIN_POINTS

from ..formats.columns import SHAPES, TIME_FORMATS
from .schemas import Boolean, Choice, Count, Names, Time, Token, max_offset, page_max

__all__ = [
    "ALIASES",
    "CHART_NAMES",
    "LIVE",
    "NOT_LIVE",
    "PAGING_NAMES",
    "PARAMETERS",
    "QUERY_NAMES",
    "Param",
    "names_of",
]

Role = Literal["query", "chart", "paging"]
Kind = Boolean | Choice | Count | Names | Time | Token
Live = Literal["takes", "refuses", "ignores"]


@dataclasses.dataclass(frozen=True)
class Param:
    """One query-string parameter of the detail endpoint."""

    #: The long name (also the ``query_params`` key and the OpenAPI name).
    name: str
    #: The short form, accepted wherever the long name is.
    alias: str
    #: ``query``: an argument of ``Datastream.get_data`` (those entries are
    #: :data:`datastream.arguments.DATA_ARGUMENTS`, in its order); ``chart``: how the page is chosen
    #: and written; ``paging``: where the page starts and how long it is.
    role: Role
    #: The kind of value it takes: its OpenAPI schema and the wording the kind adds to
    #: ``meaning`` (:mod:`django_datastream.params.schemas`).
    kind: Kind
    #: What it means, as the OpenAPI document describes it (the kind completes it).
    meaning: str
    #: What the live endpoint (``<id>/live/``) does with it: ``takes`` it, ``refuses`` it
    #: (400 naming it) or ``ignores`` it.
    live: Live = "refuses"
    #: Whether repeated values (and comma-separated items) add up to a list.
    many: bool = False


_GRANULARITIES = tuple(name for g in Granularity.values for name in (g.name, g.key))
#: Every parameter: the arguments of ``Datastream.get_data`` in its order, then the chart
#: options, then paging (the OpenAPI document lists them in this order, after the ones a rule
#: joins).
PARAMETERS: tuple[Param, ...] = (
    Param("granularity", "g", "query", Choice(_GRANULARITIES),
          "Granularity by name or key; default: the stream's highest (raw datapoints). Not "
          "with `max_points`.", live="takes"),
    Param("start", "s", "query", Time(ceiling=True),
          "Inclusive start, rounded down to the start of its bucket", live="takes"),
    Param("end", "e", "query", Time(),
          "Inclusive end: the bucket starting at or before it is included"),
    Param("start_exclusive", "sx", "query", Time(),
          "Exclusive start: the bucket holding it is excluded", live="takes"),
    Param("end_exclusive", "ex", "query", Time(ceiling=True),
          "Exclusive end: buckets starting before it are included"),
    Param("reverse", "r", "query", Boolean(), "Newest first (default: oldest first)."),
    Param("value_downsamplers", "v", "query", Names(VALUE_DOWNSAMPLERS), "Value",
          live="takes", many=True),
    Param("time_downsamplers", "t", "query", Names(TIME_DOWNSAMPLERS), "Time",
          live="takes", many=True),
    Param("max_points", "mp", "chart", Count(1, page_max),
          "At most this many datapoints over the requested range (a chart's width): picks "
          "the finest granularity that fits. Not with `granularity`."),
    Param("thin", "th", "chart", Choice(tuple(ALGORITHMS)),
          f"Thin raw datapoints to `max_points` (at least {MIN_POINTS}) with this algorithm "
          "instead of choosing a granularity. Needs `max_points`; not with `granularity` nor "
          "`cursor`; numeric streams only (another stream answers 400)."),
    Param("shape", "sh", "chart", Choice(tuple(SHAPES)),
          "`rows` (default): a list of datapoints; `columns`: one array per key "
          "(JSON, JSONP and XML; with CSV or NDJSON it answers 400)."),
    Param("time_format", "tf", "chart", Choice(tuple(TIME_FORMATS)),
          "Datapoint times as `iso` (default) strings, `epoch` seconds or `epoch_ms` "
          "milliseconds.", live="takes"),
    Param("open_bucket", "ob", "chart", Boolean(),
          "Add the still-open last bucket of a downsampled granularity, computed from raw "
          "data.", live="takes"),
    Param("limit", "l", "paging", Count(0),
          "Items per page: default {default}, {capped}; `0` gives {zero}."),
    Param("offset", "o", "paging", Count(0, max_offset),
          "Number of items to skip. Not with `cursor`."),
    Param("cursor", "cu", "paging", Token(),
          "Continue right after the last item of the response whose `meta.next_cursor` this "
          "is, whatever was appended meanwhile. Only the server makes cursors: any other "
          "value, or a cursor of another query (keep every other parameter but `limit` and "
          "`format` unchanged), answers 400 naming the parameter. Not with `offset`.",
          live="ignores"),
)  # fmt: skip


# The ``query`` entries are the arguments of ``get_data``, whose one list is the library's.
if tuple(p.name for p in PARAMETERS if p.role == "query") != DATA_ARGUMENTS:
    raise RuntimeError(
        f"The query parameters of the table must be datastream.arguments.DATA_ARGUMENTS, "
        f"in its order: {DATA_ARGUMENTS}."
    )


def names_of(role: Role) -> frozenset[str]:
    """The long and short names of the parameters of ``role``."""
    return frozenset(n for p in PARAMETERS if p.role == role for n in (p.name, p.alias))


#: Long parameter name -> short form.
ALIASES: dict[str, str] = {p.name: p.alias for p in PARAMETERS}
QUERY_NAMES = names_of("query")
CHART_NAMES = names_of("chart")
PAGING_NAMES = names_of("paging")
#: Long names of the detail parameters the live endpoint refuses.
NOT_LIVE: tuple[str, ...] = tuple(p.name for p in PARAMETERS if p.live == "refuses")
#: Long names of the detail parameters the live endpoint takes.
LIVE: tuple[str, ...] = tuple(p.name for p in PARAMETERS if p.live == "takes")
