"""Settings of django_datastream, with defaults, and the lazily built ``Datastream``.

Every setting is read from Django's settings on first use and cached; the cache is dropped on
Django's ``setting_changed`` signal, so ``override_settings`` works in tests. Changing
``DATASTREAM_BACKEND`` or ``DATASTREAM_BACKEND_SETTINGS`` also drops the configured
``Datastream``, which is rebuilt on its next use.

====================================  =========================  =================================
Django setting                        attribute                  default
====================================  =========================  =================================
``DATASTREAM_BACKEND``                ``BACKEND``                ``None`` (no datastream)
``DATASTREAM_BACKEND_SETTINGS``       ``BACKEND_SETTINGS``       ``{}``
``DATASTREAM_CORS_ALLOWED_ORIGINS``   ``CORS_ALLOWED_ORIGINS``   ``'*'``
``DATASTREAM_API_FORMATS``            ``API_FORMATS``            json, jsonp, xml, csv, ndjson
``API_LIMIT_PER_PAGE``                ``LIST_LIMIT``             20
``DATASTREAM_API_LIST_MAX_LIMIT``     ``LIST_MAX_LIMIT``         1000
``API_DETAIL_LIMIT_PER_PAGE``         ``DETAIL_LIMIT``           100
``DATASTREAM_API_DETAIL_MAX_LIMIT``   ``DETAIL_MAX_LIMIT``       10000
``DATASTREAM_TEST_DATABASE_NAME``     ``TEST_DATABASE_NAME``     ``'django_datastream_testing'``
``DATASTREAM_CLOSED_MAX_AGE``         ``CLOSED_MAX_AGE``         3600 (seconds)
``DATASTREAM_EXPORT_MAX_POINTS``      ``EXPORT_MAX_POINTS``      50,000,000
``DATASTREAM_THIN_MAX_POINTS``        ``THIN_MAX_POINTS``        5,000,000
``DATASTREAM_LIVE_POLL_INTERVAL``     ``LIVE_POLL_INTERVAL``     0.5 (seconds)
``DATASTREAM_LIVE_KEEPALIVE``         ``LIVE_KEEPALIVE``         15.0 (seconds)
``DATASTREAM_WRITES``                 ``WRITES``                 ``False``
``DATASTREAM_ANONYMOUS_WRITES``       ``ANONYMOUS_WRITES``       ``False``
``DATASTREAM_INGEST_MAX_BODY_SIZE``   ``INGEST_MAX_BODY_SIZE``   25,000,000 (bytes)
``DATASTREAM_INGEST_MAX_DATAPOINTS``  ``INGEST_MAX_DATAPOINTS``  500,000
``DATASTREAM_INGEST_STREAMS``         ``INGEST_STREAMS``         ``{}`` (line protocol streams)
``DATASTREAM_DOWNSAMPLE_WORKER``      ``DOWNSAMPLE_WORKER``      ``True``
``DATASTREAM_DOWNSAMPLE_DELAY``       ``DOWNSAMPLE_DELAY``       1.0 (seconds)
``DATASTREAM_DOWNSAMPLE_INTERVAL``    ``DOWNSAMPLE_INTERVAL``    5.0 (seconds; 0: no sweeps)
``DATASTREAM_RETENTION``              ``RETENTION``              ``[]`` (retention rules)
====================================  =========================  =================================

The configured ``Datastream`` is a :class:`django_datastream.worker.NotifyingDatastream`: its
appends tell the process's downsampling worker (:mod:`django_datastream.worker`) which streams
to downsample.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Mapping
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed

import datastream as datastream_library

__all__ = [
    "SETTINGS",
    "datastream_settings",
    "dotted_path",
    "get_datastream",
    "import_backend",
    "init_datastream",
    "reset_datastream",
]

#: attribute -> (Django setting name, default)
SETTINGS: dict[str, tuple[str, Any]] = {
    "BACKEND": ("DATASTREAM_BACKEND", None),
    "BACKEND_SETTINGS": ("DATASTREAM_BACKEND_SETTINGS", {}),
    "CORS_ALLOWED_ORIGINS": ("DATASTREAM_CORS_ALLOWED_ORIGINS", "*"),
    "API_FORMATS": ("DATASTREAM_API_FORMATS", ("json", "jsonp", "xml", "csv", "ndjson")),
    "LIST_LIMIT": ("API_LIMIT_PER_PAGE", 20),
    "LIST_MAX_LIMIT": ("DATASTREAM_API_LIST_MAX_LIMIT", 1000),
    "DETAIL_LIMIT": ("API_DETAIL_LIMIT_PER_PAGE", 100),
    "DETAIL_MAX_LIMIT": ("DATASTREAM_API_DETAIL_MAX_LIMIT", 10000),
    "TEST_DATABASE_NAME": ("DATASTREAM_TEST_DATABASE_NAME", "django_datastream_testing"),
    "CLOSED_MAX_AGE": ("DATASTREAM_CLOSED_MAX_AGE", 3600),
    "EXPORT_MAX_POINTS": ("DATASTREAM_EXPORT_MAX_POINTS", 50_000_000),
    "THIN_MAX_POINTS": ("DATASTREAM_THIN_MAX_POINTS", 5_000_000),
    "LIVE_POLL_INTERVAL": ("DATASTREAM_LIVE_POLL_INTERVAL", 0.5),
    "LIVE_KEEPALIVE": ("DATASTREAM_LIVE_KEEPALIVE", 15.0),
    "WRITES": ("DATASTREAM_WRITES", False),
    "ANONYMOUS_WRITES": ("DATASTREAM_ANONYMOUS_WRITES", False),
    "INGEST_MAX_BODY_SIZE": ("DATASTREAM_INGEST_MAX_BODY_SIZE", 25_000_000),
    "INGEST_MAX_DATAPOINTS": ("DATASTREAM_INGEST_MAX_DATAPOINTS", 500_000),
    "INGEST_STREAMS": ("DATASTREAM_INGEST_STREAMS", {}),
    "DOWNSAMPLE_WORKER": ("DATASTREAM_DOWNSAMPLE_WORKER", True),
    "DOWNSAMPLE_DELAY": ("DATASTREAM_DOWNSAMPLE_DELAY", 1.0),
    "DOWNSAMPLE_INTERVAL": ("DATASTREAM_DOWNSAMPLE_INTERVAL", 5.0),
    "RETENTION": ("DATASTREAM_RETENTION", []),
}

_BACKEND_SETTINGS = {"DATASTREAM_BACKEND", "DATASTREAM_BACKEND_SETTINGS"}
_WORKER_SETTINGS = {
    "DATASTREAM_DOWNSAMPLE_WORKER",
    "DATASTREAM_DOWNSAMPLE_DELAY",
    "DATASTREAM_DOWNSAMPLE_INTERVAL",
}


class DatastreamSettings:
    """Attribute access to the settings in :data:`SETTINGS`, cached until they change.

    A setting explicitly set to ``None`` falls back to its default, except ``BACKEND``.
    """

    def __init__(self, definitions: Mapping[str, tuple[str, Any]]) -> None:
        self._definitions = dict(definitions)
        self._cached: set[str] = set()

    def __getattr__(self, attribute: str) -> Any:
        try:
            setting, default = self._definitions[attribute]
        except KeyError:
            raise AttributeError(f"Invalid django_datastream setting: {attribute!r}") from None
        value = getattr(django_settings, setting, None)
        if value is None:
            value = default
        self._cached.add(attribute)
        setattr(self, attribute, value)
        return value

    def reload(self) -> None:
        """Forget the cached values; they are read again on next access."""
        for attribute in self._cached:
            self.__dict__.pop(attribute, None)
        self._cached.clear()


datastream_settings = DatastreamSettings(SETTINGS)

_lock = threading.Lock()
_datastream: datastream_library.Datastream | None = None
_owned = False  # whether _datastream's backend was constructed here (and may be closed here)


def import_backend(path: str) -> type:
    """The backend class named by the dotted ``path``; raises ``ImproperlyConfigured``."""
    module_name, _, class_name = path.rpartition(".")
    if not module_name or not class_name:
        raise ImproperlyConfigured(f"Datastream backend {path!r} is not a dotted path")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ImproperlyConfigured(
            f"Error importing datastream backend module {module_name!r}: {error}"
        ) from error
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise ImproperlyConfigured(
            f"Module {module_name!r} does not define a {class_name!r} datastream backend"
        ) from None


def dotted_path(cls: type) -> str:
    """The dotted path of the class ``cls``, the shortest that imports it (a package that
    re-exports it wins): ``'datastream.backends.mongodb.Backend'``."""
    module, name = cls.__module__, cls.__qualname__
    parts = module.split(".")
    for end in range(1, len(parts)):
        package = ".".join(parts[:end])
        if getattr(sys.modules.get(package), name, None) is cls:
            return f"{package}.{name}"
    return f"{module}.{name}"


def init_datastream(
    backend: Any, backend_settings: Mapping[str, Any] | None = None
) -> datastream_library.Datastream:
    """A ``Datastream`` on ``backend``: a dotted path (constructed with
    ``**backend_settings``) or an already constructed backend instance.

    ``ImproperlyConfigured`` when the backend cannot be imported, is a class rather than its
    dotted path, or refuses the settings (``TypeError`` or ``ValueError`` of its constructor,
    e.g. a malformed MongoDB URI).

    It is a :class:`~django_datastream.worker.NotifyingDatastream`, whose appends tell the
    process's downsampling worker (if one runs) which streams received data."""
    from .worker.appends import NotifyingDatastream
    from .worker.process import notify_appended

    if isinstance(backend, type):
        raise ImproperlyConfigured(
            f"DATASTREAM_BACKEND is the class {dotted_path(backend)}, not its dotted path: "
            f"set it to {dotted_path(backend)!r}"
        )
    if isinstance(backend, str):
        backend_class = import_backend(backend)
        if backend_settings is not None and not isinstance(backend_settings, Mapping):
            raise ImproperlyConfigured("DATASTREAM_BACKEND_SETTINGS must be a dictionary")
        try:
            backend = backend_class(**dict(backend_settings or {}))
        except TypeError as error:
            raise ImproperlyConfigured(
                f"Cannot construct datastream backend {backend!r} with "
                f"DATASTREAM_BACKEND_SETTINGS: {error}"
            ) from error
        except ValueError as error:
            raise ImproperlyConfigured(
                f"Datastream backend {backend!r} refuses DATASTREAM_BACKEND_SETTINGS: {error}"
            ) from error
    return NotifyingDatastream(backend, listener=notify_appended)


