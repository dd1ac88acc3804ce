"""Small helpers shared by the contract tests."""

import datetime

from datastream import Granularity

UTC = datetime.UTC
ALL_VALUE = ["mean", "sum", "min", "max", "sum_squares", "std_dev", "count"]
EVERY_VALUE = [*ALL_VALUE, "median", "most_often", "least_often", "frequencies"]
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
G = Granularity


def at(*args: int) -> datetime.datetime:
    """An aware UTC datetime."""
    return datetime.datetime(*args, tzinfo=UTC)


def seconds(n: float) -> datetime.timedelta:
    return datetime.timedelta(seconds=n)


def values(datapoints, key: str | None = None) -> list:
    """The ``v`` of each datapoint (or ``v[key]``)."""
    return [d["v"] if key is None else d["v"][key] for d in datapoints]


def new_stream(ds, name="s", downsamplers=ALL_VALUE, granularity=G.Seconds, **kwargs) -> str:
    return ds.ensure_stream({"name": name}, {}, downsamplers, granularity, **kwargs)


def append_series(ds, stream_id, series, start, step=1):
    """Append ``series`` one value every ``step`` seconds from ``start`` in one batch."""
    ds.append_multiple(
        [
            {"stream_id": stream_id, "value": v, "timestamp": start + seconds(i * step)}
            for i, v in enumerate(series)
        ]
    )
