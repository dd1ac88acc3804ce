"""The demo page view, its static files and the plotly.js finder (no browser needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client, override_settings

import django_datastream.demo
from datastream import Granularity
from django_datastream.demo.staticfinders import PLOTLY_STATIC_PATH, PlotlyFinder, plotly_js_path

STATIC = Path(django_datastream.demo.__file__).parent / "static" / "datastream"


def page_config(response):
    match = re.search(
        rb'<script id="datastream-config" type="application/json">(.*?)</script>',
        response.content,
    )
    assert match, response.content
    return json.loads(match.group(1))


def test_page_renders_with_its_configuration():
    response = Client().get("/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert '<script src="/static/datastream/vendor/plotly.min.js" defer></script>' in html
    assert '<script type="module" src="/static/datastream/js/demo.js"></script>' in html
    assert 'id="ds-menu"' in html and 'id="ds-charts"' in html
    assert page_config(response) == {
        "streamListUrl": "/api/v1/stream/",
        "pollSeconds": 5.0,
        "maxBuckets": 300,
        "pageLimit": 1000,
        "granularities": [
            {"name": "seconds", "key": "s", "seconds": 1},
            {"name": "10seconds", "key": "S", "seconds": 10},
            {"name": "minutes", "key": "m", "seconds": 60},
            {"name": "10minutes", "key": "M", "seconds": 600},
            {"name": "hours", "key": "h", "seconds": 3600},
            {"name": "6hours", "key": "H", "seconds": 21600},
            {"name": "days", "key": "d", "seconds": 86400},
        ],
    }


def test_the_page_takes_its_granularities_from_the_library():
    table = page_config(Client().get("/"))["granularities"]
    assert [(g["name"], g["key"], g["seconds"]) for g in table] == [
        (g.name, g.key, g.seconds) for g in Granularity.values
    ]
    # The JavaScript keeps no copy of the table.
    script = (STATIC / "js" / "granularity.js").read_text()
    assert "86400" not in script and "'10seconds'" not in script


@pytest.mark.parametrize(("query", "poll"), [("poll=0", 0.0), ("poll=1.5", 1.5), ("", 5.0)])
def test_poll_parameter(query, poll):
    assert page_config(Client().get(f"/?{query}"))["pollSeconds"] == poll


@pytest.mark.parametrize("value", ["inf", "1e309", "-inf", "nan", "NaN", "x", "", "-1", "86401"])
def test_poll_must_be_a_finite_number_of_seconds(value):
    response = Client().get("/", {"poll": value})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
    assert b"Invalid poll=" in response.content and b"from 0 (off) to 86400" in response.content


def test_plotly_comes_from_the_installed_package():
    source = plotly_js_path()
    assert source is not None and source.endswith("package_data/plotly.min.js")
    assert Path(source).read_bytes()[:200].find(b"plotly.js") >= 0
    assert finders.find(PLOTLY_STATIC_PATH) == source
    assert finders.find(PLOTLY_STATIC_PATH, find_all=True) == [source]
    assert PlotlyFinder().find("datastream/vendor/other.js") == []
    assert PlotlyFinder().find("datastream/vendor/other.js", find_all=True) == []
    assert PlotlyFinder().check() == []


def test_plotly_static_file_is_served():
    from django.contrib.staticfiles.views import serve
    from django.test import RequestFactory

    request = RequestFactory().get("/static/" + PLOTLY_STATIC_PATH)
    response = serve(request, PLOTLY_STATIC_PATH, insecure=True)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript"
    # Read and close the file itself (response.close() would signal request_finished).
    with response.file_to_stream as stream:
        assert b"plotly" in stream.read(400)


def test_finder_warns_without_plotly(monkeypatch):
    monkeypatch.setattr("django_datastream.demo.staticfinders.plotly_js_path", lambda: None)
    finder = PlotlyFinder()
    assert finder.find(PLOTLY_STATIC_PATH) == []
    assert list(finder.list([])) == []
    (warning,) = finder.check()
    assert warning.id == "datastream.W101"


def test_collectstatic_includes_plotly(tmp_path):
    with override_settings(STATIC_ROOT=str(tmp_path)):
        call_command("collectstatic", interactive=False, verbosity=0)
    assert (tmp_path / PLOTLY_STATIC_PATH).stat().st_size == Path(plotly_js_path()).stat().st_size
    assert (tmp_path / "datastream" / "js" / "demo.js").exists()


def test_no_third_party_code_is_vendored():
    files = [path for path in STATIC.rglob("*") if path.is_file()]
    assert {path.suffix for path in files} <= {".js", ".css"}
    for path in files:
        text = path.read_text()
        assert "Highcharts" not in text and "Highstock" not in text, path
        assert "plotly.js v" not in text, path
        assert len(text) < 40_000, path
    assert not (STATIC / "vendor").exists()


@pytest.mark.parametrize(
    "path", ["django_datastream/conf.py", "datastream/js/nope.js", "datastream/vendor/x.js"]
)
def test_a_missing_static_file_is_not_found(path):
    from django.contrib.staticfiles.views import serve
    from django.http import Http404
    from django.test import RequestFactory

    assert finders.find(path) is None
    assert finders.find(path, find_all=True) == []
    with pytest.raises(Http404):
        serve(RequestFactory().get("/static/" + path), path, insecure=True)


def test_the_demo_server_answers_404_for_a_missing_static_file(demo_store):
    import urllib.error

    from django_datastream.demo.server import DemoServer

    server = DemoServer(port=0).start()
    try:
        with pytest.raises(urllib.error.HTTPError) as raised:
            server.get("static/django_datastream/conf.py")
        assert raised.value.code == 404
        raised.value.close()
        status, body = server.get("static/datastream/js/demo.js")
        assert status == 200 and b"DemoPage" in body
    finally:
        server.stop()