def get_datastream() -> datastream_library.Datastream | None:
    """The configured ``Datastream``, built on first use; ``None`` if none is configured."""
    global _datastream, _owned
    current = _datastream
    if current is not None:
        return current
    with _lock:
        if _datastream is None:
            backend = datastream_settings.BACKEND
            if backend is None:
                return None
            _datastream = init_datastream(backend, datastream_settings.BACKEND_SETTINGS)
            _owned = isinstance(backend, str)
        return _datastream


def reset_datastream() -> None:
    """Forget the configured ``Datastream``; the next use builds it again from the settings.

    A backend built here from a dotted path is closed (one given as an instance is not).
    """
    global _datastream, _owned
    with _lock:
        previous, owned, _datastream, _owned = _datastream, _owned, None, False
    if previous is not None and owned:
        close = getattr(previous.backend, "close", None)
        if callable(close):
            close()


def _setting_changed(*, setting: str, **kwargs: Any) -> None:
    if setting in {name for name, _ in SETTINGS.values()}:
        datastream_settings.reload()
    if setting in _BACKEND_SETTINGS:
        reset_datastream()
    if setting in _WORKER_SETTINGS:
        from .worker.process import stop_worker

        stop_worker()


setting_changed.connect(_setting_changed, dispatch_uid="django_datastream.conf")
