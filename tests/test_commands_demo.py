"""The ``datastream_demo`` command in its short mode (what CI runs), and its errors."""

from __future__ import annotations

import socket
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

import django_datastream
from datastream import Granularity
from django_datastream.demo.server import DemoServer


def test_short_demo_serves_and_appends(run_command, demo_store):
    result = run_command(
        "datastream_demo", "--span=10m", "--port=0", "--stop-after=0", "--self-check",
        "--interval=1",
    )  # fmt: skip
    found = list(demo_store.find_streams())
    # Realistic signals; their gaps (decided by the time alone) may leave seconds out.
    assert [s["title"] for s in found] == ["Outdoor temperature", "Power load", "Server CPU"]
    for stream in found:
        data = demo_store.get_data(
            stream["stream_id"], Granularity.Seconds, start=stream["earliest_datapoint"]
        )
        # At most ten minutes every second, plus the real-time round (and seconds caught up).
        assert 1 <= len(data) <= 610
        assert stream["visualization"]["unit"] in ("°C", "kW", "%")
    assert "Demo page: http://127.0.0.1:" in result.stdout
    assert "Self-check passed: page, plotly.js and API (3 streams)." in result.stdout
    assert "Done. Appended" in result.stdout
    assert "Back-filling" in result.stderr


def test_short_demo_with_random_values(run_command, demo_store):
    run_command("datastream_demo", "--span=10m", "--port=0", "--stop-after=0", "--interval=1",
                "--random")  # fmt: skip
    found = list(demo_store.find_streams())
    assert [s["title"] for s in found] == ["Stream 0", "Stream 1", "Stream 2"]
    for stream in found:
        data = demo_store.get_data(
            stream["stream_id"], Granularity.Seconds, start=stream["earliest_datapoint"]
        )
        # Ten minutes every second, plus the real-time round (and seconds caught up).
        assert 601 <= len(data) <= 610


def test_announced_count_is_what_is_appended(run_command, demo_store):
    """Issue 15: "Appending N values" (and the progress bar) count the datapoints actually
    appended: the realistic signals' gaps, decided by the timestamp, are left out of both."""
    import datetime
    import re

    start = datetime.datetime(2024, 3, 1, 6, tzinfo=datetime.UTC)
    end = start + datetime.timedelta(hours=6)  # a gap in "Power load" and one in "Server CPU"
    result = run_command(
        "datastream_demo", "--span", "2024-03-01T06:00:00", "2024-03-01T12:00:00",
        "--port=0", "--stop-after=0",
    )  # fmt: skip
    match = re.search(r"Appending (\d+) values \((\d+) per stream\)", result.stdout)
    assert match, result.stdout
    announced, timestamps = int(match.group(1)), int(match.group(2))
    assert timestamps == 6 * 720 + 1
    stored = sum(
        len(demo_store.get_data(stream["stream_id"], Granularity.Seconds, start=start, end=end))
        for stream in demo_store.find_streams()
    )
    assert announced == stored
    assert stored < 3 * timestamps  # the span really has gaps
    assert f" {stored}/{stored} " in result.stderr  # the progress bar ends at 100 %


def test_busy_port(run_command, demo_store):
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


@pytest.mark.parametrize("command", ["datastream_demo", "dummystream", "downsample"])
def test_no_backend_configured(command):
    args = [] if command == "downsample" else ["--span=10s"]
    with override_settings(DATASTREAM_BACKEND=None), pytest.raises(CommandError) as raised:
        call_command(command, *args, stdout=StringIO(), stderr=StringIO())
    assert "DATASTREAM_BACKEND is not set" in str(raised.value)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ((500, b"oops"), "Self-check: GET / answered 500 without b'datastream-config'."),
        (OSError("connection refused"), "Self-check: GET / failed: connection refused"),
    ],
)
def test_self_check_failures(run_command, demo_store, monkeypatch, answer, message):
    def get(self, path, timeout=30):
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(DemoServer, "get", get)
    with pytest.raises(CommandError) as raised:
        run_command("datastream_demo", "--span=10s", "--port=0", "--stop-after=0", "--self-check")
    assert message in str(raised.value)


def test_self_check_counts_streams(run_command, demo_store, monkeypatch):
    real_get = DemoServer.get

    def get(self, path, timeout=30):
        if path.startswith("api/"):
            return 200, b'{"meta": {"total_count": 1}}'
        return real_get(self, path, timeout)

    monkeypatch.setattr(DemoServer, "get", get)
    with pytest.raises(CommandError, match="the API lists 1 stream, expected 3"):
        run_command("datastream_demo", "--span=10s", "--port=0", "--stop-after=0", "--self-check")


def test_commands_on_mongodb(mongodb_server):
    """The same commands with DATASTREAM_BACKEND pointing at MongoDB (a real wire server)."""
    database = f"demo_{uuid.uuid4().hex[:12]}"
    settings = {"database_name": database, "host": mongodb_server.uri, "tz_aware": True}
    with override_settings(
        DATASTREAM_BACKEND="datastream.backends.mongodb.Backend",
        DATASTREAM_BACKEND_SETTINGS=settings,
    ):
        store = django_datastream.datastream
        try:
            out = StringIO()
            call_command(
                "dummystream", "--types=int(0,10),enum(a,b)", "--span=5m", "--no-real-time",
                stdout=out, stderr=StringIO(),
            )  # fmt: skip
            assert "Done. Appended 122 datapoints to 2 streams." in out.getvalue()
            out = StringIO()
            call_command("downsample", stdout=out, stderr=StringIO())
            assert "Done. Downsampled 2 streams" in out.getvalue()
            for stream in store.find_streams():
                start = stream["earliest_datapoint"]
                assert len(store.get_data(stream["stream_id"], Granularity.Seconds, start)) == 61
            call_command("dummystream", "--flush", "--noinput", stdout=StringIO())
            assert list(store.find_streams()) == []
        finally:
            store.delete_streams()


def test_the_readme_demo_command_runs_with_debug_off(tmp_path):
    """``tests/manage.py datastream_demo`` as a user runs it (no DJANGO_DEBUG): DEBUG is off,
    so a mistyped URL is a plain 404, and a missing static file is a 404 too, not a 500."""
    import os
    import re
    import subprocess
    import sys
    import urllib.error
    import urllib.request
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATASTREAM_"))}
    env["DATASTREAM_SQLITE_PATH"] = str(tmp_path / "demo.sqlite3")
    command = [sys.executable, str(root / "tests" / "manage.py"), "datastream_demo"]
    demo = subprocess.Popen(
        [*command, "--span=2m", "--port=0", "--stop-after=20", "--seed=1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = None
        for line in demo.stdout:
            match = re.search(r"Demo page: (http://\S+)", line)
            if match:
                url = match.group(1)
                break
        assert url, "the demo did not start"

        def get(path: str) -> tuple[int, bytes]:
            try:
                with urllib.request.urlopen(url + path, timeout=30) as response:
                    return response.status, response.read()
            except urllib.error.HTTPError as error:
                with error:
                    return error.code, error.read()

        status, body = get("no/such/page/")
        assert status == 404
        assert b"URLconf" not in body and b"Traceback" not in body
        assert get("static/django_datastream/conf.py")[0] == 404
        assert get("static/datastream/js/demo.js")[0] == 200
        assert get("?poll=inf")[0] == 400
    finally:
        demo.terminate()
        demo.communicate(timeout=30)
