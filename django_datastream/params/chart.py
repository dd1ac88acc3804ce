"""The chart parameters of a detail request: ``max_points``, ``thin``, ``shape``,
``time_format`` and ``open_bucket`` (short ``mp``, ``th``, ``sh``, ``tf``, ``ob``).

Their rules (every violation is a :class:`~django_datastream.params.parse.QueryError`,
answered 400):

* ``max_points``: an integer ≥ 1, not together with ``granularity`` (it picks the
  granularity, see :mod:`datastream.pointbudget`).
* ``thin``: ``m4``, ``lttb`` or ``minmaxlttb``; only with ``max_points`` (at least
  :data:`datastream.thinning.MIN_POINTS`), never with ``granularity``; numeric streams only.
* ``shape``: ``rows`` (default) or ``columns``; ``columns`` in JSON, JSONP and XML.
* ``time_format``: ``iso`` (default), ``epoch`` or ``epoch_ms``.
* ``open_bucket``: a boolean (:func:`~django_datastream.params.parse.parse_boolean`: ``1``,
  ``true``, ``yes``… or ``0``, ``false``, ``no``…).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from datastream.thinning import ALGORITHMS, MIN_POINTS

from ..formats.columns import SHAPES, TIME_FORMATS
from .parse import QueryError, get_parameter, parse_boolean, parse_integer, quote
from .table import PARAMETERS

__all__ = ["CHART_ALIASES", "ChartOptions", "parse_chart_options"]

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
