"""Query-string parsing and validation for the stream API.

Every parameter has a long name and a short alias (``granularity``/``g``, ``start``/``s``, …,
see :data:`ALIASES`). Both may be given; if their parsed values differ the request is
rejected. A parameter repeated under one name uses its last value, except the downsampler
lists, which concatenate every value.

All problems raise :class:`QueryError`, whose message names the parameter and the value.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypeVar

from datastream.arguments import DataArguments
from datastream.constants import TIME_DOWNSAMPLERS, VALUE_DOWNSAMPLERS
from datastream.granularity import Granularity
from datastream.limits import (
    INT64_MAX,
    INT64_MIN,
    MAX_NESTING_DEPTH,
)
from datastream.tagquery import LIST_OPERATORS, OPERATORS
from datastream.thinning import ALGORITHMS, MIN_POINTS

from ..errors import BadParameter, quote
from ..formats.columns import SHAPES, TIME_FORMATS
from .table import ALIASES, PARAMETERS
from .times import InvalidTime, parse_time, rounding_for

__all__ = [
    "CHART_ALIASES",
    "ChartOptions",
    "parse_chart_options",
    "ParsedDetail",
    "parse_detail",
    "query_forms",
    "ALIASES",
    "DetailQuery",
    "FALSE_WORDS",
    "LIST_OPERATORS",
    "MAX_OFFSET",
    "QueryError",
    "MAX_TAG_DEPTH",
    "TAG_OPERATORS",
    "TRUE_WORDS",
    "coerce_filter_value",
    "combine_tag_queries",
    "get_parameter",
    "CursorParameter",
    "parse_boolean",
    "parse_cursor",
    "parse_detail_query",
    "parse_integer",
    "parse_limit",
    "parse_offset",
    "parse_tag_filters",
]


#: Largest accepted ``offset`` (a signed 64-bit integer, what storages can skip).
MAX_OFFSET = INT64_MAX

#: Tag lookup operators understood as the last segment of a ``tags__…`` filter (the core's).
TAG_OPERATORS = OPERATORS

#: Most segments (nested tag names and the operator) of a ``tags__…`` filter: the library's
#: nesting limit of query tags (deeper filters answer 400 naming it).
MAX_TAG_DEPTH = MAX_NESTING_DEPTH


#: The words of a boolean parameter, in any case (ASCII): one rule for every boolean parameter
#: (``reverse``, ``open_bucket``); any other value, the empty one included, is refused. The
#: true words are exactly the original's; it read every other value as false, so a word it
#: read as false (``on``, say) is refused rather than given a different meaning.
TRUE_WORDS = ("1", "true", "t", "yes", "y")
FALSE_WORDS = ("0", "false", "f", "no", "n")
_BOOLEANS = {**dict.fromkeys(TRUE_WORDS, True), **dict.fromkeys(FALSE_WORDS, False)}
_INTEGER = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_T = TypeVar("_T")


class QueryError(BadParameter):
    """A query parameter is invalid; the message names the parameter and the value (400)."""


def parse_integer(value: str) -> int | None:
    """The integer written in ASCII digits in ``value`` (optional sign), else ``None``."""
    if not _INTEGER.fullmatch(value):
        return None
    try:
        return int(value)
    except ValueError:  # more digits than Python converts
        return None


def get_parameter(
    params: Any, name: str, parse: Callable[[str, str], _T], default: _T | None = None
) -> _T | None:
    """Parse ``name`` and its alias from ``params`` (a ``QueryDict``) with
    ``parse(raw value, parameter name)``; ``default`` if neither is present."""
    found: list[tuple[str, str, _T]] = []
    for key in (name, ALIASES[name]):
        if key in params:
            raw = params[key]
            found.append((key, raw, parse(raw, key)))
    if not found:
        return default
    if len(found) == 2 and found[0][2] != found[1][2]:
        raise QueryError(
            f"Conflicting values for '{found[0][0]}' and '{found[1][0]}': "
            f"{quote(found[0][1])} and {quote(found[1][1])}."
        )
    return found[0][2]


def get_list_parameter(
    params: Any, name: str, parse: Callable[[str, str, str], _T]
) -> list[_T] | None:
    """Like :func:`get_parameter` for comma-separated, repeatable lists;
    ``parse(item, raw value, parameter name)`` parses one item."""
    found: list[tuple[str, list[str], list[_T]]] = []
    for key in (name, ALIASES[name]):
        if key in params:
            raws = params.getlist(key)
            found.append((key, raws, [parse(i, raw, key) for raw in raws for i in raw.split(",")]))
    if not found:
        return None
    if len(found) == 2 and found[0][2] != found[1][2]:
        raise QueryError(
            f"Conflicting values for '{found[0][0]}' and '{found[1][0]}': "
            f"{quote(','.join(found[0][1]))} and {quote(','.join(found[1][1]))}."
        )
    return found[0][2]


# Paging parameters --------------------------------------------------------------------------


def _count_parser(
    kind: str, not_integer: str, out_of_range: str, maximum: int | None
) -> Callable[[str, str], int]:
    """A parser of an integer parameter from 0 (to ``maximum``) whose errors say ``kind``
    and, as tastypie's paginator does, ``not_integer`` or ``out_of_range``."""

    def parse(value: str, key: str) -> int:
        number = parse_integer(value)
        if number is None or number < 0 or (maximum is not None and number > maximum):
            hint = not_integer if number is None else out_of_range
            raise QueryError(
                f"Invalid {kind} {quote(value)} provided in parameter '{key}'. Please provide "
                f"{hint}."
            )
        return number

    return parse


