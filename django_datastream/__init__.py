"""django_datastream: the datastream time-series library behind a read-only REST API.

``django_datastream.datastream`` is the ``Datastream`` configured by the ``DATASTREAM_BACKEND``
and ``DATASTREAM_BACKEND_SETTINGS`` settings. It is built on first use (importing this package
does no database work) and rebuilt after those settings change; it is ``None`` when
``DATASTREAM_BACKEND`` is not set.
"""

from __future__ import annotations

from typing import Any

__version__ = "1.0.0"

__all__ = ["datastream", "init_datastream"]


def init_datastream(backend: Any, backend_settings: Any = None) -> Any:
    """A ``Datastream`` on ``backend`` (a dotted path or a backend instance); see
    :func:`django_datastream.conf.init_datastream`."""
    from .conf import init_datastream as _init_datastream

    return _init_datastream(backend, backend_settings)


def __getattr__(name: str) -> Any:
    if name == "datastream":
        from .conf import get_datastream

        return get_datastream()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
