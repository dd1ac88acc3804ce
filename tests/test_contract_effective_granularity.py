"""Contract: reading at a granularity finer than the stream's highest reads at the stream's
highest (the effective granularity), and every bound of the range is applied at that
granularity, exactly as when the stream's highest granularity is asked for (spec §2.3, §2.4).
"""

from __future__ import annotations

from helpers import ALL_VALUE, G, at, seconds, values

T0 = at(2000, 1, 1, 12)  # a whole minute


def _minutes_stream(ds) -> str:
    """A stream whose highest granularity is minutes, with 1, 2, 3 at +10 s, +20 s, +70 s."""
    sid = ds.ensure_stream({"name": "minutes"}, {}, ALL_VALUE, G.Minutes)
    for value, offset in ((1, 10), (2, 20), (3, 70)):
        ds.append(sid, value, T0 + seconds(offset))
    return sid


def test_a_finer_granularity_rounds_start_down_to_the_stream_highest_granularity(ds):
    sid = _minutes_stream(ds)
    start = T0 + seconds(15)
    assert values(ds.get_data(sid, G.Minutes, start=start)) == [1, 2, 3]
    for finer in (G.Seconds, G.Seconds10):
        got = ds.get_data(sid, finer, start=start)
        assert values(got) == [1, 2, 3], finer
        assert [point["t"] for point in got] == [T0 + seconds(s) for s in (10, 20, 70)]
    assert values(ds.get_data(sid, G.Seconds, start=T0 + seconds(60))) == [3]


def test_every_bound_of_a_finer_granularity_applies_at_the_stream_highest_granularity(ds):
    sid = _minutes_stream(ds)
    ranges = [
        {"start": T0 + seconds(15)},
        {"start": T0 + seconds(59), "end": T0 + seconds(70)},
        {"start": T0, "end": T0 + seconds(15)},
        {"start": T0, "end_exclusive": T0 + seconds(20)},
        {"start_exclusive": T0 + seconds(15)},
        {"start_exclusive": T0 + seconds(65)},
        {"start_exclusive": T0 + seconds(65), "end": T0 + seconds(69)},
        {"start_exclusive": T0 + seconds(5), "end_exclusive": T0 + seconds(71)},
    ]
    for bounds in ranges:
        expected = values(ds.get_data(sid, G.Minutes, **bounds))
        for finer in (G.Seconds, G.Seconds10):
            assert values(ds.get_data(sid, finer, **bounds)) == expected, (finer, bounds)
            reverse = ds.get_data(sid, finer, reverse=True, **bounds)
            assert values(reverse) == expected[::-1], (finer, bounds)
            assert ds.get_data(sid, finer, **bounds).count() == len(expected), (finer, bounds)


def test_the_effective_granularity_bounds_pinned(ds):
    sid = _minutes_stream(ds)
    # start_exclusive: from one second after the start of its minute (raw datapoints).
    assert values(ds.get_data(sid, G.Seconds, start_exclusive=T0 + seconds(15))) == [1, 2, 3]
    assert values(ds.get_data(sid, G.Seconds, start_exclusive=T0 + seconds(65))) == [3]
    # end and end_exclusive are not rounded.
    assert values(ds.get_data(sid, G.Seconds, start=T0, end=T0 + seconds(15))) == [1]
    assert values(ds.get_data(sid, G.Seconds, start=T0, end_exclusive=T0 + seconds(20))) == [1]
    assert values(ds.get_data(sid, G.Seconds, start=T0, end=T0 + seconds(20))) == [1, 2]