#: A ``limit`` parameter: a non-negative integer.
parse_limit = _count_parser(
    "limit", "a positive integer", "a positive integer >= 0", maximum=None
)
#: An ``offset`` parameter: an integer from 0 to 2**63 - 1.
parse_offset = _count_parser(
    "offset", "an integer", f"a positive integer >= 0 and <= {MAX_OFFSET}", maximum=MAX_OFFSET
)


class CursorParameter(NamedTuple):
    """The request's cursor: the token as given and the name it was given under (``cursor``
    or ``cu``), which its errors name."""

    token: str
    name: str


def _token(value: str, key: str) -> str:
    return value


def parse_cursor(params: Any) -> CursorParameter | None:
    """The request's ``cursor`` (``cu``), ``None`` without one; a cursor with an ``offset``
    is refused (the token itself is checked where it is decoded:
    :mod:`django_datastream.detail.cursors`)."""
    token = get_parameter(params, "cursor", _token)
    if token is None:
        return None
    name = "cursor" if "cursor" in params else ALIASES["cursor"]
    for key in ("offset", ALIASES["offset"]):
        if key in params:
            raise QueryError(
                f"'{name}' cannot be combined with '{key}' ({quote(params[key])}): a cursor "
                "already says where the page starts."
            )
    return CursorParameter(token, name)


# Detail parameters --------------------------------------------------------------------------


def _parse_granularity(value: str, key: str) -> Any:
    granularity = Granularity.by_name.get(value) or Granularity.by_key.get(value)
    if granularity is None:
        choices = ", ".join(f"{g.name} ({g.key})" for g in Granularity.values)
        raise QueryError(
            f"Invalid granularity: {quote(value)} in parameter '{key}'. Use one of {choices}."
        )
    return granularity


def _downsampler_parser(known: dict[str, str], kind: str) -> Callable[[str, str, str], str]:
    by_key = {k: name for name, k in known.items()}

    def parse(item: str, raw: str, key: str) -> str:
        if item in known:
            return item
        if item in by_key:
            return by_key[item]
        choices = ", ".join(f"{name} ({k})" for name, k in known.items())
        raise QueryError(
            f"Invalid {kind} downsampler: {quote(item)} in parameter '{key}'={quote(raw)}. "
            f"Use names or keys, comma-separated: {choices}."
        )

    return parse


