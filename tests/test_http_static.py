"""Static files of the demo server (DEBUG off, as the demo runs): a path leading out of the
static directories is a 404, never a 500, whichever finder would be asked first; real files are
served (plotly.js from the installed ``plotly`` package through ``PlotlyFinder``)."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from django.contrib.staticfiles import finders
from django.test import override_settings

from django_datastream.demo.server import DemoServer
from django_datastream.demo.staticfinders import PLOTLY_STATIC_PATH, PlotlyFinder, plotly_js_path

TRAVERSALS = [
    "..%2f..%2fetc%2fpasswd",
    "../../etc/passwd",
    "%2e%2e/%2e%2e/etc/passwd",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "datastream/%2e%2e/%2e%2e/%2e%2e/conf.py",
    "datastream/vendor/..%2f..%2f..%2f..%2ftest_project%2fsettings.py",
    "datastream/vendor/plotly.min.js/..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    "..%5c..%5cetc%5cpasswd",
    "%2fetc%2fpasswd",
    "//etc/passwd",
    "a%00b",
    "..",
    "%2e%2e",
]

FINDER_ORDERS = {
    "project": None,  # the test project's STATICFILES_FINDERS
    "plotly first": [
        "django_datastream.demo.staticfinders.PlotlyFinder",
        "django.contrib.staticfiles.finders.FileSystemFinder",
        "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    ],
}


def fetch(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - loopback
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read()


@pytest.fixture(params=list(FINDER_ORDERS))
def demo_server(request: pytest.FixtureRequest) -> Iterator[DemoServer]:
    """The real demo server on a loopback port, DEBUG off."""
    overrides: dict = {"DEBUG": False}
    if FINDER_ORDERS[request.param] is not None:
        overrides["STATICFILES_FINDERS"] = FINDER_ORDERS[request.param]
    with override_settings(**overrides):
        finders.get_finder.cache_clear()
        server = DemoServer(port=0).start()
        try:
            yield server
        finally:
            server.stop()
            finders.get_finder.cache_clear()


def test_traversal_paths_are_404_on_the_demo_server(demo_server):
    for path in TRAVERSALS:
        status, body = fetch(f"{demo_server.url}static/{path}")
        assert status == 404, (path, status, body[:200])
        assert b"root:" not in body and b"SECRET_KEY" not in body


def test_static_files_are_still_served(demo_server):
    status, body = fetch(f"{demo_server.url}static/datastream/js/demo.js")
    assert status == 200 and b"DemoPage" in body
    if plotly_js_path() is not None:
        status, body = fetch(f"{demo_server.url}static/{PLOTLY_STATIC_PATH}")
        assert status == 200 and len(body) > 100_000
    assert fetch(f"{demo_server.url}static/datastream/js/no-such-file.js")[0] == 404


@pytest.mark.parametrize("path", ["../../etc/passwd", "datastream/vendor/../../../conf.py", ".."])
def test_the_plotly_finder_matches_only_plotly_js(path):
    finder = PlotlyFinder()
    assert finder.find(path) == []
    assert finder.find(path, find_all=True) == []
    assert finder.find(f"{PLOTLY_STATIC_PATH}/../{path}") == []
    if finder.source is not None:
        assert finder.find(PLOTLY_STATIC_PATH) == finder.source
        assert finder.find(PLOTLY_STATIC_PATH, find_all=True) == [finder.source]
