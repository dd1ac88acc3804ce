"""``manage.py check`` finds what would make every request fail: an unreachable MongoDB server
(``--database``, pinged with a short timeout), malformed MongoDB settings (offline, by pymongo's
own parsing), a backend class given instead of its dotted path; and such requests answer 503
naming the problem instead of 500. The checks belong to the storages (``Backend.check``)."""

from __future__ import annotations

import ast
import socket
import sqlite3
import time
from pathlib import Path

import pytest
from django.core import checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client, override_settings

from datastream.backends.mongodb import Backend as MongoDBBackend
from datastream.backends.sqlite import Backend as SQLiteBackend
from django_datastream import checks as app_checks

MONGODB = "datastream.backends.mongodb.Backend"
SQLITE = "datastream.backends.sqlite.Backend"
LIST_URI = "/api/v1/stream/"


def assert_json_error(response, status: int) -> str:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert list(body) == ["error"] and body["error"]
    return body["error"]


@pytest.fixture
def client() -> Client:
    return Client()


def messages(databases=None):
    return checks.run_checks(tags=["datastream"], databases=databases)


def closed_port() -> int:
    """A loopback port nothing listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mongodb(**settings) -> override_settings:
    return override_settings(
        DATASTREAM_BACKEND=MONGODB,
        DATASTREAM_BACKEND_SETTINGS={"database_name": "datastream", **settings},
    )


# An unreachable server ------------------------------------------------------------------------


def test_check_database_reports_an_unreachable_mongodb_server_naming_it():
    port = closed_port()
    with mongodb(host=f"mongodb://127.0.0.1:{port}/"):
        started = time.monotonic()
        assert messages() == []  # the plain check does not connect
        assert time.monotonic() - started < 1
        (error,) = messages(["default"])
        took = time.monotonic() - started
        with pytest.raises(SystemCheckError, match=f"127.0.0.1:{port}"):
            call_command("check", "--database", "default")
    assert error.id == "datastream.E005" and error.level == checks.ERROR
    assert f"MongoDB server 127.0.0.1:{port} is unreachable (no answer within 2 s)" in error.msg
    assert "Connection refused" in error.msg
    assert took < 8  # two seconds of server selection, not the 10 s of a request


def test_check_database_is_silent_about_a_reachable_mongodb_server(mongodb_server):
    with mongodb(host=mongodb_server.uri):
        assert messages() == []
        assert messages(["default"]) == []


# Malformed settings: refused by the plain check, 503 at request time ---------------------------

MALFORMED = [
    ({"host": "mongo://localhost"}, "Invalid URI scheme"),
    ({"host": "localhost", "serverSelectionTimeout": 5}, "Unknown option: serverSelectionTimeout"),
    ({"host": "localhost", "serverSelectionTimeoutMS": "soon"}, "serverSelectionTimeoutMS"),
    ({"host": "mongodb://localhost/?serverSelectionTimeout=5"}, "'serverSelectionTimeout'"),
    ({"host": "mongodb://localhost/?authMechanism=BOGUS"}, "authMechanism must be in"),
    ({"host": "mongodb://ann:s3cret-pw@localhost:port/"}, "Port contains non-digit characters"),
    ({"host": "mongodb://ann:s3:cret-pw@localhost/"}, "must be escaped"),
]


@pytest.mark.parametrize(("settings", "problem"), MALFORMED)
def test_malformed_mongodb_settings_fail_the_plain_check_without_connecting(settings, problem):
    with mongodb(**settings):
        started = time.monotonic()
        (error,) = messages()
        assert time.monotonic() - started < 1
    assert error.id == "datastream.E008"
    assert error.msg.startswith(f"DATASTREAM_BACKEND_SETTINGS cannot be used with {MONGODB}: ")
    assert problem in error.msg
    assert "s3" not in error.msg and "cret-pw" not in error.msg


@pytest.mark.parametrize(
    ("settings", "problem"),
    [case for case in MALFORMED if "?" not in case[0]["host"]],  # pymongo ignores those
)
def test_malformed_mongodb_settings_answer_503_naming_the_problem(client, settings, problem):
    with mongodb(**settings):
        for uri in (LIST_URI, f"{LIST_URI}0f8a59a4-5a3c-4b4e-9a37-0f5e1b6a3c2d/"):
            message = assert_json_error(client.get(uri), 503)
            assert message.startswith(
                f"Datastream is misconfigured: Datastream backend '{MONGODB}'"
            )
            assert problem in message
            assert "s3" not in message and "cret-pw" not in message


def test_a_bad_mongodb_database_name_fails_the_plain_check():
    with override_settings(
        DATASTREAM_BACKEND=MONGODB, DATASTREAM_BACKEND_SETTINGS={"database_name": "a.b"}
    ):
        (error,) = messages()
    assert error.id == "datastream.E008" and "must be a MongoDB database name" in error.msg


# A class instead of its dotted path -----------------------------------------------------------


@pytest.mark.parametrize(("backend", "path"), [(SQLiteBackend, SQLITE), (MongoDBBackend, MONGODB)])
def test_a_backend_class_is_refused_with_its_dotted_path_as_the_hint(
    client, tmp_path, backend, path
):
    settings = (
        {"database_name": str(tmp_path / "x.sqlite3")}
        if backend is SQLiteBackend
        else {"database_name": "datastream"}
    )
    with override_settings(DATASTREAM_BACKEND=backend, DATASTREAM_BACKEND_SETTINGS=settings):
        assert [message.id for message in messages(["default"])] == ["datastream.E009"]
        (error,) = messages()
        message = assert_json_error(client.get(LIST_URI), 503)
    assert error.level == checks.ERROR
    assert f"the class {path}, not its dotted path" in error.msg
    assert f"DATASTREAM_BACKEND = {path!r}" in error.hint
    assert f"set it to {path!r}" in message


def test_a_backend_instance_is_still_accepted(client, tmp_path):
    backend = SQLiteBackend(str(tmp_path / "instance.sqlite3"))
    with override_settings(DATASTREAM_BACKEND=backend, DATASTREAM_BACKEND_SETTINGS={}):
        assert messages(["default"]) == []
        assert client.get(LIST_URI).status_code == 200
    backend.close()


# The checks belong to the storages -----------------------------------------------------------


def test_the_app_checks_import_no_storage():
    """``django_datastream.checks`` asks the configured backend class; it imports none."""
    tree = ast.parse(Path(app_checks.__file__).read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not [name for name in imported if name and "backends" in name], imported
    assert not [name for name in imported if name and ("sqlite" in name or "mongo" in name)]


def test_the_sqlite_check_finds_a_bad_name_and_another_layout_without_writing(tmp_path):
    assert SQLiteBackend.check({"database_name": 5}) == [
        "database_name must be a file path or ':memory:', not 5"
    ]
    assert SQLiteBackend.check({"database_name": ":memory:"}, connect=True) == []
    path = tmp_path / "future.sqlite3"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE streams (seq INTEGER PRIMARY KEY)")
        connection.execute("PRAGMA user_version = 99")
    connection.close()
    before = path.read_bytes()
    assert SQLiteBackend.check({"database_name": str(path)}) == []
    (problem,) = SQLiteBackend.check({"database_name": str(path)}, connect=True)
    assert "holds datastream data in layout 99" in problem
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["future.sqlite3"]


def test_a_backend_class_without_check_is_constructed_by_check_database(tmp_path):
    class Refusing:
        def __init__(self, database_name: str) -> None:
            raise OSError(f"cannot open {database_name}")

        def check(self) -> None:  # an instance method of that name is not a storage check
            raise AssertionError("not called")

    with (
        override_settings(
            DATASTREAM_BACKEND=f"{__name__}.REFUSING",
            DATASTREAM_BACKEND_SETTINGS={"database_name": "x"},
        ),
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setattr(f"{__name__}.REFUSING", Refusing, raising=False)
        assert messages() == []
        (error,) = messages(["default"])
    assert error.id == "datastream.E005" and "cannot open x" in error.msg