_parse_value_downsampler = _downsampler_parser(VALUE_DOWNSAMPLERS, "value")
_parse_time_downsampler = _downsampler_parser(TIME_DOWNSAMPLERS, "time")


def _timestamp_parser(parameter: str) -> Callable[[str, str], datetime.datetime]:
    """A parser of the bound ``parameter`` (long name): integer UNIX seconds or an ISO 8601 /
    RFC 3339 timestamp (:mod:`django_datastream.params.times`), rounded to whole seconds so that
    it selects the datapoints the exact moment would."""
    which = "start" if parameter.startswith("start") else "end"
    rounding = rounding_for(parameter)

    def parse(value: str, key: str) -> datetime.datetime:
        try:
            return parse_time(value, key, which, rounding)
        except InvalidTime as error:
            raise QueryError(str(error)) from None

    return parse




def parse_boolean(value: str, key: str) -> bool:
    """A boolean parameter: one of :data:`TRUE_WORDS` or :data:`FALSE_WORDS` in any case
    (ASCII letters only); anything else raises :class:`QueryError` naming ``key``."""
    parsed = _BOOLEANS.get(value.lower()) if value.isascii() else None
    if parsed is None:
        raise QueryError(
            f"Invalid boolean: {quote(value)} in parameter '{key}'. Use one of "
            f"{', '.join(TRUE_WORDS)} for true, or {', '.join(FALSE_WORDS)} for false."
        )
    return parsed


@dataclasses.dataclass(frozen=True, kw_only=True)
class DetailQuery(DataArguments):
    """The parsed datapoint query of a detail request: the arguments of ``get_data`` (their one
    list is :class:`datastream.arguments.DataArguments`)."""

    def get_data_arguments(self) -> dict[str, Any]:
        """Keyword arguments for ``Datastream.get_data`` (besides the stream id)."""
        arguments = self.arguments()
        for name in ("value_downsamplers", "time_downsamplers"):
            if arguments[name] is not None:
                arguments[name] = list(arguments[name])
        return arguments

    def echo(self) -> dict[str, Any]:
        """The ``query_params`` of the response: long names, granularity by name."""
        return self.get_data_arguments() | {"granularity": self.granularity.name}


#: The start used when the request gives none: the whole stream.
DEFAULT_START = datetime.datetime.min.replace(tzinfo=datetime.UTC)


#: The parser of each ``get_data`` argument's value (the ``query`` entries of the table, in
#: the order of :data:`datastream.arguments.DATA_ARGUMENTS`); list parsers take one item.
_QUERY_PARSERS: dict[str, Callable[..., Any]] = {
    "granularity": _parse_granularity,
    "start": _timestamp_parser("start"),
    "end": _timestamp_parser("end"),
    "start_exclusive": _timestamp_parser("start_exclusive"),
    "end_exclusive": _timestamp_parser("end_exclusive"),
    "reverse": parse_boolean,
    "value_downsamplers": _parse_value_downsampler,
    "time_downsamplers": _parse_time_downsampler,
}
_QUERY_PARAMETERS = tuple(p for p in PARAMETERS if p.role == "query")
if tuple(_QUERY_PARSERS) != tuple(p.name for p in _QUERY_PARAMETERS):  # pragma: no cover
    raise RuntimeError("params.parse must have a parser for every query parameter of the table")


