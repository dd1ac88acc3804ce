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


def test_a_long_count_decodes_only_the_chunks_at_its_edges(tmp_path, monkeypatch):
    """Counts come from chunk headers: only the two chunks cut by the range are decoded, and
    only their times."""
    from datastream import Datastream
    from datastream.engine import chunkstore

    ds = Datastream(SQLiteBackend(str(tmp_path / "counts.sqlite3")))
    sid = new_stream(ds, downsamplers=["mean"])
    ds.append_multiple(
        [{"stream_id": sid, "value": i, "timestamp": START + seconds(10 * i)}
         for i in range(4 * chunkstore.CHUNK_POINTS)]
    )
    query = ds.get_data(sid, G.Seconds, start=START + seconds(15),
                        end=START + seconds(10 * 4 * chunkstore.CHUNK_POINTS - 25))
    decoded = []
    real = chunkstore.decode_raw
    monkeypatch.setattr(
        chunkstore, "decode_raw",
        lambda data, values=True: decoded.append(values) or real(data, values),
    )
    total = query.count()
    assert decoded == [False, False]
    monkeypatch.setattr(chunkstore, "decode_raw", real)
    assert total == 4 * chunkstore.CHUNK_POINTS - 4 == len(list(query))
    assert len(list(query[total - 3 :])) == 3
