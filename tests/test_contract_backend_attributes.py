"""Contract: every backend exposes the original library's backend attributes (spec §1.4, §1.5,
§3.1.1, §3.3) with the values true of it, and calls a ``_test_callback`` set on it as
``Datastream``'s ``observer`` is called (spec §1.10, "Internal/testing hooks")."""

from __future__ import annotations

import pytest
from helpers import ALL_VALUE, EPOCH, G, at, new_stream, seconds

from datastream import TIME_DOWNSAMPLERS, VALUE_DOWNSAMPLERS, Datastream
from datastream.backends.sqlite import Backend as SQLiteBackend
from datastream.storage import BaseStorage

T0 = at(2000, 1, 1, 12)

FLAGS = {
    "requires_downsampling": True,
    "requires_derived_stream_backprocess": False,
    "downsampled_always_exist": False,
    "downsampled_timestamps_start_bucket": False,
}


def test_backends_expose_the_downsampler_sets_and_capability_flags(ds):
    backend = ds.backend
    assert isinstance(backend, BaseStorage)
    assert backend.value_downsamplers == set(VALUE_DOWNSAMPLERS)
    assert len(backend.value_downsamplers) == 11
    assert backend.time_downsamplers == set(TIME_DOWNSAMPLERS)
    assert len(backend.time_downsamplers) == 8
    for name, value in FLAGS.items():
        assert getattr(backend, name) is value, name
        assert getattr(type(backend), name) is value, name  # class attributes, as originally


def test_streams_take_and_report_the_backend_downsampler_sets(ds):
    # As the original's tests do: the backend's sets passed as they are.
    sid = ds.ensure_stream({"name": "all"}, {}, ds.backend.value_downsamplers, G.Seconds)
    tags = ds.get_tags(sid)
    assert set(tags["value_downsamplers"]) == ds.backend.value_downsamplers
    assert set(tags["time_downsamplers"]) == ds.backend.time_downsamplers
    for offset in (0, 2, 11):
        ds.append(sid, offset, T0 + seconds(offset))
    ds.downsample_streams(until=T0 + seconds(60))
    (bucket,) = ds.get_data(
        sid, G.Seconds10, start=T0, value_downsamplers=ds.backend.value_downsamplers,
        time_downsamplers=ds.backend.time_downsamplers,
    )
    assert set(bucket["v"]) == set(VALUE_DOWNSAMPLERS.values())
    assert set(bucket["t"]) == set(TIME_DOWNSAMPLERS.values())


def test_the_capability_flags_describe_what_the_backend_does(ds):
    backend = ds.backend
    source = new_stream(ds, "source")
    derived = ds.ensure_stream(
        {"name": "derivative"}, {}, ALL_VALUE, G.Seconds,
        derive_from=[source], derive_op="derivative",
    )
    for offset, value in ((2, 10), (4, 20), (12, 30)):
        ds.append(source, value, T0 + seconds(offset))

    # requires_derived_stream_backprocess: derived datapoints exist without backprocessing.
    derived_points = ds.get_data(derived, G.Seconds, start=EPOCH)
    assert (len(derived_points) > 0) is not backend.requires_derived_stream_backprocess

    # requires_downsampling: nothing downsampled before downsample_streams, then there is.
    before = len(ds.get_data(source, G.Seconds10, start=EPOCH))
    assert (before == 0) is backend.requires_downsampling
    ds.downsample_streams(until=T0 + seconds(60))
    buckets = ds.get_data(source, G.Seconds10, start=EPOCH)
    assert len(buckets) == 1  # the bucket of the latest datapoint is still open

    # downsampled_timestamps_start_bucket: t.m is the mean time (+3 s), not the bucket start.
    mean_time = buckets[0]["t"]["m"]
    assert (mean_time == T0) is backend.downsampled_timestamps_start_bucket
    assert mean_time == T0 + seconds(3)

    # downsampled_always_exist: no buckets before the first datapoint or past the closed ones.
    outside = len(ds.get_data(source, G.Seconds10, start=T0 - seconds(600), end=T0 - seconds(1)))
    outside += len(ds.get_data(source, G.Seconds10, start=T0 + seconds(10)))
    assert (outside > 0) is backend.downsampled_always_exist


def _recorder(calls: list) -> object:
    return lambda stream_id, granularity, datapoint: calls.append(
        (stream_id, granularity, datapoint)
    )


def test_a_test_callback_set_on_the_backend_hears_every_append_and_downsampled_datapoint(
    make_backend, clock
):
    callback_calls: list = []
    observer_calls: list = []
    backend = make_backend(clock=clock)
    backend._test_callback = _recorder(callback_calls)
    ds = Datastream(backend, observer=_recorder(observer_calls))
    sid = new_stream(ds)
    assert ds.downsample_streams(return_datapoints=True) == []
    assert callback_calls == []

    clock.set(T0)
    appended = ds.append(sid, 42, T0)
    assert callback_calls == [(sid, G.Seconds, appended["datapoint"])]
    clock.advance(seconds=61)
    second = ds.append(sid, 42)  # at the clock's time
    created = ds.downsample_streams(return_datapoints=True)

    assert len(created) == 7  # six 10-second buckets (five empty), one minute
    assert callback_calls[:2] == [
        (sid, G.Seconds, appended["datapoint"]),
        (sid, G.Seconds, second["datapoint"]),
    ]
    assert callback_calls[2:] == [
        (item["stream_id"], item["granularity"], item["datapoint"]) for item in created
    ]
    assert callback_calls[2][1] == G.Seconds10 and callback_calls[8][1] == G.Minutes
    minute = ds.get_data(sid, G.Minutes, start=EPOCH, end=T0 + seconds(61))
    assert list(minute) == [callback_calls[8][2]]
    # Called exactly as the observer: the same calls, in the same order.
    assert callback_calls == observer_calls


def test_a_test_callback_alone_hears_appended_and_derived_datapoints(make_backend, clock):
    calls: list = []
    backend = make_backend(clock=clock)
    backend._test_callback = _recorder(calls)
    ds = Datastream(backend)
    a, b = new_stream(ds, "a"), new_stream(ds, "b")
    total = ds.ensure_stream({"name": "sum"}, {}, ALL_VALUE, G.Seconds,
                             derive_from=[a, b], derive_op="sum")
    ds.append_multiple([
        {"stream_id": a, "value": 1, "timestamp": T0},
        {"stream_id": b, "value": 2, "timestamp": T0},
    ])
    ds.append(a, 5, T0 + seconds(1))  # closes the sum's first second
    assert (a, G.Seconds, {"t": T0, "v": 1}) in calls
    assert (b, G.Seconds, {"t": T0, "v": 2}) in calls
    assert (total, G.Seconds, {"t": T0, "v": 3}) in calls
    assert [call for call in calls if call[0] == total] == [
        (total, G.Seconds, point) for point in ds.get_data(total, G.Seconds, start=EPOCH)
    ]


def test_a_test_callback_that_is_not_callable_is_refused(tmp_path):
    backend = SQLiteBackend(str(tmp_path / "x.sqlite3"))
    backend._test_callback = "not a function"
    with pytest.raises(TypeError, match="_test_callback"):
        Datastream(backend)
