"""Counts and deep pages of raw datapoints on long streams, answered from closed buckets.

On a range longer than an hour the engine counts raw datapoints by summing the stored counts of
closed buckets and counting raw datapoints only at the edges, and skips to a page the same
way. The answers must be exactly those of reading every datapoint.
"""

from __future__ import annotations

from helpers import G, at, new_stream, seconds

from datastream.backends.sqlite import Backend as SQLiteBackend

START = at(2024, 1, 1, 5, 17, 3)


def _long_stream(ds) -> str:
    """About 3.5 days of datapoints: irregular, some sharing a second, the tail not downsampled."""
    sid = new_stream(ds, downsamplers=["mean"])
    points = []
    for i in range(700):
        moment = START + seconds(i * 431 + (i * i) % 97)
        points.append({"stream_id": sid, "value": i, "timestamp": moment})
        if i % 50 == 0:  # a few seconds holding several datapoints
            points.append({"stream_id": sid, "value": -i, "timestamp": moment})
    ds.append_multiple(points)
    ds.downsample_streams(until=START + seconds(700 * 431 - 20_000))
    # A datapoint into the past re-opens the buckets it lands in.
    ds.append(sid, 9999, START + seconds(100_003), check_timestamp=False)
    return sid


def _ids(datapoints) -> list:
    return [(d["t"], d["v"]) for d in datapoints]


def test_counts_and_pages_of_long_ranges_equal_reading_every_datapoint(ds):
    sid = _long_stream(ds)
    ranges = [
        {"start": START - seconds(86_400)},
        {"start": START + seconds(50_000), "end": START + seconds(260_000)},
        {"start_exclusive": START + seconds(3_600), "end_exclusive": START + seconds(7 * 86_400)},
    ]
    for bounds in ranges:
        for reverse in (False, True):
            query = ds.get_data(sid, G.Seconds, reverse=reverse, **bounds)
            every = _ids(query)
            assert query.count() == len(every)
            assert len(every) > 400
            for offset in (1, len(every) // 2 + 3, len(every) - 2):
                assert _ids(query[offset : offset + 5]) == every[offset : offset + 5]
                assert query[offset:].count() == len(every) - offset
            assert _ids(query[len(every) + 1 :]) == []


class CountingBackend(SQLiteBackend):
    """The SQLite storage, remembering the span of every raw count it makes."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.counted_spans: list[int] = []

    def count_datapoints(self, record, lo, hi):
        self.counted_spans.append(hi - lo)
        return super().count_datapoints(record, lo, hi)


def test_a_long_count_reads_raw_datapoints_only_at_the_edges(tmp_path):
    from datastream import Datastream

    backend = CountingBackend(str(tmp_path / "counts.sqlite3"))
    ds = Datastream(backend)
    sid = _long_stream(ds)
    ds.downsample_streams(until=START + seconds(700 * 431 - 20_000))
    query = ds.get_data(sid, G.Seconds, start=START + seconds(1), end=START + seconds(250_000))
    backend.counted_spans.clear()
    total = query.count()
    # Only seconds at the edges are counted raw, at most one 10-second bucket at a time.
    assert backend.counted_spans and max(backend.counted_spans) <= 10
    assert total == len(_ids(query))
    backend.counted_spans.clear()
    assert len(_ids(query[total - 3 :])) == 3
    assert max(backend.counted_spans) <= 10
