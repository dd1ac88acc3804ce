"""The errors of the API, each with its HTTP status and message, on the model of Django REST
framework's ``rest_framework.exceptions``: every error answer is ``{"error": message}`` with
``status_code``.

::

    ApiError                      status_code 400 unless given
     ├── BadParameter             400: a query parameter (also a ``ValueError``)
     ├── NotAuthorized            401
     ├── NotFound                 404
     ├── NotAcceptable            406: a format this URL cannot be written in
     └── ServiceUnavailable       503: no usable ``Datastream``

The library's errors are not caught one by one: :data:`LIBRARY_STATUSES` maps the classes of
:mod:`datastream.exceptions` to statuses, and :mod:`django_datastream.http.responses` adds
those of Django and tastypie to make the one table every error answer is looked up in (the
most specific class of the exception's method resolution order that the table names decides;
none: a bug, answered 500). This module imports nothing of Django, so that query parsing,
which raises :class:`BadParameter`, does not either.
"""

from __future__ import annotations

from datastream import exceptions

__all__ = [
    "LIBRARY_STATUSES",
    "ApiError",
    "BadParameter",
    "NotAcceptable",
    "NotAuthorized",
    "NotFound",
    "ServiceUnavailable",
    "error_for_status",
    "quote",
]


class ApiError(Exception):
    """An error answered as ``{"error": message}`` with ``status_code`` (the class's, 400,
    unless ``status`` is given). ``status`` is the same number, under its earlier name."""

    status_code = 400
    default_message = "Bad request."

    def __init__(self, message: str | None = None, status: int | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)
        if status is not None:
            self.status_code = status

    @property
    def status(self) -> int:
        """The HTTP status (``status_code``)."""
        return self.status_code


class BadParameter(ApiError, ValueError):
    """A query parameter is invalid; the message names the parameter and the value."""


class NotAuthorized(ApiError):
    """The authentication or the authorization refuses the request (401; a project's
    ``Meta.authorization`` raising tastypie's ``Unauthorized`` gets it too)."""

    status_code = 401
    default_message = "You are not allowed to read this."


class NotFound(ApiError):
    """No such stream, or no endpoint at this URL."""

    status_code = 404
    default_message = "Not found."


class NotAcceptable(ApiError):
    """An enabled format that cannot write this answer (the CSV of the schema, say)."""

    status_code = 406
    default_message = "This format is not available here."


class ServiceUnavailable(ApiError):
    """The ``Datastream`` cannot be used: not configured, misconfigured, or its storage
    unreachable (then the message does not repeat the storage's own error, which may name
    hosts or credentials; the log has it)."""

    status_code = 503
    default_message = "The datastream backend is unavailable."


#: The library's exceptions answered with a status other than 500: its errors of arguments
#: are 400s; a stream that does not exist is a 404; an unreachable storage a 503 (its message
#: is not shown: it may name hosts).
LIBRARY_STATUSES: dict[type[Exception], int] = {
    exceptions.StreamNotFound: 404,
    exceptions.BackendUnavailable: 503,
    **dict.fromkeys(
        (
            exceptions.UnsupportedDownsampler,
            exceptions.UnsupportedGranularity,
            exceptions.UnsupportedDeriveOperator,
            exceptions.UnsupportedValueType,
            exceptions.ReservedTagNameError,
            exceptions.InvalidTimestamp,
            exceptions.IncompatibleGranularities,
            exceptions.IncompatibleTypes,
            exceptions.AppendToDerivedStreamNotAllowed,
            exceptions.InvalidOperatorArguments,
            exceptions.InvalidValue,
            exceptions.InvalidTagQuery,
            exceptions.InvalidValueType,
            exceptions.InvalidTimeRange,
            exceptions.InvalidArgument,
        ),
        400,
    ),
}

_BY_STATUS: dict[int, type[ApiError]] = {
    cls.status_code: cls for cls in (NotAuthorized, NotFound, NotAcceptable, ServiceUnavailable)
}


def error_for_status(status: int, message: str | None = None) -> ApiError:
    """The :class:`ApiError` of ``status`` (its class in the tree when there is one)."""
    return _BY_STATUS.get(status, ApiError)(message or None, status)


#: Longest value an error message quotes whole.
_MAX_QUOTED = 100


def quote(value: str) -> str:
    """``value`` quoted for an error message, shortened if it is very long."""
    if len(value) > _MAX_QUOTED:
        value = value[:_MAX_QUOTED] + "…"
    return repr(value)
