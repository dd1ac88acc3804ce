"""URLs of ``bench/ingest.py``: the writable API of ``tests/ingest_urls.py`` without its
throttle (a benchmark sends more requests than the tests' throttle lets through)."""

from __future__ import annotations

from django.urls import include, path
from ingest_urls import WriterStreams
from tastypie.throttle import BaseThrottle

from django_datastream.urls import DatastreamApi


class BenchStreams(WriterStreams):
    class Meta(WriterStreams.Meta):
        throttle = BaseThrottle()


bench_api = DatastreamApi(api_name="ingest")
bench_api.register(BenchStreams())

urlpatterns = [path("api/", include(bench_api.urls))]
