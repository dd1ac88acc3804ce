"""The CSV writer of datapoints, one for pages and streamed exports alike.

A header row, ``t,v`` for raw datapoints, else a column per time downsampler key (``t.m``, …)
then per value downsampler key (``v.m``, …); then one row per datapoint, each value made a
cell by the serializer's ``cell`` function (``None`` is an empty cell).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from datastream.constants import TIME_DOWNSAMPLERS, VALUE_DOWNSAMPLERS
from datastream.granularity import Granularity

__all__ = ["csv_columns", "datapoint_header", "datapoint_rows"]


def csv_columns(detail: dict[str, Any]) -> tuple[bool, list[str], list[str]]:
    """(raw?, time keys, value keys) of a detail response: raw datapoints at the stream's
    highest granularity (or a finer one), else a column per requested (by default every kept)
    downsampler, duplicates once, in request order or in the order of the constants."""
    query = detail.get("query_params") or {}
    granularity = Granularity.by_name.get(query.get("granularity"))
    highest = Granularity.by_name.get(detail.get("highest_granularity"))
    if granularity is None or highest is None or granularity >= highest:
        return True, [], []
    columns = []
    for kind, known in (("time", TIME_DOWNSAMPLERS), ("value", VALUE_DOWNSAMPLERS)):
        names = query.get(f"{kind}_downsamplers")
        if names is None:
            kept = detail.get(f"{kind}_downsamplers") or ()
            names = [name for name in known if name in kept]
        columns.append(list(dict.fromkeys(known[name] for name in names)))
    return False, columns[0], columns[1]


def datapoint_header(raw: bool, time_keys: Sequence[str], value_keys: Sequence[str]) -> list[str]:
    """The header row."""
    if raw:
        return ["t", "v"]
    return [f"t.{k}" for k in time_keys] + [f"v.{k}" for k in value_keys]


def datapoint_rows(
    datapoints: Iterable[dict[str, Any]],
    cell: Callable[[Any], Any],
    raw: bool,
    time_keys: Sequence[str],
    value_keys: Sequence[str],
) -> Iterator[Any]:
    """One row per datapoint."""
    if raw:
        return ((cell(p.get("t")), cell(p.get("v"))) for p in datapoints)
    empty: dict[str, Any] = {}
    return (
        [cell(times.get(k)) for k in time_keys] + [cell(values.get(k)) for k in value_keys]
        for times, values in ((p.get("t") or empty, p.get("v") or empty) for p in datapoints)
    )
