"""System checks for the ``DATASTREAM_*`` settings.

========================  ======================================================================
id                        problem
========================  ======================================================================
``datastream.E001``       ``DATASTREAM_BACKEND`` is not set
``datastream.E002``       ``DATASTREAM_BACKEND`` cannot be imported
``datastream.E003``       ``DATASTREAM_BACKEND_SETTINGS`` is not a dictionary
``datastream.E004``       the backend class does not accept ``DATASTREAM_BACKEND_SETTINGS``
``datastream.E005``       the backend's database cannot be used (only with ``check --database``):
                          an unreachable MongoDB server, an SQLite file that is no database
``datastream.E006``       ``DATASTREAM_CORS_ALLOWED_ORIGINS`` is not ``'*'`` or a list of origins
``datastream.E007``       ``DATASTREAM_API_FORMATS`` names an unknown format
``datastream.E008``       the backend's own check refuses ``DATASTREAM_BACKEND_SETTINGS``: an
                          SQLite ``database_name`` that cannot be a database file, a malformed
                          MongoDB URI, an option pymongo does not know
``datastream.E009``       ``DATASTREAM_BACKEND`` is a class, not its dotted path
``datastream.E010``       ``DATASTREAM_RETENTION`` is not a list of valid retention rules
``datastream.W001``       ``USE_TZ = False``: the API always speaks UTC
========================  ======================================================================

The checks name no storage: a backend class with a ``check(settings, *, connect=False)``
classmethod (both bundled backends have one) is asked for the problems of its settings, without
touching its database (E008), and with ``check --database`` with ``connect=True`` (E005).
Checks never write: the SQLite backend looks at its path without creating anything and opens
an existing file read-only; the MongoDB backend validates its settings offline and then only
pings the server, waiting two seconds at most. A backend class without ``check`` is constructed
by ``check --database`` instead.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from datastream.exceptions import DatastreamException
from datastream.retention import parse_rules

from .conf import datastream_settings, dotted_path, import_backend, init_datastream
from .formats.serializer import CONTENT_TYPES

FORMATS = tuple(CONTENT_TYPES)


def _storage_check(backend_class: type) -> Any:
    """The backend class's ``check(settings, *, connect=False)`` classmethod (or static
    method), or ``None``: an instance method of that name is something else."""
    try:
        declared = inspect.getattr_static(backend_class, "check")
    except AttributeError:
        return None
    if not isinstance(declared, classmethod | staticmethod):
        return None
    return backend_class.check  # type: ignore[attr-defined]


def _run_storage_check(check: Any, connect: bool) -> list[str]:
    """The problems the backend's ``check`` finds; a check that fails is one problem."""
    try:
        problems = check(datastream_settings.BACKEND_SETTINGS, connect=connect)
        return [str(problem) for problem in problems]
    except Exception as error:  # noqa: BLE001 - a broken check is reported, never raised
        return [f"its check failed: {error!r}"]


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
    if isinstance(backend, type):
        path = dotted_path(backend)
        errors.append(
            checks.Error(
                f"DATASTREAM_BACKEND is the class {path}, not its dotted path.",
                hint=f"Give the class's dotted path as a string: DATASTREAM_BACKEND = {path!r} "
                "(e.g. 'datastream.backends.sqlite.Backend'), and its arguments in "
                "DATASTREAM_BACKEND_SETTINGS.",
                id="datastream.E009",
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
    if backend_class is None:
        return errors
    try:
        inspect.signature(backend_class).bind(**backend_settings)
    except TypeError as error:
        errors.append(
            checks.Error(
                f"DATASTREAM_BACKEND_SETTINGS do not fit {datastream_settings.BACKEND}: {error}.",
                id="datastream.E004",
            )
        )
        return errors
    except ValueError:
        pass  # no introspectable signature: nothing to check without constructing
    storage_check = _storage_check(backend_class)
    if storage_check is not None:
        errors.extend(
            checks.Error(
                f"DATASTREAM_BACKEND_SETTINGS cannot be used with {datastream_settings.BACKEND}: "
                f"{problem}.",
                id="datastream.E008",
            )
            for problem in _run_storage_check(storage_check, connect=False)
        )
    return errors


@checks.register("datastream", checks.Tags.database)
def check_backend_construction(
    app_configs: Any = None, databases: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Reach the backend's database: run by ``check --database``.

    The backend's ``check(settings, connect=True)`` looks (an SQLite file is opened
    read-only, a MongoDB server is pinged); a backend class without one is constructed.
    """
    if not databases or not isinstance(datastream_settings.BACKEND, str):
        return []
    if check_backend():
        return []  # already reported
    path = datastream_settings.BACKEND
    storage_check = _storage_check(import_backend(path))
    if storage_check is not None:
        return [
            checks.Error(
                f"The datastream backend {path} cannot be used: {problem}.", id="datastream.E005"
            )
            for problem in _run_storage_check(storage_check, connect=True)
        ]
    try:
        init_datastream(path, datastream_settings.BACKEND_SETTINGS)
    except Exception as error:  # noqa: BLE001 - every failure is the check's answer
        what = f"Constructing the datastream backend {path!r}"
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
    try:
        parse_rules(datastream_settings.RETENTION)
    except DatastreamException as error:
        messages.append(
            checks.Error(
                f"DATASTREAM_RETENTION: {error}",
                hint="Give a list of {'tags': {...}, 'keep': {'raw': '30d', 'days': None}}; "
                "see the retention section of the semantics documentation.",
                id="datastream.E010",
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
