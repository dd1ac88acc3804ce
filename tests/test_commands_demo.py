"""The ``datastream_demo`` command in its short mode (what CI runs), and its errors."""

from __future__ import annotations

import pytest
from django.core.management.base import CommandError

from datastream import Granularity


def test_short_demo_serves_and_appends(run_command, demo_store):
    result = run_command(
        "datastream_demo", "--span=10m", "--port=0", "--stop-after=0", "--self-check",
        "--interval=1",
    )  # fmt: skip
    found = list(demo_store.find_streams())
    assert [s["title"] for s in found] == ["Stream 0", "Stream 1", "Stream 2"]
    for stream in found:
        data = demo_store.get_data(
            stream["stream_id"], Granularity.Seconds, start=stream["earliest_datapoint"]
        )
        # Ten minutes every second, plus the real-time round (and seconds caught up).
        assert 601 <= len(data) <= 605
    assert "Demo page: http://127.0.0.1:" in result.stdout
    assert "Self-check passed: page, plotly.js and API (3 streams)." in result.stdout
    assert "Done. Appended" in result.stdout
    assert "Back-filling" in result.stderr


def test_busy_port(run_command, demo_store):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CommandError, match=f"Cannot serve on 127.0.0.1:{port}"):
            run_command("datastream_demo", "--span=10s", f"--port={port}", "--stop-after=0")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--span=1y"], "Unknown time span unit 'y'."),
        (["--interval=0"], "The interval must be a positive number of seconds."),
        (["--batch-size=0"], "The batch size must be a positive number of datapoints."),
        (["--stop-after=-1"], "--stop-after must not be negative."),
        (["--port=70000"], "The port must be between 0 and 65535."),
    ],
)
def test_errors(run_command, demo_store, args, message):
    with pytest.raises(CommandError) as raised:
        run_command("datastream_demo", *args)
    assert message in str(raised.value)