def parse_detail_query(params: Any, default_granularity: Any) -> DetailQuery:
    """Parse the datapoint parameters of a detail request (``params`` is a ``QueryDict``): the
    ``query`` entries of the parameter table, each by its parser."""
    values = {
        p.name: (get_list_parameter if p.many else get_parameter)(
            params, p.name, _QUERY_PARSERS[p.name]
        )
        for p in _QUERY_PARAMETERS
    }
    if values["start"] is not None and values["start_exclusive"] is not None:
        raise QueryError(
            "Only one time range start can be specified: got both 'start' and 'start_exclusive'."
        )
    if values["end"] is not None and values["end_exclusive"] is not None:
        raise QueryError(
            "Only one time range end can be specified: got both 'end' and 'end_exclusive'."
        )
    if values["granularity"] is None:
        values["granularity"] = default_granularity
    if values["start"] is None and values["start_exclusive"] is None:
        values["start"] = DEFAULT_START
    values["reverse"] = bool(values["reverse"])
    return DetailQuery(**values)


# Chart parameters ---------------------------------------------------------------------------
#
# The chart parameters of a detail request: ``max_points``, ``thin``, ``shape``,
# ``time_format`` and ``open_bucket`` (short ``mp``, ``th``, ``sh``, ``tf``, ``ob``).
#
# Their rules (every violation is a :class:`~django_datastream.params.parse.QueryError`,
# answered 400):
#
# * ``max_points``: an integer ≥ 1, not together with ``granularity`` (it picks the
#   granularity, see :mod:`datastream.pointbudget`).
# * ``thin``: ``m4``, ``lttb`` or ``minmaxlttb``; only with ``max_points`` (at least
#   :data:`datastream.thinning.MIN_POINTS`), never with ``granularity``; numeric streams only.
# * ``shape``: ``rows`` (default) or ``columns``; ``columns`` in JSON, JSONP and XML.
# * ``time_format``: ``iso`` (default), ``epoch`` or ``epoch_ms``.
# * ``open_bucket``: a boolean (:func:`~django_datastream.params.parse.parse_boolean`: ``1``,
#   ``true``, ``yes``… or ``0``, ``false``, ``no``…).

#: Long parameter name -> short alias of the chart parameters (from the table).
CHART_ALIASES: dict[str, str] = {p.name: p.alias for p in PARAMETERS if p.role == "chart"}


@dataclasses.dataclass(frozen=True)
class ChartOptions:
    """The parsed chart parameters of a detail request."""

    max_points: int | None = None
    thin: str | None = None
    shape: str = "rows"
    time_format: str = "iso"
    open_bucket: bool = False

    def echo(self) -> dict[str, Any]:
        """What ``query_params`` reports of them: those not at their default (so that a
        request without chart parameters is answered as before)."""
        echoed: dict[str, Any] = {}
        if self.max_points is not None:
            echoed["max_points"] = self.max_points
        if self.thin is not None:
            echoed["thin"] = self.thin
        if self.shape != "rows":
            echoed["shape"] = self.shape
        if self.time_format != "iso":
            echoed["time_format"] = self.time_format
        if self.open_bucket:
            echoed["open_bucket"] = True
        return echoed


def _parse_max_points(value: str, key: str) -> int:
    number = parse_integer(value)
    if number is None or number < 1:
        raise QueryError(
            f"Invalid max_points: {quote(value)} in parameter '{key}'. Use an integer of at "
            "least 1 (the chart's width in pixels, for example)."
        )
    return number


def _choice_parser(name: str, choices: tuple[str, ...]):
    def parse(value: str, key: str) -> str:
        if value not in choices:
            raise QueryError(
                f"Invalid {name}: {quote(value)} in parameter '{key}'. "
                f"Use one of {', '.join(choices)}."
            )
        return value

    return parse


