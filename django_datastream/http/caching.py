"""HTTP caching of API answers: entity tags, conditional requests and ``Cache-Control``.

An answer's ``ETag`` is a digest of everything the answer depends on (the streams' state, the
normalised query, the negotiated format and the settings that shape the body), computed
*before* the body is read from storage, so that a matching ``If-None-Match`` is answered 304
without reading a datapoint. Conditional requests are evaluated by Django's own
:func:`django.utils.cache.get_conditional_response` (RFC 9110 rules: weak comparison for
``If-None-Match``, ``*``, lists of tags).

``Cache-Control``: an answer made only of closed buckets (a downsampled granularity whose
requested range ends at or before the stream's ``downsampled_until``) is
``public, max-age=DATASTREAM_CLOSED_MAX_AGE``; everything else is ``no-cache`` (caches keep it
but revalidate it with its ``ETag`` on every use).
"""

from __future__ import annotations

import datetime
import hashlib
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from django.utils.cache import get_conditional_response, patch_vary_headers

__all__ = [
    "NO_CACHE",
    "apply_cache_headers",
    "body_validators",
    "conditional",
    "finish",
    "make_etag",
    "not_modified",
    "remember",
]

#: ``Cache-Control`` of answers that may change at any time.
NO_CACHE = "no-cache"

#: Request headers every answer varies on (``Accept`` chooses the format).
VARY = ("Accept",)


def _default(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=repr) if isinstance(value, set | frozenset) else list(value)
    name = getattr(value, "name", None)  # granularity classes
    return name if isinstance(name, str) else repr(value)


def make_etag(*parts: Any) -> str:
    """A strong entity tag (quoted) for an answer depending on ``parts`` (JSON-able data,
    datetimes, granularities; dictionaries compared regardless of key order)."""
    try:
        text = orjson.dumps(
            parts, default=_default, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS
        )
    except (orjson.JSONEncodeError, TypeError):  # e.g. integers beyond 64 bits
        text = repr(parts).encode()
    return '"' + hashlib.blake2b(text, digest_size=16).hexdigest() + '"'


def apply_cache_headers(response: HttpResponse, etag: str, control: str) -> HttpResponse:
    """Set ``ETag``, ``Cache-Control`` and ``Vary`` on ``response``."""
    response["ETag"] = etag
    response["Cache-Control"] = control
    patch_vary_headers(response, VARY)
    return response


def not_modified(request: HttpRequest, etag: str, control: str) -> HttpResponse | None:
    """The 304 (or 412 for a failed ``If-Match``) answer to ``request`` if its conditional
    headers say the client's copy is current, else ``None``."""
    if not any(
        name in request.META
        for name in ("HTTP_IF_NONE_MATCH", "HTTP_IF_MATCH", "HTTP_IF_MODIFIED_SINCE")
    ):
        return None
    headers = apply_cache_headers(HttpResponse(), etag, control)
    response = get_conditional_response(request, etag=etag, response=headers)
    return None if response is headers else response


def conditional(request: HttpRequest, parts: tuple[Any, ...], control: str) -> HttpResponse | None:
    """Remember the tag of an answer depending on ``parts`` (see :func:`make_etag`) and its
    ``Cache-Control``; the 304 (or 412) answer if the client's copy is current."""
    etag = make_etag(*parts)
    remember(request, etag, control)
    return not_modified(request, etag, control)


# In the views ---------------------------------------------------------------------------------

_VALIDATORS_ATTRIBUTE = "_datastream_validators"


def remember(request: HttpRequest, etag: str, control: str) -> None:
    """Keep the answer's tag and ``Cache-Control`` for :func:`finish`."""
    setattr(request, _VALIDATORS_ATTRIBUTE, (etag, control))


def finish(request: HttpRequest, response: HttpResponse, replace_control: bool = True) -> None:
    """Put the remembered tag (and, with ``replace_control``, ``Cache-Control``) on a
    successful ``response``."""
    validators = getattr(request, _VALIDATORS_ATTRIBUTE, None)
    if validators is None or not 200 <= response.status_code < 300:
        return
    etag, control = validators
    response["ETag"] = etag
    if replace_control:
        response["Cache-Control"] = control
    patch_vary_headers(response, VARY)


def body_validators(request: HttpRequest, response: HttpResponse) -> HttpResponse | None:
    """Remember the tag of a successful list answer, a digest of its body (the page, its
    format and the request's parameters are all in it); the 304 (or 412) answer if the
    client's copy is current. A page of streams is small: it is made before it is compared."""
    if response.status_code != 200 or response.streaming:
        return None
    etag = '"' + hashlib.blake2b(response.content, digest_size=16).hexdigest() + '"'
    remember(request, etag, NO_CACHE)
    return not_modified(request, etag, NO_CACHE)
