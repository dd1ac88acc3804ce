"""The one table of the query-string parameters of a stream's datapoints.

Declared once, as django-filter declares a filter set: each :class:`Param` names a parameter,
its short form and what it is for. Everything that lists parameters is derived from it:

* :data:`ALIASES` (long name → short form), which parsing uses to read either form;
* :data:`QUERY_NAMES`, the long and short names of the ``get_data`` arguments (the parsed
  query holds them; the detail answer's ``ETag`` adds every *other* parameter as given);
* :data:`CHART_NAMES` and :data:`PAGING_NAMES`, the other roles;
* :data:`NOT_LIVE` and :data:`LIVE`, the detail parameters the live endpoint refuses and
  takes;
* the OpenAPI document's short forms (:mod:`django_datastream.openapi`).

The parsers of the values are :mod:`django_datastream.params.parse`; the ``query_params`` echo
of a page is the parsed objects' ``echo()``, over the same names.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

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
Live = Literal["takes", "refuses", "ignores"]


@dataclasses.dataclass(frozen=True)
class Param:
    """One query-string parameter of the detail endpoint."""

    #: The long name (also the ``query_params`` key and the OpenAPI name).
    name: str
    #: The short form, accepted wherever the long name is.
    alias: str
    #: ``query``: an argument of ``Datastream.get_data``; ``chart``: how the page is chosen
    #: and written; ``paging``: where the page starts and how long it is.
    role: Role
    #: What the live endpoint (``<id>/live/``) does with it: ``takes`` it, ``refuses`` it
    #: (400 naming it) or ``ignores`` it.
    live: Live = "refuses"
    #: Whether repeated values (and comma-separated items) add up to a list.
    many: bool = False


#: Every parameter, in the order the documentation lists them.
PARAMETERS: tuple[Param, ...] = (
    Param("granularity", "g", "query", live="takes"),
    Param("start", "s", "query", live="takes"),
    Param("end", "e", "query"),
    Param("start_exclusive", "sx", "query", live="takes"),
    Param("end_exclusive", "ex", "query"),
    Param("value_downsamplers", "v", "query", live="takes", many=True),
    Param("time_downsamplers", "t", "query", live="takes", many=True),
    Param("reverse", "r", "query"),
    Param("limit", "l", "paging"),
    Param("offset", "o", "paging"),
    Param("cursor", "cu", "paging", live="ignores"),
    Param("max_points", "mp", "chart"),
    Param("thin", "th", "chart"),
    Param("shape", "sh", "chart"),
    Param("time_format", "tf", "chart", live="takes"),
    Param("open_bucket", "ob", "chart", live="takes"),
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
