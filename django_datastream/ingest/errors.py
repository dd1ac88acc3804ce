"""The errors of a refused write: 400 for bad data, 413 beyond a limit, 415 for an unknown
body encoding; each an :class:`~django_datastream.errors.ApiError`."""

from __future__ import annotations

from ..errors import ApiError

__all__ = ["BadBody", "TooLarge", "UnsupportedEncoding"]


class BadBody(ApiError):
    """The body cannot be read: the message names the line or the datapoint's index."""

    status_code = 400
    default_message = "The request body cannot be read."


class TooLarge(ApiError):
    """A body or a number of datapoints beyond the configured limits."""

    status_code = 413
    default_message = "The request body is too large."


class UnsupportedEncoding(ApiError):
    """A ``Content-Encoding`` other than ``gzip`` and ``identity``."""

    status_code = 415
    default_message = "Unsupported Content-Encoding: use gzip or none."
