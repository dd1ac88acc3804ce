"""System checks for the ``DATASTREAM_*`` settings.

========================  ======================================================================
id                        problem
========================  ======================================================================
``datastream.E001``       ``DATASTREAM_BACKEND`` is not set
``datastream.E002``       ``DATASTREAM_BACKEND`` cannot be imported
``datastream.E003``       ``DATASTREAM_BACKEND_SETTINGS`` is not a dictionary
``datastream.E004``       the backend class does not accept ``DATASTREAM_BACKEND_SETTINGS``
``datastream.E005``       constructing the backend failed (only with ``check --database``)
``datastream.E006``       ``DATASTREAM_CORS_ALLOWED_ORIGINS`` is not ``'*'`` or a list of origins
``datastream.E007``       ``DATASTREAM_API_FORMATS`` names an unknown format
``datastream.E008``       the SQLite ``database_name`` cannot be a database file
``datastream.W001``       ``USE_TZ = False``: the API always speaks UTC
========================  ======================================================================

Checks never write: the SQLite path is checked without creating anything, and
``check --database`` opens an existing SQLite file read-only instead of constructing the
backend (which would create the file, its directory and its tables).
"""

from __future__ import annotations

import inspect
import os
import pathlib
import sqlite3
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from datastream.backends.sqlite import check_database_path

from .conf import datastream_settings, import_backend, init_datastream
from .serializers import CONTENT_TYPES

FORMATS = tuple(CONTENT_TYPES)
SQLITE_BACKEND = "datastream.backends.sqlite.Backend"


def _sqlite_database_name() -> Any:
    """The SQLite file path of the settings, or ``None`` (another backend, or memory)."""
    backend_settings = datastream_settings.BACKEND_SETTINGS
    if datastream_settings.BACKEND != SQLITE_BACKEND or not isinstance(backend_settings, Mapping):
        return None
    name = backend_settings.get("database_name")
    if not isinstance(name, str | os.PathLike) or str(name) in ("", ":memory:"):
        return None
    return name


def _backend_class(errors: list[checks.CheckMessage]) -> type | None:
    backend = datastream_settings.BACKEND
    if backend is None:
        errors.append(
            checks.Error(
                "DATASTREAM_BACKEND is not set.",
                hint="Set it to a backend class path, e.g. 'datastream.backends.sqlite.Backend'.",
                id="datastream.E001",
            )
        )
        return None
    if not isinstance(backend, str):
        return None  # an already constructed backend instance
    try:
        return import_backend(backend)
    except ImproperlyConfigured as error:
        errors.append(checks.Error(str(error), id="datastream.E002"))
        return None


@checks.register("datastream")
def check_backend(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """``DATASTREAM_BACKEND`` and ``DATASTREAM_BACKEND_SETTINGS`` are usable."""
    errors: list[checks.CheckMessage] = []
    backend_class = _backend_class(errors)
    backend_settings = datastream_settings.BACKEND_SETTINGS
    if not isinstance(backend_settings, Mapping) or not all(
        isinstance(key, str) for key in backend_settings
    ):
        errors.append(
            checks.Error(
                "DATASTREAM_BACKEND_SETTINGS must be a dictionary of keyword arguments, "
                f"not {backend_settings!r}.",
                id="datastream.E003",
            )
        )
        return errors
    if backend_class is not None:
        try:
            inspect.signature(backend_class).bind(**backend_settings)
        except TypeError as error:
            errors.append(
                checks.Error(
                    f"DATASTREAM_BACKEND_SETTINGS do not fit {datastream_settings.BACKEND}: "
                    f"{error}.",
                    id="datastream.E004",
                )
            )
        except ValueError:
            pass  # no introspectable signature: nothing to check without constructing
    database_name = _sqlite_database_name()
    problem = check_database_path(database_name) if database_name is not None else None
    if problem is not None:
        errors.append(
            checks.Error(
                f"DATASTREAM_BACKEND_SETTINGS['database_name'] cannot be used: {problem}.",
                hint="Give the path of an SQLite file in a writable directory.",
                id="datastream.E008",
            )
        )
    return errors


def _open_sqlite_read_only(database_name: Any) -> None:
    """Open an existing SQLite file read-only and read its schema; raises on a non-database."""
    # immutable: no lock files (-wal, -shm) are created beside a WAL database just to look.
    path = pathlib.Path(os.path.abspath(os.fspath(database_name)))
    uri = path.as_uri() + "?mode=ro&immutable=1"
    connection = sqlite3.connect(uri, uri=True)
    try:
        connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
    finally:
        connection.close()


@checks.register("datastream", checks.Tags.database)
def check_backend_construction(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Connect to the backend's database: run by ``check --database``.

    An SQLite file is opened read-only (nothing is created); other backends are constructed.
    """
    if not databases or not isinstance(datastream_settings.BACKEND, str):
        return []
    if check_backend():
        return []  # already reported
    database_name = _sqlite_database_name()
    try:
        if database_name is None:
            init_datastream(datastream_settings.BACKEND, datastream_settings.BACKEND_SETTINGS)
        elif os.path.exists(database_name):
            _open_sqlite_read_only(database_name)
        # else: the backend creates the file on first use (its directory was checked).
    except Exception as error:
        if database_name is None:
            what = f"Constructing the datastream backend {datastream_settings.BACKEND!r}"
        else:
            what = f"Opening the SQLite database {os.path.abspath(os.fspath(database_name))!r}"
        return [checks.Error(f"{what} failed: {error!r}", id="datastream.E005")]
    return []


@checks.register("datastream")
def check_api_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """CORS origins and API formats are well-formed; ``USE_TZ`` is on."""
    messages: list[checks.CheckMessage] = []
    origins = datastream_settings.CORS_ALLOWED_ORIGINS
    if not (
        origins == "*"
        or (
            isinstance(origins, list | tuple | set | frozenset)
            and all(isinstance(origin, str) for origin in origins)
        )
    ):
        messages.append(
            checks.Error(
                "DATASTREAM_CORS_ALLOWED_ORIGINS must be '*' or a list of origins "
                f"such as 'https://example.com', not {origins!r}.",
                id="datastream.E006",
            )
        )
    formats = datastream_settings.API_FORMATS
    if (
        isinstance(formats, str)
        or not isinstance(formats, list | tuple)
        or not formats
        or any(name not in FORMATS for name in formats)
    ):
        messages.append(
            checks.Error(
                f"DATASTREAM_API_FORMATS must be a non-empty list of {', '.join(FORMATS)}, "
                f"not {formats!r}.",
                id="datastream.E007",
            )
        )
    if not getattr(settings, "USE_TZ", True):
        messages.append(
            checks.Warning(
                "USE_TZ is False, but datastream timestamps are timezone-aware UTC.",
                hint="Set USE_TZ = True; the API always returns UTC times with a 'Z' suffix.",
                id="datastream.W001",
            )
        )
    return messages
