"""``manage.py downsample --watch``: the worker's loop as a process of its own."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from datastream import Datastream, Granularity
from datastream.backends.sqlite import Backend

TESTS = Path(__file__).resolve().parent
T0 = datetime.datetime(2020, 1, 1, tzinfo=datetime.UTC)


def append_seconds(store: Datastream, stream_id: str, seconds: range) -> None:
    store.append_multiple(
        [
            {"stream_id": stream_id, "value": s, "timestamp": T0 + datetime.timedelta(seconds=s)}
            for s in seconds
        ]
    )


def tens(store: Datastream, stream_id: str) -> int:
    return len(store.get_data(stream_id, Granularity.Seconds10, start=datetime.datetime.min))


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout} s"
        time.sleep(0.05)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_watch_downsamples_new_data_until_stopped(tmp_path, stop):
    path = str(tmp_path / "watch.sqlite3")
    store = Datastream(Backend(path))
    stream_id = store.ensure_stream({"name": "w"}, {}, ["mean"], Granularity.Seconds)
    environment = dict(os.environ, DATASTREAM_SQLITE_PATH=path, PYTHONUNBUFFERED="1")
    command = [sys.executable, "manage.py", "downsample", "--watch", "--interval", "0.2", "-v", "1"]
    watcher = subprocess.Popen(
        command, cwd=TESTS, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        append_seconds(store, stream_id, range(100))
        wait_for(lambda: tens(store, stream_id) == 9)
        append_seconds(store, stream_id, range(100, 200))  # more data: a later pass takes it
        wait_for(lambda: tens(store, stream_id) == 19)
        watcher.send_signal(stop)
        out, err = watcher.communicate(timeout=30)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.wait()
        store.backend.close()
    assert watcher.returncode == 0, err
    lines = out.splitlines()
    assert lines[0] == "Watching: downsampling all streams every 0.2 s. Stop with Ctrl-C."
    # A line per pass that did something: the 9 ten-second buckets and the first minute,
    # then 10 more ten-second buckets and the second and third minutes.
    done = [line.split(" ", 1)[1] for line in lines if " Downsampled " in line]
    assert done == [
        "Downsampled 1 stream: 10 new downsampled datapoints in " + done[0].rsplit(" in ")[1],
        "Downsampled 1 stream: 12 new downsampled datapoints in " + done[1].rsplit(" in ")[1],
    ]
    assert lines[-1].startswith("Stopped after ") and lines[-1].endswith(" sweeps.")
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--watch", "--until", "2020-01-01"], "--until cannot be used with --watch"),
        (["--interval", "3"], "--interval goes with --watch."),
        (["--watch", "--interval", "0"], "--interval must be a positive number of seconds"),
    ],
)
def test_watch_refuses_options_that_make_no_sense(demo_store, arguments, message):
    with pytest.raises(CommandError, match=message):
        call_command("downsample", *arguments)