def parse_chart_options(
    params: Any, granularity_given: bool, max_limit: int | None = None
) -> ChartOptions:
    """Parse and check the chart parameters of ``params`` (a ``QueryDict``).

    ``granularity_given`` tells whether the request names a granularity; ``max_limit`` is the
    largest page the detail endpoint serves (``max_points`` may not exceed it).
    """
    max_points = get_parameter(params, "max_points", _parse_max_points)
    thin = get_parameter(params, "thin", _choice_parser("thin", ALGORITHMS))
    shape = get_parameter(params, "shape", _choice_parser("shape", SHAPES), "rows")
    time_format = get_parameter(
        params, "time_format", _choice_parser("time_format", TIME_FORMATS), "iso"
    )
    open_bucket = get_parameter(params, "open_bucket", parse_boolean, False)
    if max_points is not None and granularity_given:
        raise QueryError(
            "Use either 'granularity' or 'max_points', not both: max_points chooses the "
            "granularity."
        )
    if max_points is not None and max_limit is not None and max_points > max_limit:
        raise QueryError(
            f"Invalid max_points: {max_points}. At most {max_limit} datapoints are served per "
            "request."
        )
    if thin is not None:
        if granularity_given:
            raise QueryError(
                "'thin' cannot be combined with 'granularity': it thins the raw datapoints."
            )
        if max_points is None:
            raise QueryError("'thin' needs 'max_points': how many datapoints to keep.")
        if max_points < MIN_POINTS:
            raise QueryError(
                f"Invalid max_points: {max_points} with 'thin'. Thinning keeps at least "
                f"{MIN_POINTS} datapoints (first, minimum, maximum, last)."
            )
    return ChartOptions(
        max_points=max_points,
        thin=thin,
        shape=shape or "rows",
        time_format=time_format or "iso",
        open_bucket=bool(open_bucket),
    )


class ParsedDetail(NamedTuple):
    """The parameters of a detail request, parsed: the datapoint query, the chart options, and
    what follows from them (the ``get_data`` arguments, the echo of each)."""

    query: DetailQuery
    chart: ChartOptions
    arguments: dict[str, Any]
    echo: dict[str, Any]
    chart_echo: dict[str, Any]
    cursor: CursorParameter | None


def parse_detail(params: Any, default_granularity: Any, max_limit: int | None) -> ParsedDetail:
    """The datapoint query, the chart options and the cursor of a detail request, parsed and
    checked (``max_limit``: the largest page the endpoint serves)."""
    names_granularity = "granularity" in params or ALIASES["granularity"] in params
    query = parse_detail_query(params, default_granularity)
    chart = parse_chart_options(params, names_granularity, max_limit)
    return ParsedDetail(query, chart, *query_forms(query), chart.echo(), parse_cursor(params))


