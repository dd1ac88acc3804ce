"""``manage.py check`` on the SQLite path: a clear error naming the path, and nothing written."""

from __future__ import annotations

import os

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from datastream import Granularity

SQLITE = "datastream.backends.sqlite.Backend"


def sqlite_at(path) -> override_settings:
    return override_settings(
        DATASTREAM_BACKEND=SQLITE, DATASTREAM_BACKEND_SETTINGS={"database_name": str(path)}
    )


def messages(databases=None):
    return checks.run_checks(tags=["datastream"], databases=databases)


def tree(root) -> list[str]:
    return sorted(
        os.path.relpath(os.path.join(top, name), root)
        for top, dirs, files in os.walk(root)
        for name in dirs + files
    )


def test_a_path_under_a_file_is_an_error_naming_it(tmp_path):
    blocker = tmp_path / "hostname"
    blocker.write_text("a file, like /etc/hostname")
    path = blocker / "x.sqlite3"
    before = tree(tmp_path)
    with sqlite_at(path):
        for databases in (None, ["default"]):
            (error,) = messages(databases)
            assert error.id == "datastream.E008"
            assert error.level == checks.ERROR
            assert str(path) in error.msg
            assert f"{blocker} is not a directory" in error.msg
        with pytest.raises(SystemCheckError, match="x.sqlite3"):
            call_command("check", "--database", "default")
    assert tree(tmp_path) == before


def test_a_directory_is_not_a_database_file(tmp_path):
    with sqlite_at(tmp_path):
        (error,) = messages(["default"])
    assert error.id == "datastream.E008"
    assert f"{tmp_path} is a directory" in error.msg


def test_a_missing_directory_is_fine_and_not_created_by_the_check(tmp_path):
    path = tmp_path / "not" / "yet" / "datastream.sqlite3"
    with sqlite_at(path):
        assert messages() == []
        assert messages(["default"]) == []
        call_command("check", "--database", "default", verbosity=0)
    assert tree(tmp_path) == []


def test_an_existing_database_is_opened_read_only(tmp_path, demo_store):
    path = tmp_path / "datastream.sqlite3"
    assert demo_store.backend.database_name == str(path)
    demo_store.ensure_stream({"title": "kept"}, {}, ["mean"], Granularity.Seconds)
    demo_store.backend.close()
    before = {name: (tmp_path / name).read_bytes() for name in tree(tmp_path)}
    with sqlite_at(path):
        assert messages(["default"]) == []
    assert {name: (tmp_path / name).read_bytes() for name in tree(tmp_path)} == before


def test_a_file_that_is_no_database_fails_only_the_database_check(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("not an SQLite database " * 100)
    with sqlite_at(path):
        assert messages() == []
        (error,) = messages(["default"])
    assert error.id == "datastream.E005"
    assert repr(str(path)) in error.msg and "not a database" in error.msg
