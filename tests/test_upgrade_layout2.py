"""A database written by release 1.0.0 (SQLite layout 2: one row per datapoint and per bucket)
is converted to column chunks, not refused, and every read gives what it gave before."""

from __future__ import annotations

import datetime
import gzip
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from helpers import G

from datastream import Datastream, exceptions
from datastream.backends import sqlite_upgrade
from datastream.backends.sqlite import Backend

DATA = Path(__file__).parent / "data"
T0 = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
GRANULARITIES = {"seconds": G.Seconds, "minutes": G.Minutes, "10minutes": G.Minutes10}


def _layout2(tmp_path: Path) -> Path:
    path = tmp_path / "layout2.sqlite3"
    path.write_bytes(gzip.decompress((DATA / "layout2.sqlite3.gz").read_bytes()))
    return path


def _expected() -> dict:
    return json.loads(gzip.decompress((DATA / "layout2.json.gz").read_bytes()))


def _reads(ds: Datastream, streams: dict[str, str]) -> dict[str, list]:
    found = {}
    for name, sid in streams.items():
        for granularity_name, granularity in GRANULARITIES.items():
            for reverse in (False, True):
                data = ds.get_data(sid, granularity, start=T0, reverse=reverse)
                found[f"{name} {granularity_name} {reverse}"] = json.loads(
                    json.dumps(list(data), default=str)
                )
    return found


def _layout(path: Path) -> tuple[int, bool]:
    connection = sqlite3.connect(path)
    try:
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        buckets = connection.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'buckets'"
        ).fetchone()
        return version, buckets is not None
    finally:
        connection.close()


def test_a_small_layout_2_file_is_converted_on_open_and_reads_the_same(tmp_path, caplog):
    path = _layout2(tmp_path)
    expected = _expected()
    assert _layout(path) == (2, True)
    ds = Datastream(Backend(str(path)))
    assert "Converting" in caplog.text and "layout 2 to layout 3" in caplog.text
    assert _layout(path) == (3, False)
    assert _reads(ds, expected["streams"]) == expected["reads"]
    # Everything is in chunks or heads; the converted streams take appends and downsampling.
    for sid in expected["streams"].values():
        record = ds.backend.load_stream(sid)
        assert record["head_count"] == 0 and record["sealed_until"] is not None
    floats = expected["streams"]["floats"]
    ds.append(floats, 1.5, T0 + datetime.timedelta(days=2))
    ds.downsample_streams(until=T0 + datetime.timedelta(days=3))
    assert ds.get_data(floats, G.Seconds, start=T0).count() == 601


def test_a_large_file_asks_for_the_command_which_converts_it_with_progress(
    tmp_path, monkeypatch, capsys
):
    path = _layout2(tmp_path)
    expected = _expected()
    monkeypatch.setattr(sqlite_upgrade, "QUICK_ROWS", 100)
    with pytest.raises(exceptions.BackendUnavailable, match="upgrade_datastream"):
        Backend(str(path))
    assert _layout(path) == (2, True)  # untouched
    from datastream.upgrade import main

    assert main([str(path)]) == 0
    out = capsys.readouterr().out
    assert "4 of 4 streams converted" in out and "now stores column chunks" in out
    assert _layout(path) == (3, False)
    assert _reads(Datastream(Backend(str(path))), expected["streams"]) == expected["reads"]
    assert main([str(path)]) == 0
    assert "Nothing to convert" in capsys.readouterr().out


def test_a_conversion_that_fails_half_way_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    path = _layout2(tmp_path)
    before = path.read_bytes()
    calls = []

    def failing(done: int, total: int) -> None:
        calls.append(done)
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Backend.upgrade({"database_name": str(path)}, failing)
    assert calls == [1, 2]
    assert _layout(path) == (2, True)
    shutil.copy(path, tmp_path / "again.sqlite3")
    expected = _expected()
    ds = Datastream(Backend(str(tmp_path / "again.sqlite3")))
    assert _reads(ds, expected["streams"]) == expected["reads"]
    assert len(before) > 0


def test_the_management_command_converts_the_configured_database(tmp_path, settings):
    from io import StringIO

    from django.core.management import call_command

    path = _layout2(tmp_path)
    settings.DATASTREAM_BACKEND = "datastream.backends.sqlite.Backend"
    settings.DATASTREAM_BACKEND_SETTINGS = {"database_name": str(path)}
    out = StringIO()
    call_command("upgrade_datastream", stdout=out)
    assert "Converting streams" in out.getvalue() and "now stores column chunks" in out.getvalue()
    assert _layout(path) == (3, False)
    out = StringIO()
    call_command("upgrade_datastream", stdout=out)
    assert "Nothing to convert" in out.getvalue()
