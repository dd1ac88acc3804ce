"""App wiring: the lazily built ``django_datastream.datastream``, settings, system checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

import django_datastream
from datastream import Datastream
from datastream.backends.sqlite import Backend
from django_datastream import conf
from django_datastream.apps import DatastreamConfig

SQLITE = "datastream.backends.sqlite.Backend"
ROOT = Path(__file__).resolve().parent.parent


def sqlite_settings(path) -> dict:
    return {
        "DATASTREAM_BACKEND": SQLITE,
        "DATASTREAM_BACKEND_SETTINGS": {"database_name": str(path)},
    }


def test_app_config():
    assert isinstance(apps.get_app_config("django_datastream"), DatastreamConfig)


def test_import_and_url_loading_do_no_database_work(tmp_path):
    database = tmp_path / "never.sqlite3"
    code = (
        "import django; django.setup()\n"
        "import django_datastream, django_datastream.urls, django_datastream.resources\n"
        "from django.urls import resolve; resolve('/api/v1/stream/')\n"
        "from django.core.management import call_command; call_command('check')\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "test_project.settings",
        "DATASTREAM_SQLITE_PATH": str(database),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "tests"), str(ROOT)]),
    }
    env.pop("DATASTREAM_MONGODB_URI", None)
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert not database.exists()


def test_built_on_first_use_and_rebuilt_when_settings_change(tmp_path):
    first, second = tmp_path / "first.sqlite3", tmp_path / "second.sqlite3"
    with override_settings(**sqlite_settings(first)):
        assert not first.exists()
        datastream = django_datastream.datastream
        assert isinstance(datastream, Datastream)
        assert first.exists()
        assert django_datastream.datastream is datastream
        assert datastream.backend.database_name == str(first)
        with override_settings(**sqlite_settings(second)):
            assert django_datastream.datastream.backend.database_name == str(second)
        rebuilt = django_datastream.datastream
        assert rebuilt is not datastream
        assert rebuilt.backend.database_name == str(first)
        from django_datastream import datastream as imported  # module __getattr__ at import

        assert imported is rebuilt


def test_backend_instance_setting(tmp_path):
    backend = Backend(str(tmp_path / "instance.sqlite3"))
    with override_settings(DATASTREAM_BACKEND=backend, DATASTREAM_BACKEND_SETTINGS=None):
        assert django_datastream.datastream.backend is backend
    # Leaving the override reset the datastream; an instance given by the user stays open.
    assert Datastream(backend).find_streams().count() == 0
    backend.close()


def test_no_backend_configured():
    with override_settings(DATASTREAM_BACKEND=None):
        assert django_datastream.datastream is None


def test_unknown_module_attribute():
    with pytest.raises(AttributeError):
        django_datastream.nope  # noqa: B018


@pytest.mark.parametrize(
    ("backend", "backend_settings", "message"),
    [
        ("nodots", {}, "is not a dotted path"),
        ("no_such_module.Backend", {}, "Error importing datastream backend module"),
        ("datastream.backends.sqlite.Nope", {}, "does not define a 'Nope' datastream backend"),
        (SQLITE, {"wrong": 1}, "Cannot construct datastream backend"),
        (SQLITE, ["database_name"], "must be a dictionary"),
    ],
)
def test_bad_backend_settings(backend, backend_settings, message):
    with pytest.raises(ImproperlyConfigured, match=message):
        django_datastream.init_datastream(backend, backend_settings)
    with override_settings(
        DATASTREAM_BACKEND=backend, DATASTREAM_BACKEND_SETTINGS=backend_settings
    ):
        with pytest.raises(ImproperlyConfigured, match=message):
            django_datastream.datastream  # noqa: B018


def test_settings_defaults_and_refresh():
    settings = conf.datastream_settings
    assert settings.CORS_ALLOWED_ORIGINS == "*"
    assert settings.DETAIL_LIMIT == 100
    assert settings.DETAIL_MAX_LIMIT == 10000
    assert settings.LIST_LIMIT == 20
    assert settings.LIST_MAX_LIMIT == 1000
    with override_settings(API_DETAIL_LIMIT_PER_PAGE=5, DATASTREAM_CORS_ALLOWED_ORIGINS=None):
        assert settings.DETAIL_LIMIT == 5
        assert settings.CORS_ALLOWED_ORIGINS == "*"
    assert settings.DETAIL_LIMIT == 100
    with pytest.raises(AttributeError):
        settings.NOPE  # noqa: B018


def run_checks(databases=None):
    return {message.id for message in checks.run_checks(tags=["datastream"], databases=databases)}


def test_checks_pass_with_the_project_settings(tmp_path):
    with override_settings(**sqlite_settings(tmp_path / "ok.sqlite3")):
        assert run_checks() == set()
        assert run_checks(databases=["default"]) == set()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"DATASTREAM_BACKEND": None}, {"datastream.E001"}),
        ({"DATASTREAM_BACKEND": "no_such_module.Backend"}, {"datastream.E002"}),
        ({"DATASTREAM_BACKEND": "datastream.backends.sqlite.Nope"}, {"datastream.E002"}),
        ({"DATASTREAM_BACKEND_SETTINGS": ["x"]}, {"datastream.E003"}),
        ({"DATASTREAM_BACKEND_SETTINGS": {1: "x"}}, {"datastream.E003"}),
        ({"DATASTREAM_BACKEND_SETTINGS": {"database_name": "x", "foo": 1}}, {"datastream.E004"}),
        ({"DATASTREAM_BACKEND_SETTINGS": {}}, {"datastream.E004"}),
        ({"DATASTREAM_CORS_ALLOWED_ORIGINS": 5}, {"datastream.E006"}),
        ({"DATASTREAM_CORS_ALLOWED_ORIGINS": [None]}, {"datastream.E006"}),
        ({"DATASTREAM_API_FORMATS": ["json", "yaml"]}, {"datastream.E007"}),
        ({"DATASTREAM_API_FORMATS": "json"}, {"datastream.E007"}),
        ({"USE_TZ": False}, {"datastream.W001"}),
    ],
)
def test_checks(tmp_path, overrides, expected):
    with override_settings(**{**sqlite_settings(tmp_path / "x.sqlite3"), **overrides}):
        assert run_checks() == expected


def test_construction_check_needs_database_flag(tmp_path):
    not_a_database = tmp_path / "file"
    not_a_database.write_text("not an SQLite database, only found by opening it " * 100)
    broken = {"DATASTREAM_BACKEND_SETTINGS": {"database_name": str(not_a_database)}}
    with override_settings(DATASTREAM_BACKEND=SQLITE, **broken):
        assert run_checks() == set()
        assert run_checks(databases=["default"]) == {"datastream.E005"}
