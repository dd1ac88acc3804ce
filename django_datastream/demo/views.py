"""The interactive demo page: a menu of streams and one zoomable chart per stream group."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse

__all__ = ["DEFAULT_STREAM_LIST_URL", "demo_page", "stream_list_url"]

DEFAULT_STREAM_LIST_URL = "/api/v1/stream/"


def stream_list_url() -> str:
    """URL of the stream list API, as routed by the project (``/api/v1/stream/`` by default)."""
    for name in ("api_dispatch_list", "django_datastream:api_dispatch_list"):
        try:
            return reverse(name, kwargs={"api_name": "v1", "resource_name": "stream"})
        except NoReverseMatch:
            continue
    return DEFAULT_STREAM_LIST_URL


def demo_page(request: HttpRequest) -> HttpResponse:
    """Render the page; the browser then reads everything from the HTTP API.

    Query parameters: ``poll`` – seconds between live updates (default 5, ``0`` turns live
    updates off).
    """
    try:
        poll = max(0.0, float(request.GET.get("poll", "5")))
    except ValueError:
        poll = 5.0
    config: dict[str, Any] = {
        "streamListUrl": stream_list_url(),
        "pollSeconds": poll,
        "maxBuckets": 300,
        "pageLimit": 1000,
    }
    return render(request, "datastream/demo.html", {"datastream_config": config})
