"""The documented home of :class:`ApiError` (see :doc:`access_control`); the HTTP plumbing
itself is :mod:`django_datastream.http.responses`."""

from __future__ import annotations

from .http.responses import ApiError, respond

__all__ = ["ApiError", "respond"]
