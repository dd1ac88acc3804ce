"""The interactive demo page: a menu of streams and one zoomable chart per stream group."""

from __future__ import annotations

import math
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

from datastream.granularity import Granularity

__all__ = [
    "DEFAULT_POLL_SECONDS",
    "DEFAULT_STREAM_LIST_URL",
    "MAX_POLL_SECONDS",
    "demo_page",
    "granularity_table",
    "stream_list_url",
]

DEFAULT_STREAM_LIST_URL = "/api/v1/stream/"
DEFAULT_POLL_SECONDS = 5.0
MAX_POLL_SECONDS = 86400.0


def stream_list_url() -> str:
    """URL of the stream list API, as routed by the project (``/api/v1/stream/`` by default)."""
    for name in ("api_dispatch_list", "django_datastream:api_dispatch_list"):
        try:
            return reverse(name, kwargs={"api_name": "v1", "resource_name": "stream"})
        except NoReverseMatch:
            continue
    return DEFAULT_STREAM_LIST_URL


def granularity_table() -> list[dict[str, Any]]:
    """The granularities, finest first, as the page's JavaScript reads them (the library's
    own table: the page keeps no copy of it)."""
    return [{"name": g.name, "key": g.key, "seconds": g.seconds} for g in Granularity.values]


def parse_poll(text: str) -> float | None:
    """Seconds between live updates from ``?poll=``; ``None`` unless a finite number from 0
    (live updates off) to :data:`MAX_POLL_SECONDS`."""
    try:
        poll = float(text)
    except ValueError:
        return None
    if not math.isfinite(poll) or not 0 <= poll <= MAX_POLL_SECONDS:
        return None
    return poll


def demo_page(request: HttpRequest) -> HttpResponse:
    """Render the page; the browser then reads everything from the HTTP API.

    Query parameters: ``poll`` – seconds between live updates (default 5, ``0`` turns live
    updates off); anything but a number from 0 to 86400 is answered with 400.
    """
    poll = DEFAULT_POLL_SECONDS
    if "poll" in request.GET:
        poll = parse_poll(request.GET["poll"])
        if poll is None:
            return HttpResponseBadRequest(
                f"Invalid poll={request.GET['poll'][:40]!r}: give the seconds between live "
                f"updates, a number from 0 (off) to {MAX_POLL_SECONDS:g}.",
                content_type="text/plain; charset=utf-8",
            )
    config: dict[str, Any] = {
        "streamListUrl": stream_list_url(),
        "pollSeconds": poll,
        "maxBuckets": 300,
        "pageLimit": 1000,
        "granularities": granularity_table(),
    }
    return render(request, "datastream/demo.html", {"datastream_config": config})