def query_forms(query: DetailQuery) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``get_data`` arguments of ``query`` and its echo (``query_params``)."""
    return query.get_data_arguments(), query.echo()


# Tag filters ----------------------------------------------------------------------------------


def coerce_filter_value(value: str) -> Any:
    """A filter value as a Python value: booleans, ``None``, integers (64-bit) and finite
    floats are recognised; everything else stays a string."""
    if value in ("true", "True"):
        return True
    if value in ("false", "False"):
        return False
    if value in ("none", "None", "null"):
        return None
    integer = parse_integer(value)
    if integer is not None:
        return integer if INT64_MIN <= integer <= INT64_MAX else value
    if _FLOAT.fullmatch(value):
        number = float(value)
        if math.isfinite(number):
            return number
    return value


def parse_tag_filters(params: Any) -> dict[str, Any] | None:
    """The ``find_streams`` query of the ``tags__…`` parameters in ``params``, else ``None``.

    ``tags__a__b=1`` becomes ``{'a': {'b': 1}}``; the last segment after a tag name may be an
    operator (``tags__a__gte=1`` → ``{'a': {'gte': 1}}``); ``in``/``nin``/``all`` take a list
    of all comma-separated and repeated values. Parameters whose first ``__`` segment is not
    ``tags`` are not filters; ``tags`` alone, or an empty segment, is an error.
    """
    query: dict[str, Any] = {}
    for name in params:
        segments = name.split("__")
        if segments[0] != "tags":
            continue
        path = segments[1:]
        raw = params.getlist(name)[-1]
        if not path or not all(path):
            raise QueryError(
                f"Invalid tag filter {quote(name)}={quote(raw)}: use "
                "tags__<tag>[__<tag>…][__<operator>]=<value>."
            )
        operator = path[-1] if len(path) > 1 and path[-1] in TAG_OPERATORS else None
        if len(path) > MAX_TAG_DEPTH:
            raise QueryError(
                f"Tag filter {quote(name)} is nested {len(path)} levels deep; at most "
                f"{MAX_TAG_DEPTH} levels (tag names and an operator) are allowed."
            )
        if operator in LIST_OPERATORS:
            value: Any = [
                coerce_filter_value(item)
                for each in params.getlist(name)
                for item in each.split(",")
            ]
        else:
            value = coerce_filter_value(raw)
        if operator == "size" and (isinstance(value, bool) or not isinstance(value, int)):
            raise QueryError(
                f"Invalid tag filter {quote(name)}={quote(raw)}: the 'size' operator needs an "
                "integer."
            )
        node = query
        for key in path[:-1]:
            node = node.setdefault(key, {})
            if not isinstance(node, dict):
                break
        if not isinstance(node, dict) or path[-1] in node:
            raise QueryError(
                f"Conflicting tag filter {quote(name)}={quote(raw)}: another filter already "
                "sets this tag."
            )
        node[path[-1]] = value
    return query or None


# Combining tag queries ------------------------------------------------------------------------


def combine_tag_queries(
    query: Mapping[str, Any] | None, required: Mapping[str, Any] | None
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Both ``find_streams`` queries at once: ``(combined, leftover)``.

    ``combined`` holds every condition of ``required`` and every condition of ``query`` that
    the dictionary form can hold beside them, so that the storage evaluates both (with its
    indexes). A condition of ``query`` on the same tag and operator as one of ``required``
    with another value cannot share the dictionary: it is returned in ``leftover`` (``None``
    when there is none) for the caller to check on the streams found.
    """
    if not required:
        return (dict(query) if query else None), None
    combined = _copy(query or {})
    leftover: dict[str, Any] = {}
    _merge(combined, required, leftover, nested=False)
    return combined, leftover or None


def _is_node(value: Any) -> bool:
    """True for a non-empty dictionary: nested tag names and/or operators."""
    return isinstance(value, Mapping) and bool(value)


def _copy(query: Mapping[str, Any]) -> dict[str, Any]:
    # Iterative, so that a query nested as deep as the library accepts copies too.
    root: dict[str, Any] = {}
    stack = [(root, query)]
    while stack:
        target, source = stack.pop()
        for key, value in source.items():
            if _is_node(value):
                target[key] = {}
                stack.append((target[key], value))
            else:
                target[key] = value
    return root


def _same(a: Any, b: Any) -> bool:
    # True == 1 in Python, but not as tag values: only identical types count as equal, at
    # every level of a dictionary or list.
    if type(a) is not type(b):
        return False
    if isinstance(a, Mapping):
        return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(map(_same, a, b))
    return a == b


def _merge(
    target: dict[str, Any], extra: Mapping[str, Any], leftover: dict[str, Any], nested: bool
) -> None:
    """Add the conditions of ``extra`` to ``target``; the conditions of ``target`` that
    ``extra`` displaces go to ``leftover``."""
    for key, value in extra.items():
        if key not in target:
            target[key] = _copy(value) if _is_node(value) else value
            continue
        current = target[key]
        if _same(current, value):
            continue
        is_operator = nested and key in TAG_OPERATORS
        if not is_operator and (_is_node(current) or _is_node(value)):
            # A plain value is the condition {"exact": value} on that tag.
            merged = current if _is_node(current) else {"exact": current}
            merged = _copy(merged)
            displaced: dict[str, Any] = {}
            _merge(merged, value if _is_node(value) else {"exact": value}, displaced, True)
            target[key] = merged
            if displaced:
                leftover[key] = displaced
        else:
            target[key] = _copy(value) if _is_node(value) else value
            leftover[key] = current
