"""Reading a write's body within the limits: ``DATASTREAM_INGEST_MAX_BODY_SIZE`` bytes as sent
and again once decompressed (a small gzip body may inflate to gigabytes), 413 beyond."""

from __future__ import annotations

import zlib

from django.http import HttpRequest

from .errors import BadBody, TooLarge, UnsupportedEncoding

__all__ = ["read_body"]

_CHUNK = 1 << 16


def read_body(request: HttpRequest, max_size: int) -> bytes:
    """The body of ``request``, decompressed when ``Content-Encoding: gzip``; raises
    :class:`TooLarge` when it (sent or decompressed) is longer than ``max_size`` bytes
    (``0``: no limit), :class:`BadBody` for a broken gzip stream and
    :class:`UnsupportedEncoding` for another encoding."""
    encoding = (request.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding not in ("identity", "gzip", "x-gzip"):
        raise UnsupportedEncoding(
            f"Unsupported Content-Encoding {encoding!r}: send the body as is or gzip it."
        )
    limit = max_size if max_size and max_size > 0 else None
    declared = request.META.get("CONTENT_LENGTH") or ""
    if limit is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    sent = _read_sent(request, limit)
    if encoding == "identity":
        return sent
    return _gunzip(sent, limit)


def _too_large(limit: int) -> TooLarge:
    return TooLarge(
        f"The request body is larger than {limit} bytes (DATASTREAM_INGEST_MAX_BODY_SIZE, "
        "counted after decompression too); send smaller batches."
    )


def _read_sent(request: HttpRequest, limit: int | None) -> bytes:
    # request.read(), not request.body: the body is bounded by this app's own setting, not by
    # DATA_UPLOAD_MAX_MEMORY_SIZE (meant for forms); it is read once either way.
    if hasattr(request, "_body"):
        data = request.body
    else:
        data = request.read() if limit is None else request.read(limit + 1)
    if limit is not None and len(data) > limit:
        raise _too_large(limit)
    return data


def _gunzip(data: bytes, limit: int | None) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    parts: list[bytes] = []
    size = 0
    pending = data
    try:
        while True:
            budget = _CHUNK if limit is None else min(_CHUNK, limit + 1 - size)
            part = inflater.decompress(pending, budget)
            parts.append(part)
            size += len(part)
            if limit is not None and size > limit:
                raise _too_large(limit)
            pending = inflater.unconsumed_tail
            if inflater.eof or (not pending and not part):
                break
        if not inflater.eof:
            raise BadBody("The gzip body is truncated.")
    except zlib.error as error:
        raise BadBody(f"The body is not valid gzip: {error}") from None
    return b"".join(parts)
