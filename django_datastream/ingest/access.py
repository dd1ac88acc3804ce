"""Who may write: whether a resource takes writes at all, whether its authentication lets
anonymous clients in, and InfluxDB's credentials presented to tastypie's authentications.

* Writes are on for a resource whose ``Meta`` allows ``'post'`` (``allowed_methods``, or
  ``list_allowed_methods`` for ``/datapoints/`` and line protocol, ``detail_allowed_methods``
  for ``/stream/<id>/datapoints/``), or everywhere with ``DATASTREAM_WRITES = True``.
* A resource whose ``Meta.authentication`` lets anyone in (tastypie's ``Authentication``,
  the default, alone or inside a ``MultiAuthentication``) takes no writes (403) unless
  ``DATASTREAM_ANONYMOUS_WRITES = True`` or its ``Meta.anonymous_writes = True``.
* InfluxDB clients send ``u``/``p`` query parameters, HTTP Basic credentials (1.x) or
  ``Authorization: Token <token>`` (2.x). For tastypie's ``ApiKeyAuthentication`` they become
  ``Authorization: ApiKey <user>:<key>`` (the password, or the token written
  ``<user>:<key>``); for ``BasicAuthentication`` HTTP Basic credentials. Other
  authentications see the request as it came.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from django.http import HttpRequest
from tastypie.authentication import Authentication, MultiAuthentication
from tastypie.exceptions import ImmediateHttpResponse

from ..conf import datastream_settings
from ..http.responses import error_response, options_response

__all__ = [
    "WRITE_METHODS",
    "allows_anonymous",
    "check_write_method",
    "check_writes_allowed",
    "present_influx_credentials",
    "writes_enabled",
]

#: Methods answered by the write URLs.
WRITE_METHODS = "POST, OPTIONS"


def check_write_method(request: HttpRequest) -> None:
    """Raise ``ImmediateHttpResponse`` unless ``request`` is a POST: 200 to OPTIONS, 405
    otherwise (``Allow: POST, OPTIONS``)."""
    method = (request.method or "").upper()
    if method == "POST":
        return
    if method == "OPTIONS":
        response = options_response()
    else:
        response = error_response(
            f"Method {method!r} not allowed. Allowed methods: {WRITE_METHODS}.", 405
        )
    response["Allow"] = WRITE_METHODS
    if method == "OPTIONS":
        response.content = WRITE_METHODS.encode()
    raise ImmediateHttpResponse(response=response)


def writes_enabled(meta: Any, kind: str) -> bool:
    """Whether the resource of ``meta`` takes writes at its ``kind`` (``list`` or
    ``detail``) URLs."""
    if datastream_settings.WRITES:
        return True
    allowed = getattr(meta, f"{kind}_allowed_methods", None) or ()
    return "post" in allowed


def allows_anonymous(authentication: Any) -> bool:
    """Whether ``authentication`` lets a request without credentials in."""
    if type(authentication) is Authentication:
        return True
    if isinstance(authentication, MultiAuthentication):
        return any(allows_anonymous(backend) for backend in authentication.backends)
    return False


def check_writes_allowed(meta: Any, kind: str) -> None:
    """405 when writes are off for this resource; 403 when its authentication lets anyone in
    and anonymous writes are not allowed."""
    if not writes_enabled(meta, kind):
        response = error_response(
            "Writes are not enabled on this API: allow 'post' in the resource's Meta "
            f"(allowed_methods or {kind}_allowed_methods) or set DATASTREAM_WRITES = True.",
            405,
        )
        response["Allow"] = "OPTIONS"
        raise ImmediateHttpResponse(response=response)
    anonymous = getattr(meta, "anonymous_writes", None)
    if anonymous is None:
        anonymous = datastream_settings.ANONYMOUS_WRITES
    if not anonymous and allows_anonymous(meta.authentication):
        raise ImmediateHttpResponse(
            response=error_response(
                "Anonymous writes are not allowed: this API's authentication lets anyone in. "
                "Give the resource a Meta.authentication that checks credentials (see "
                "docs/http_api.rst, Writing datapoints).",
                403,
            )
        )


def _auth_types(authentication: Any) -> list[str]:
    if isinstance(authentication, MultiAuthentication):
        return [t for backend in authentication.backends for t in _auth_types(backend)]
    return [str(getattr(authentication, "auth_type", "")).lower()]


def _influx_credentials(request: HttpRequest) -> tuple[str, str, str] | None:
    """``(scheme of the Authorization header, user, secret)`` sent the InfluxDB way."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, data = header.partition(" ")
    scheme = scheme.lower()
    data = data.strip()
    if scheme == "token" and data:
        user, separator, secret = data.partition(":")
        return (scheme, user, secret) if separator else (scheme, "", data)
    if scheme == "basic" and data:
        try:
            decoded = base64.b64decode(data, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, _, secret = decoded.partition(":")
        return scheme, user, secret
    user, secret = request.GET.get("u"), request.GET.get("p")
    if user and secret:
        return scheme, user, secret
    return None


def present_influx_credentials(request: HttpRequest, authentication: Any) -> None:
    """Rewrite InfluxDB credentials into the ``Authorization`` header ``authentication``
    (tastypie's ``ApiKeyAuthentication`` or ``BasicAuthentication``) reads."""
    credentials = _influx_credentials(request)
    if credentials is None:
        return
    scheme, user, secret = credentials
    for auth_type in _auth_types(authentication):
        if auth_type == scheme:
            return  # already in the authentication's own form
        if auth_type == "apikey" and user and secret:
            request.META["HTTP_AUTHORIZATION"] = f"ApiKey {user}:{secret}"
            return
        if auth_type == "basic" and user and secret:
            token = base64.b64encode(f"{user}:{secret}".encode()).decode("ascii")
            request.META["HTTP_AUTHORIZATION"] = f"Basic {token}"
            return

