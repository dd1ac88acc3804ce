"""Content negotiation: which format answers a request, decided once per request.

``?format=`` wins, then a JSONP ``callback``, then the ``Accept`` header, then JSON. The
enabled formats are the serializer's (``DATASTREAM_API_FORMATS``). The answer is kept on the
request, so that every step that needs it (the detail pipeline, tastypie's ``create_response``,
the list's validators) reads the same content type without negotiating again.
"""

from __future__ import annotations

from typing import Any

import mimeparse

from ..errors import quote
from ..formats.serializer import CONTENT_TYPES, DatastreamSerializer, is_valid_callback
from ..params.parse import QueryError

__all__ = ["determine_format"]

_FORMAT_OF = {content_type: name for name, content_type in CONTENT_TYPES.items()}
_NEGOTIATED = "_datastream_content_type"


def determine_format(request: Any, serializer: DatastreamSerializer) -> str:
    """The content type answering ``request`` (negotiated on the first call, then kept on the
    request): see :func:`negotiate`."""
    negotiated = getattr(request, _NEGOTIATED, None)
    if negotiated is None:
        negotiated = negotiate(request, serializer)
        setattr(request, _NEGOTIATED, negotiated)
    return negotiated


def negotiate(request: Any, serializer: DatastreamSerializer) -> str:
    """The content type to answer ``request`` with: ``?format=``, else JSONP when a
    ``callback`` is given, else the ``Accept`` header, else JSON. Raises ``QueryError`` for an
    unknown ``format`` (the empty one included) or an invalid JSONP ``callback``: a callback
    is checked whenever JSONP is enabled, whatever format the request asks for."""
    formats = serializer.formats
    if "jsonp" in formats and "callback" in request.GET:
        _check_callback(request.GET["callback"])
    name = request.GET.get("format")
    if name is not None:
        if name not in formats:  # the empty value included
            raise QueryError(
                f"Invalid format: {quote(name)} in parameter 'format'. "
                f"Use one of {', '.join(formats)}."
            )
    elif "callback" in request.GET and "jsonp" in formats:
        name = "jsonp"
    else:
        accept = request.META.get("HTTP_ACCEPT") or "*/*"
        if accept != "*/*":
            try:
                best = mimeparse.best_match(serializer.supported_formats_reversed, accept)
            except Exception:  # noqa: BLE001 - mimeparse raises assorted errors on bad input
                raise QueryError(f"Invalid Accept header: {quote(accept)}.") from None
            name = _FORMAT_OF.get(best or "")
        if not name:
            name = "json" if "json" in formats else formats[0]
    return CONTENT_TYPES[name]


def _check_callback(callback: str) -> None:
    if not is_valid_callback(callback):
        raise QueryError(
            f"Invalid JSONP callback name: {quote(callback)} in parameter 'callback'. "
            "Use a JavaScript identifier such as 'handleData' or 'app.handleData'."
        )
