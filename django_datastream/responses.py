"""HTTP plumbing shared by the API views: JSON errors, CORS headers, allowed methods."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from django.core.signals import got_request_exception
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers
from tastypie.exceptions import BadRequest, ImmediateHttpResponse, UnsupportedSerializationFormat

from datastream import exceptions

from .conf import datastream_settings
from .query import QueryError

__all__ = [
    "ALLOWED_METHODS",
    "ApiError",
    "add_cors_headers",
    "error_response",
    "method_not_allowed_response",
    "options_response",
    "respond",
]

logger = logging.getLogger(__name__)

#: Methods answered by every API URL; everything else gets 405.
ALLOWED_METHODS = ("GET", "HEAD", "OPTIONS")
_ALLOW = ", ".join(ALLOWED_METHODS)


class ApiError(Exception):
    """An error answered as ``{"error": message}`` with ``status`` (400 by default)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def error_response(message: str, status: int = 400) -> HttpResponse:
    """The JSON error body every API error uses."""
    return HttpResponse(
        orjson.dumps({"error": message}), status=status, content_type="application/json"
    )


def method_not_allowed_response(method: str) -> HttpResponse:
    """405 naming the method, with the ``Allow`` header."""
    response = error_response(
        f"Method {method!r} not allowed. Allowed methods: {_ALLOW}.", status=405
    )
    response["Allow"] = _ALLOW
    return response


def options_response() -> HttpResponse:
    """200 answer to OPTIONS (and CORS pre-flight requests)."""
    response = HttpResponse(_ALLOW, content_type="text/plain")
    response["Allow"] = _ALLOW
    return response


def add_cors_headers(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """Add the CORS headers allowing ``DATASTREAM_CORS_ALLOWED_ORIGINS`` (``'*'`` or a list
    of origins) to read the API."""
    origins: Any = datastream_settings.CORS_ALLOWED_ORIGINS
    if origins == "*":
        response["Access-Control-Allow-Origin"] = "*"
    else:
        patch_vary_headers(response, ("Origin",))
        origin = request.headers.get("Origin")
        if origin is not None and origin in origins:
            response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Allow-Methods"] = _ALLOW
    response["Access-Control-Max-Age"] = "3600"
    return response


def respond(
    request: HttpRequest,
    view: Callable[..., HttpResponse],
    *args: Any,
    **kwargs: Any,
) -> HttpResponse:
    """Run an API ``view`` for GET and HEAD, answer OPTIONS, refuse other methods with 405,
    turn errors into JSON error responses, add CORS headers, drop the body of HEAD answers.

    Expected errors (bad parameters, unknown streams) become 4xx; anything unexpected is
    logged and answered 500 (and reported through ``got_request_exception``, so the Django
    test client re-raises it).
    """
    method = (request.method or "").upper()
    if method == "OPTIONS":
        response = options_response()
    elif method not in ("GET", "HEAD"):
        response = method_not_allowed_response(method)
    else:
        try:
            response = view(request, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - every error must become a JSON response
            response = _error_to_response(request, error)
    add_cors_headers(request, response)
    response["X-Content-Type-Options"] = "nosniff"
    if method == "HEAD" and not response.streaming:
        length = len(response.content)
        response.content = b""
        response["Content-Length"] = str(length)
    return response


def _error_to_response(request: HttpRequest, error: Exception) -> HttpResponse:
    if isinstance(error, ApiError):
        return error_response(error.message, error.status)
    if isinstance(error, QueryError | BadRequest):
        return error_response(str(error.args[0]) if error.args else "Bad request.", 400)
    if isinstance(error, ImmediateHttpResponse):
        return error.response
    if isinstance(error, UnsupportedSerializationFormat):
        return error_response(f"This format is not available here: {error}", 406)
    if isinstance(error, exceptions.StreamNotFound):
        return error_response(str(error), 404)
    if isinstance(error, exceptions.BackendUnavailable):
        logger.warning("Datastream backend unavailable: %s", error)
        return error_response("The datastream backend is unavailable.", 503)
    if isinstance(error, exceptions.DatastreamException) and isinstance(
        error, ValueError | TypeError | AttributeError
    ):
        return error_response(str(error), 400)
    logger.error(
        "Internal Server Error: %s",
        request.path,
        exc_info=error,
        extra={"status_code": 500, "request": request},
    )
    got_request_exception.send(sender=None, request=request)
    return error_response("Internal server error.", 500)
