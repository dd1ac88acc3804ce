"""Makes ``layout2.sqlite3`` (committed gzipped) and ``layout2.json.gz``: a database written
by release 1.0.0 (SQLite layout 2: one row per datapoint and per bucket) and every read of it,
for the upgrade test.

Run with release 1.0.0 of the library installed (not this checkout):
``python tests/data/make_layout2.py tests/data && gzip -9n tests/data/layout2.sqlite3``.
The files are committed; the test converts a copy of the database and compares each read
with the JSON.
"""

from __future__ import annotations

import datetime
import decimal
import gzip
import json
import sys
from pathlib import Path

from datastream import Datastream, Granularity
from datastream.backends.sqlite import Backend

T0 = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
ALL = ["mean", "sum", "min", "max", "sum_squares", "std_dev", "count"]
NOMINAL = ["most_often", "least_often", "frequencies", "count"]


def at(seconds: int) -> datetime.datetime:
    return T0 + datetime.timedelta(seconds=seconds)


def build(ds: Datastream) -> dict[str, str]:
    streams = {
        "integers": ds.ensure_stream({"kind": "integers"}, {}, [*ALL, "median"],
                                     Granularity.Seconds),
        "floats": ds.ensure_stream({"kind": "floats"}, {}, ALL, Granularity.Seconds),
        "nominal": ds.ensure_stream({"kind": "nominal"}, {}, NOMINAL, Granularity.Seconds,
                                    value_type="nominal"),
        "accurate": ds.ensure_stream({"kind": "accurate"}, {}, ["mean", "count"],
                                     Granularity.Seconds,
                                     value_type_options={"high_accuracy": True}),
    }
    points = []
    for i in range(600):
        second = i * 37 + (i % 3)
        points.append({"stream_id": streams["integers"], "value": (i * 7919) % 1000 - 500,
                       "timestamp": at(second)})
        points.append({"stream_id": streams["floats"],
                       "value": None if i % 97 == 0 else (-0.0 if i % 89 == 0 else i / 7),
                       "timestamp": at(second)})
        points.append({"stream_id": streams["nominal"], "value": ["a", "b", {"c": i % 3}][i % 3],
                       "timestamp": at(second)})
        points.append({"stream_id": streams["accurate"],
                       "value": decimal.Decimal(f"{i}.000000000000000000001"),
                       "timestamp": at(second)})
    ds.append_multiple(points)
    ds.downsample_streams(until=at(15_000))  # the rest stays raw only
    return streams


def reads(ds: Datastream, streams: dict[str, str]) -> dict[str, list]:
    found = {}
    for name, sid in streams.items():
        for granularity in (Granularity.Seconds, Granularity.Minutes, Granularity.Minutes10):
            for reverse in (False, True):
                data = ds.get_data(sid, granularity, start=T0, reverse=reverse)
                found[f"{name} {granularity.name} {reverse}"] = json.loads(
                    json.dumps(list(data), default=str)
                )
    return found


def main() -> None:
    directory = Path(sys.argv[1])
    path = directory / "layout2.sqlite3"
    path.unlink(missing_ok=True)
    ds = Datastream(Backend(str(path)))
    streams = build(ds)
    ds.backend._query("VACUUM")
    ds.backend._query("PRAGMA wal_checkpoint(TRUNCATE)")
    text = json.dumps({"streams": streams, "reads": reads(ds, streams)}, sort_keys=True)
    (directory / "layout2.json.gz").write_bytes(gzip.compress(text.encode(), mtime=0))


if __name__ == "__main__":
    main()
