"""HTTP plumbing shared by the API views: one way to render a response, JSON errors, CORS
headers, read-only methods, the JSON 404 of unknown API URLs.

Every API view runs through :func:`respond`, which turns exceptions into ``{"error": …}``
answers with the right status, gives a JSON body to the empty error answers of tastypie's
hooks (401 from an authentication, 429 from a throttle), adds the CORS and ``nosniff``
headers and drops the body of HEAD answers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

import orjson
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist, SuspiciousOperation, TooManyFieldsSent
from django.core.signals import got_request_exception
from django.http import Http404, HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.urls import Resolver404, resolve
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from tastypie.exceptions import (
    BadRequest,
    ImmediateHttpResponse,
    NotFound,
    Unauthorized,
    UnsupportedSerializationFormat,
)
from tastypie.utils.mime import build_content_type

from ..conf import datastream_settings
from ..errors import LIBRARY_STATUSES, ApiError, error_for_status, quote
from ..formats.serializer import CONTENT_TYPES
from .negotiation import determine_format

__all__ = [
    "ALLOWED_METHODS",
    "STATUSES",
    "ApiError",
    "api_error",
    "add_cors_headers",
    "api_view",
    "check_read_method",
    "error_response",
    "method_not_allowed_response",
    "not_found",
    "options_response",
    "render",
    "respond",
]

logger = logging.getLogger(__name__)

#: Methods answered by every API URL; everything else gets 405.
ALLOWED_METHODS = ("GET", "HEAD", "OPTIONS")
_ALLOW = ", ".join(ALLOWED_METHODS)

#: Messages of error answers that tastypie's hooks return without a body.
_EMPTY_ERROR_MESSAGES = {
    401: "Authentication required: this API needs valid credentials.",
    403: "Forbidden.",
    429: "Too many requests: the request rate limit of this API is exceeded.",
    501: "Not implemented.",
}


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


def check_read_method(request: HttpRequest, allowed: Iterable[str] | None = ("get",)) -> str:
    """``'get'`` for a GET or HEAD request when ``allowed`` (lower-case names, as in tastypie's
    ``Meta.allowed_methods``) has ``'get'``; otherwise raise ``ImmediateHttpResponse`` with
    the answer to OPTIONS (200) or 405. The API is read-only: no other method is served."""
    method = (request.method or "").upper()
    if method == "OPTIONS":
        raise ImmediateHttpResponse(response=options_response())
    if method in ("GET", "HEAD") and "get" in (allowed or ()):
        return "get"
    raise ImmediateHttpResponse(response=method_not_allowed_response(method))


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


def render(
    request: HttpRequest,
    serializer: Any,
    data: Any,
    response_class: type[HttpResponse] = HttpResponse,
    content_type: str | None = None,
    **response_kwargs: Any,
) -> HttpResponse:
    """``data`` written by ``serializer`` in the format the request negotiates (see
    `django_datastream.http.negotiation.determine_format`, unless ``content_type`` gives the
    format already negotiated): the one way API answers are made."""
    if content_type is None:
        content_type = determine_format(request, serializer)
    options = {}
    if content_type == CONTENT_TYPES["jsonp"]:
        options["callback"] = request.GET.get("callback", "callback")
    content = serializer.serialize(data, content_type, options)
    response = response_class(
        content=content, content_type=build_content_type(content_type), **response_kwargs
    )
    patch_vary_headers(response, ("Accept",))  # the format may follow the Accept header
    return response


def api_view(
    view: Callable[..., HttpResponse], read_methods: Iterable[str] | None = None
) -> Callable[..., HttpResponse]:
    """The Django view answering with ``view`` through :func:`respond` (CSRF exempt: the API
    authenticates every request itself). With ``read_methods`` (lower-case names, as in
    tastypie's ``Meta.allowed_methods``) it is a read view: the method is checked first
    (:func:`check_read_method`)."""

    @csrf_exempt
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return respond(request, view, *args, read_methods=read_methods, **kwargs)

    return wrapper


def respond(
    request: HttpRequest,
    view: Callable[..., HttpResponse],
    *args: Any,
    read_methods: Iterable[str] | None = None,
    **kwargs: Any,
) -> HttpResponse:
    """Run an API ``view``; turn errors into JSON error responses, give empty error answers a
    JSON body, add CORS headers, drop the body of HEAD answers. With ``read_methods``, the
    request's method is checked before the view runs (:func:`check_read_method`).

    Expected errors (bad parameters, unknown streams, refused access) become 4xx, an unusable
    backend 503; anything else is a bug: logged and answered 500 (and reported through
    ``got_request_exception``, so the Django test client re-raises it).
    """
    # A read-only API: the override could only turn a GET into a refused write.
    request.META.pop("HTTP_X_HTTP_METHOD_OVERRIDE", None)
    try:
        if read_methods is not None:
            check_read_method(request, read_methods)
        response = view(request, *args, **kwargs)
    except Exception as error:  # noqa: BLE001 - every error must become a JSON response
        response = _error_to_response(request, error)
    _add_error_body(response)
    add_cors_headers(request, response)
    response["X-Content-Type-Options"] = "nosniff"
    if (request.method or "").upper() == "HEAD" and not response.streaming:
        length = len(response.content)
        response.content = b""
        response["Content-Length"] = str(length)
    return response


@csrf_exempt
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """The JSON 404 of a URL under the API's prefix that names no endpoint (with
    ``APPEND_SLASH``, a URL missing only its trailing slash is redirected to it, as Django's
    ``CommonMiddleware`` would)."""
    return respond(request, _not_found)


def _not_found(request: HttpRequest) -> HttpResponse:
    path = request.path_info
    if settings.APPEND_SLASH and not path.endswith("/"):
        try:
            match = resolve(f"{path}/", getattr(request, "urlconf", None))
        except Resolver404:
            match = None
        if match is not None and match.func is not not_found:
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    hint = "" if path.endswith("/") else " API URLs end with a slash."
    raise ApiError(f"No API endpoint at {quote(request.path)}.{hint}", 404)


def _add_error_body(response: HttpResponse) -> None:
    """Give an error answer made without a body (tastypie's 401, 429, …) the JSON one."""
    status = response.status_code
    if status < 400 or response.streaming or response.content:
        return
    message = _EMPTY_ERROR_MESSAGES.get(status) or f"{response.reason_phrase}."
    if status == 429 and response.has_header("Retry-After"):
        message += f" Retry after {response['Retry-After']} seconds."
    response.content = orjson.dumps({"error": message})
    response["Content-Type"] = "application/json"


def _message(error: Exception) -> str | None:
    return str(error.args[0]) if error.args else None


def _too_many_fields(error: Exception) -> str:
    return (
        f"Too many query parameters: at most {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} are accepted."
    )


def _suspicious(error: Exception) -> str:
    logging.getLogger(f"django.security.{type(error).__name__}").error(str(error))
    return "Bad request: refused as suspicious."


def _unavailable(error: Exception) -> str | None:
    logger.warning("Datastream backend unavailable: %s", error)
    return None  # the class's message: the error's may name hosts


def _no_message(error: Exception) -> str | None:
    return None


#: Exception class -> (status, the answer's message from the exception; ``None``: the
#: status's own). The library's classes come from :data:`~django_datastream.errors.
#: LIBRARY_STATUSES`; the others are Django's and tastypie's. The most specific class of an
#: exception's MRO found here decides; :class:`~django_datastream.errors.ApiError` carries its
#: own status, and a class found nowhere is a bug (500).
STATUSES: dict[type[Exception], tuple[int, Callable[[Exception], str | None]]] = {
    BadRequest: (400, _message),
    TooManyFieldsSent: (400, _too_many_fields),
    SuspiciousOperation: (400, _suspicious),
    UnsupportedSerializationFormat: (406, _no_message),
    NotFound: (404, str),
    ObjectDoesNotExist: (404, str),
    Http404: (404, str),
    Unauthorized: (401, str),
    **{
        error_class: (status, _unavailable if status == 503 else str)
        for error_class, status in LIBRARY_STATUSES.items()
    },
}


def api_error(error: Exception) -> ApiError | None:
    """The :class:`~django_datastream.errors.ApiError` answering ``error`` (``None``: a bug)."""
    if isinstance(error, ApiError):
        return error
    for error_class in type(error).__mro__:
        entry = STATUSES.get(error_class)
        if entry is not None:
            status, message = entry
            return error_for_status(status, message(error))
    return None


def _error_to_response(request: HttpRequest, error: Exception) -> HttpResponse:
    if isinstance(error, ImmediateHttpResponse):
        refusal = error.__context__
        if (
            isinstance(refusal, Unauthorized)
            and error.response.status_code == 401
            and not error.response.content
        ):
            # tastypie's unauthorized_result answering a refusal of the authorization (raised
            # while handling it): 401 with the refusal's message.
            return error_response(str(refusal) or "You are not allowed to read this.", 401)
        return error.response
    answer = api_error(error)
    if answer is not None:
        return error_response(answer.message, answer.status_code)
    logger.error(
        "Internal Server Error: %s",
        request.path,
        exc_info=error,
        extra={"status_code": 500, "request": request},
    )
    got_request_exception.send(sender=None, request=request)
    return error_response("Internal server error.", 500)
