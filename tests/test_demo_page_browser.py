"""The demo page in headless Debian Chromium, served by a real threaded server on loopback.

The page must load without console errors, draw every demo stream, ask for finer data when
zoomed in, follow new data live, and list streams it cannot chart.
"""

from __future__ import annotations

import math
import os
import random
import re
import shutil
import time
import urllib.parse
from pathlib import Path

import pytest
from django.test import override_settings

from datastream import Granularity

pytestmark = [pytest.mark.browser, pytest.mark.slow]

MIN = 60 * 1000


class PageWatch:
    """A page with its console errors and API requests recorded."""

    def __init__(self, browser):
        self.page = browser.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on(
            "console",
            lambda message: self.errors.append(message.text) if message.type == "error" else None,
        )
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.on("request", lambda request: self.requests.append(request.url))

    def api_queries(self, since: int = 0) -> list[dict[str, list[str]]]:
        """Query strings of the datapoint requests made since request number ``since``."""
        found = []
        for url in self.requests[since:]:
            parsed = urllib.parse.urlsplit(url)
            if (
                parsed.path.startswith("/api/v1/stream/")
                and parsed.path != "/api/v1/stream/"
                and not parsed.path.endswith("/live/")
            ):
                found.append(urllib.parse.parse_qs(parsed.query))
        return found

    def charts(self) -> list[dict]:
        return self.page.evaluate(
            """() => [...document.querySelectorAll('.ds-chart')].map((chart) => {
                const gd = chart.querySelector('.ds-plot');
                return {
                  title: chart.querySelector('.ds-chart-title').textContent,
                  granularity: chart.dataset.granularity,
                  traces: (gd.data || []).map((t) => ({name: t.name, type: t.type,
                    points: t.x.length, visible: t.visible,
                    lastX: t.x.length ? t.x[t.x.length - 1] : null})),
                  drawnPaths: [...gd.querySelectorAll('.scatterlayer path.js-line, '
                    + '.scatterlayer path.js-fill, .barlayer path')]
                    .filter((p) => (p.getAttribute('d') || '').length > 20).length,
                  status: chart.querySelector('.ds-status').textContent,
                };
            })"""
        )

    def zoom(self, chart_index: int, minutes: float) -> None:
        """Zoom a chart to the last ``minutes`` of its view, as a drag would (plotly_relayout)."""
        self.page.evaluate(
            """([index, width]) => {
                const gd = document.querySelectorAll('.ds-plot')[index];
                const end = window.datastreamDemo.view[1];
                return Plotly.relayout(gd, {'xaxis.range': [end - width, end]});
            }""",
            [chart_index, minutes * MIN],
        )

    def wait_for_granularity(self, name: str) -> None:
        self.page.wait_for_function(
            """(name) => [...document.querySelectorAll('.ds-chart')]
                .every((chart) => chart.dataset.granularity === name)""",
            arg=name,
            timeout=20000,
        )


def screenshot(page, tmp_path: Path, name: str) -> Path:
    """Save a full-page screenshot under the test's tmp_path (and a copy for people to look at
    under ``$DATASTREAM_SCREENSHOT_DIR`` when that is set)."""
    path = tmp_path / name
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 10_000
    keep = os.environ.get("DATASTREAM_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / name)
    return path


def test_demo_page_draws_zooms_and_follows_live_data(
    chromium, live_server, demo_store, demo_streams, tmp_path
):
    watch = PageWatch(chromium)
    page = watch.page
    page.set_viewport_size({"width": 420, "height": 1400})  # charts about 270 px wide
    with override_settings(DATASTREAM_LIVE_POLL_INTERVAL=0.1):
        page.goto(live_server.url + "/?poll=1")
        page.wait_for_selector("body[data-state=ready]", timeout=30000)
        check_page(watch, tmp_path, demo_store, demo_streams)


def check_page(watch, tmp_path, demo_store, demo_streams):
    page = watch.page
    # The menu lists every stream with its tags.
    menu = page.locator("#ds-menu .ds-stream")
    assert menu.count() == 3
    assert "unit_description" in menu.first.inner_text()
    assert "random, domain: 0,10" in menu.first.inner_text()

    # One chart per demo stream, each with a mean line inside a drawn min/max band, and the
    # open bucket drawn apart.
    charts = watch.charts()
    assert [chart["title"] for chart in charts] == ["Stream 0", "Stream 1", "Stream 2"]
    for chart in charts:
        title = chart["title"]
        names = [trace["name"] for trace in chart["traces"]]
        assert names == [
            f"{title} min–max",  # the band (its outline), then min and max for the tooltip
            f"{title} min",
            f"{title} max",
            title,
            f"{title} (open bucket)",
        ]
        assert all(trace["points"] >= 20 for trace in chart["traces"][:4])
        assert chart["traces"][4]["points"] == 1  # the minute of the newest datapoint
        assert chart["drawnPaths"] >= 2
        # An hour on ~270 pixels: the server picks minutes (61 buckets; 10seconds: 361).
        assert chart["granularity"] == "minutes"
    # One request per chart (the stream list, then one each: the view is the whole history),
    # chart-native, and no request twice.
    initial = watch.api_queries()
    assert len(initial) == 3
    for query in initial:
        assert "granularity" not in query and "limit" not in query
        assert 200 <= int(query["max_points"][0]) <= 350
        assert query["shape"] == ["columns"] and query["time_format"] == ["epoch_ms"]
        assert query["open_bucket"] == ["1"]
    assert_no_duplicates(watch)

    # Range selector buttons.
    buttons = page.eval_on_selector_all(
        "#ds-chart-0 .rangeselector .button text", "texts => texts.map((t) => t.textContent)"
    )
    assert buttons == ["hour", "day", "week", "all"]

    # Zooming in: one request per (synchronised) chart, raw datapoints thinned on the server.
    before = len(watch.requests)
    watch.zoom(0, 10)
    watch.wait_for_granularity("seconds")
    zoomed = watch.api_queries(before)
    assert len(zoomed) == 3
    assert all(q["thin"] == ["minmaxlttb"] and "start" in q for q in zoomed)
    status = watch.charts()[0]["status"]
    match = re.fullmatch(r"Stream 0: seconds, (\d+) points", status)
    assert match, status
    assert 100 <= int(match.group(1)) <= 140  # eleven minutes every 5 s, none thinned away
    screenshot(page, tmp_path, "demo-page-zoomed.png")
    assert_no_duplicates(watch)

    # The client follows meta.next: no datapoint is left out when a response has pages.
    before = len(watch.requests)
    paging = page.evaluate(
        """async () => {
            const api = await import('/static/datastream/js/api.js');
            const client = new api.DatastreamClient('/api/v1/stream/', 100);
            const [stream] = await client.listStreams();
            const before = client.requests;
            const points = await client.datapoints(stream, {granularity: 'seconds'});
            return {points: points.length, requests: client.requests - before};
        }"""
    )
    assert paging == {"points": 721, "requests": 8}
    del watch.requests[before:]  # the test's own requests, not the page's

    # Live: new datapoints arrive over Server-Sent Events, no request is made for them.
    from django_datastream.demo.generator import DummyStreams
    from django_datastream.demo.streamtypes import parse_types

    # One live connection per chart at the shown granularity: minutes, then seconds after the
    # zoom (the minute feeds were closed).
    live = [url for url in watch.requests if "/live/" in url]
    assert len(live) == 6
    assert all("granularity=minutes" in url and "open_bucket=1" in url for url in live[:3])
    assert all("granularity=seconds" in url for url in live[3:])
    feeds = page.evaluate(
        "() => window.datastreamDemo.charts.map((chart) => [...chart.feeds.values()]"
        ".map((feed) => feed.source.readyState))"
    )
    assert feeds == [[1], [1], [1]]  # EventSource.OPEN
    last_x = max(trace["lastX"] or 0 for trace in watch.charts()[0]["traces"])
    before = len(watch.requests)
    time.sleep(1.1)
    dummy = DummyStreams(demo_store, parse_types("int(0,10),float(-2,2),float(0,100)"), 5)
    dummy.stream_ids = list(demo_streams)
    dummy.append_now()
    newest = demo_store.get_tags(demo_streams[0])["latest_datapoint"]
    page.wait_for_function(
        """(newest) => document.querySelector('.ds-plot').data
            .some((t) => t.x.length && t.x[t.x.length - 1] >= newest)""",
        arg=newest.timestamp() * 1000,
        timeout=20000,
    )
    assert newest.timestamp() * 1000 > last_x
    assert watch.api_queries(before) == []

    # Back to everything: the "all" button; the first view's data is reused, no request.
    page.locator("#ds-chart-0 .rangeselector .button").nth(3).click()
    watch.wait_for_granularity("minutes")
    assert watch.errors == []
    status = page.locator("#ds-page-status").inner_text()
    assert "3 streams in 3 charts" in status and "Server-Sent Events" in status
    assert not page.locator(".ds-error").count()
    assert_no_duplicates(watch)
    screenshot(page, tmp_path, "demo-page.png")
    page.close()


def assert_no_duplicates(watch: PageWatch) -> None:
    """No API request for data was made twice (live connections are not such requests)."""
    api = [url for url in watch.requests if "/api/" in url and "/live/" not in url]
    repeated = {url for url in api if api.count(url) > 1}
    assert not repeated, repeated


def test_client_rules(chromium, live_server, demo_store):
    """Granularity choice, range rounding and axis rules of the JS client (bugs J1-J5)."""
    watch = PageWatch(chromium)
    page = watch.page
    page.goto(live_server.url + "/?poll=0")
    page.wait_for_selector("body[data-state=ready]", timeout=30000)
    result = page.evaluate(
        """async () => {
            const g = await import('/static/datastream/js/granularity.js');
            const chart = await import('/static/datastream/js/chart.js');
            const streams = await import('/static/datastream/js/streams.js');
            const data = await import('/static/datastream/js/chartdata.js');
            const pick = (seconds, highest = 'seconds') =>
              g.chooseGranularity(seconds, g.granularity(highest), 300).name;
            const line = (min, max, unit) => ({tags: {unit, visualization: {type: 'line',
              minimum: min, maximum: max}}, value_type: 'numeric',
              value_downsamplers: ['mean', 'min', 'max', 'sum', 'count']});
            const make = (min, max, unit) => {
              const stream = line(min, max, unit);
              stream.view = streams.describe(stream);
              return stream;
            };
            const a = make(0, 10, 'V');
            const b = make(-2, 100, 'V');
            return {
              day: pick(86400), twoHours: pick(7200), fiveMinutes: pick(300),
              year: pick(365 * 86400), decade: pick(3650 * 86400),
              notFinerThanHighest: pick(60, 'minutes'),
              floor: g.floorTo(1000, g.granularity('minutes')),
              ceil: g.ceilTo(1001, g.granularity('10minutes')),
              finerOfHighest: g.finer(g.granularity('minutes'), g.granularity('minutes')),
              sharedAxis: chart.StreamChart.prototype.axisRange.call(null, [a, b]),
              openAxis: chart.StreamChart.prototype.axisRange.call(null, [a, make(null, 5)]),
              noEnd: chart.extremes({earliest_datapoint: '2020-01-01T00:00:00Z',
                latest_datapoint: null}),
              unitTitle: streams.axisTitle({tags: {unit_description: 'temperature',
                visualization: {unit: 'C'}}}),
              unitTag: streams.unitOf({tags: {unit: 'K'}}),
              plotlyTime: chart.toMs('2020-01-01 00:00:30.5'),
              window: (() => {
                const stream = {earliest_datapoint: '2020-01-01T00:00:00Z',
                  latest_datapoint: '2020-01-10T00:00:00Z', highest_granularity: 'seconds'};
                const day = [Date.UTC(2020, 0, 3, 0, 7, 3), Date.UTC(2020, 0, 4, 0, 7, 3)];
                const found = chart.StreamChart.prototype.windowFor.call({}, stream, day, 300);
                const last = chart.StreamChart.prototype.windowFor.call({}, stream,
                  [Date.UTC(2020, 0, 9, 12), Date.UTC(2020, 0, 10)], 300);
                return {from: found.from, to: found.to, width: found.width,
                  start: day[0] / 1000, end: day[1] / 1000, lastTo: last.to};
              })(),
              rawRange: [data.isRawRange(600, g.granularity('seconds'), 300),
                data.isRawRange(7200, g.granularity('seconds'), 300),
                data.isRawRange(86400 * 365, g.granularity('days'), 300)],
              groups: streams.groupStreams([a, b]).length,
              withGroups: (() => {
                const tagged = (title, visualization) => {
                  const stream = {id: title, tags: {title, visualization},
                    value_type: visualization.type === 'event' ? 'nominal' : 'numeric',
                    value_downsamplers: ['mean', 'min', 'max', 'count']};
                  stream.view = streams.describe(stream);
                  return stream;
                };
                const x = tagged('x', {type: 'line', with: {title: 'y'}});
                const y = tagged('y', {type: 'line'});
                const z = tagged('z', {type: 'line', minimum: 0});
                const alarm = tagged('alarm', {type: 'event', with: {title: 'x'}});
                return streams.groupStreams([x, y, z, alarm])
                  .map((group) => group.map((stream) => stream.id));
              })(),
              unsupported: streams.describe({tags: {visualization: {type: 'pie'}},
                value_type: 'numeric', value_downsamplers: []}),
            };
        }"""
    )
    assert result["day"] == "10minutes"
    assert result["twoHours"] == "minutes"
    assert result["fiveMinutes"] == "seconds"
    assert result["year"] == "days"
    assert result["decade"] == "days"
    assert result["notFinerThanHighest"] == "minutes"
    assert result["floor"] == 960
    assert result["ceil"] == 1200
    assert result["finerOfHighest"] is None
    # J3: a shared axis spans the smallest minimum and the LARGEST maximum (4 % padding).
    low, high = result["sharedAxis"]
    assert low < -2 and high > 100 and high < 105
    assert result["openAxis"] is None
    # J1: an unknown end does not discard the known start.
    assert result["noEnd"] == [1577836800, None]
    # J5: one unit rule for axis titles and grouping.
    assert result["unitTitle"] == "temperature [C]"
    assert result["unitTag"] == "K"
    assert result["plotlyTime"] == 1577836830500
    # J2: a view asks for 10 % more on each side, with as many datapoints as pixels over the
    # view (the server picks the granularity); a view reaching the newest data has no end.
    window = result["window"]
    assert window["from"] == window["start"] - 8640 and window["to"] == window["end"] + 8640
    assert window["width"] == 360
    assert window["lastTo"] is None
    # Raw ranges (thinned on the server): 10 minutes on 300 pixels, not two hours; days always.
    assert result["rawRange"] == [True, False, True]
    assert result["groups"] == 2
    # visualization.with: x declares it belongs with y; the event follows x into its chart.
    assert result["withGroups"] == [["x", "y", "alarm"], ["z"]]
    assert result["unsupported"]["chartable"] is False
    assert watch.errors == []
    page.close()


def test_nominal_graph_and_unchartable_streams_are_listed(
    chromium, live_server, demo_store, tmp_path
):
    from django_datastream.demo.generator import DummyStreams
    from django_datastream.demo.streamtypes import parse_types
    from django_datastream.demo.timespan import parse_span

    dummy = DummyStreams(
        demo_store, parse_types("int(0,10),enum(on,off),graph(4,5)"), 5, rng=random.Random(3)
    )
    dummy.ensure()
    dummy.backfill(dummy.plan(parse_span("30m")))
    odd = demo_store.ensure_stream(
        {"title": "Odd one"}, {"visualization": {"type": "pie"}}, ["mean"], Granularity.Seconds
    )
    demo_store.append(odd, 1)
    with_unit = demo_store.ensure_stream(
        {"title": "Untagged"}, {"unit": "W"}, ["mean", "min", "max"], Granularity.Seconds
    )
    demo_store.append(with_unit, 5)

    watch = PageWatch(chromium)
    page = watch.page
    page.set_viewport_size({"width": 420, "height": 2400})  # 30 minutes: buckets, not raw
    page.goto(live_server.url + "/?poll=0")
    page.wait_for_selector("body[data-state=ready]", timeout=30000)
    items = page.locator("#ds-menu .ds-stream")
    assert items.count() == 5
    unchartable = page.locator("#ds-menu .ds-not-chartable")
    assert unchartable.count() == 1
    assert "Odd one" in unchartable.inner_text()
    assert "Not chartable: visualization type 'pie' is not supported." in unchartable.inner_text()
    assert "Hidden at first" in items.nth(2).inner_text()

    charts = {chart["title"]: chart for chart in watch.charts()}
    assert set(charts) == {"Stream 0", "Stream 1", "Stream 2", "Untagged"}
    # The enum stream: counts per bucket as bars when zoomed out.
    (enum_trace,) = charts["Stream 1"]["traces"]
    assert enum_trace["type"] == "bar" and enum_trace["points"] > 10
    assert charts["Stream 1"]["drawnPaths"] > 10
    # The graph stream: datapoint counts, hidden until its legend entry is clicked.
    (graph_trace,) = charts["Stream 2"]["traces"]
    assert graph_trace["type"] == "bar" and graph_trace["visible"] == "legendonly"
    # A stream without a visualization tag still gets a line.
    assert [t["type"] for t in charts["Untagged"]["traces"]] == ["scatter"] * 5

    # Zoomed in to raw data, the enum stream shows its values.
    watch.zoom(1, 3)
    page.wait_for_function(
        """() => document.querySelectorAll('.ds-plot')[1].data[0].type === 'scatter'"""
    )
    values = page.evaluate("() => document.querySelectorAll('.ds-plot')[1].data[0].y")
    assert set(values) <= {"on", "off"} and len(values) > 10
    assert watch.errors == []
    screenshot(page, tmp_path, "demo-page-types.png")
    page.close()


def gappy_stream(store, minutes: int = 60, gap: tuple[int, int] = (12, 6)) -> tuple[int, int]:
    """A numeric stream "Gappy": a datapoint every 5 s over the last ``minutes`` minutes, none
    from ``gap[0]`` to ``gap[1]`` minutes ago; downsampled. Returns the gap in epoch ms."""
    import datetime

    from django_datastream.demo.generator import utc_now

    now = utc_now()
    rng = random.Random(7)
    stream = store.ensure_stream(
        {"title": "Gappy"},
        {"visualization": {"type": "line", "minimum": 0, "maximum": 100}},
        ["mean", "min", "max", "count"],
        Granularity.Seconds,
    )
    first = now - datetime.timedelta(minutes=minutes)
    gap_start = now - datetime.timedelta(minutes=gap[0])
    gap_end = now - datetime.timedelta(minutes=gap[1])
    batch = []
    for index in range(minutes * 12 + 1):
        timestamp = first + datetime.timedelta(seconds=5 * index)
        if gap_start <= timestamp < gap_end:
            continue
        value = 50 + 20 * math.sin(index / 40) + rng.uniform(-10, 10)
        batch.append({"stream_id": stream, "value": round(value, 2), "timestamp": timestamp})
    store.append_multiple(batch)
    store.downsample_streams(until=now)
    return int(gap_start.timestamp() * 1000), int(gap_end.timestamp() * 1000)


#: For the lines (by trace name) and the filled band ("band", whichever trace draws it) of the
#: first chart (not its range slider): the x extent (epoch ms) of each piece of their SVG
#: paths (a piece starts with a move, "M").
DRAWN_PIECES = r"""() => {
    const gd = document.querySelector('#ds-chart-0 .ds-plot');
    const xa = gd._fullLayout.xaxis;
    const result = {};
    for (const group of gd.querySelectorAll('.cartesianlayer .scatterlayer .trace')) {
      const name = group.__data__[0].trace.name;
      for (const path of group.querySelectorAll('path.js-line, path.js-fill')) {
        const d = path.getAttribute('d') || '';
        const pieces = d.split('M').filter((piece) => piece.trim()).map((piece) => {
          // Plotly draws straight segments: "x,yLx,yL…" (closed with "Z" for fills).
          if (/[^-\d.,eLZ ]/.test(piece)) throw new Error(`unexpected SVG path: ${piece}`);
          const xs = piece.split(/[LZ]/).filter((pair) => pair.trim())
            .map((pair) => xa.p2c(parseFloat(pair.split(',')[0])));
          return [Math.min(...xs), Math.max(...xs)];
        });
        const key = path.classList.contains('js-fill') ? 'band' : name;
        result[key] = (result[key] || []).concat(pieces);
      }
    }
    return result;
}"""


def assert_gap_drawn(watch: PageWatch, gap: tuple[int, int], drawn: list[str]) -> None:
    """The lines and bands named in ``drawn`` have pieces on both sides of ``gap`` (epoch ms),
    and none of their pieces crosses the middle of the gap (no line, no band, no wedge)."""
    pieces = watch.page.evaluate(DRAWN_PIECES)
    middle = (gap[0] + gap[1]) / 2
    for key in drawn:
        assert key in pieces, (key, sorted(pieces))
        # (A second of slack: pixels are rounded.)
        assert any(high <= gap[0] + 1000 for low, high in pieces[key]), (key, pieces[key])
        assert any(low >= gap[1] - 1000 for low, high in pieces[key]), (key, pieces[key])
        crossing = [(low, high) for low, high in pieces[key] if low < middle < high]
        assert not crossing, (key, crossing, gap)


def hover_texts(watch: PageWatch, fraction: float) -> list[str]:
    """The tooltip's lines when the mouse is ``fraction`` of the way across the first chart."""
    page = watch.page
    box = page.locator("#ds-chart-0 .nsewdrag").first.bounding_box()
    page.mouse.move(box["x"] + 5, box["y"] + 5)
    page.mouse.move(box["x"] + box["width"] * fraction, box["y"] + box["height"] / 2)
    page.wait_for_function(
        "() => document.querySelectorAll('#ds-chart-0 .hoverlayer text').length > 1"
    )
    return page.evaluate(
        "() => [...document.querySelectorAll('#ds-chart-0 .hoverlayer text')]"
        ".map((text) => text.textContent)"
    )


def test_gaps_break_lines_and_bands_and_raw_tooltips_show_one_value(
    chromium, live_server, demo_store, tmp_path
):
    """Issue 15: a gap in the data is a gap in the mean line AND in the min/max band, in
    buckets and in raw datapoints; a raw datapoint's tooltip shows its one value once."""
    gap = gappy_stream(demo_store)
    watch = PageWatch(chromium)
    page = watch.page
    page.set_viewport_size({"width": 420, "height": 900})  # charts about 270 px wide
    page.goto(live_server.url + "/?poll=0")
    page.wait_for_selector("body[data-state=ready]", timeout=30000)

    # The hour in minutes: no minute bucket in the gap, so neither the line nor the band
    # goes across it.
    watch.wait_for_granularity("minutes")
    assert_gap_drawn(watch, gap, ["Gappy", "band"])
    # A bucket's tooltip: its minimum, maximum and mean.
    texts = hover_texts(watch, 0.3)
    labels = sorted(text.split(":")[0] for text in texts[1:])
    assert labels == ["Gappy max", "Gappy mean", "Gappy min"], texts

    # Zoomed into the last 15 minutes: raw datapoints (every 5 s), the gap still a gap.
    watch.zoom(0, 15)
    watch.wait_for_granularity("seconds")
    assert_gap_drawn(watch, gap, ["Gappy"])
    screenshot(page, tmp_path, "demo-page-gap.png")
    # A raw datapoint has one value: the tooltip shows it once, as the value.
    texts = hover_texts(watch, 0.9)
    assert len(texts) == 2, texts
    assert re.fullmatch(r"Gappy value: \d+\.\d\d", texts[1]), texts
    assert watch.errors == []
    page.close()


def test_gap_points(chromium, live_server, demo_store):
    """Where the page breaks lines: a missing bucket, a raw jump well above the typical
    spacing; not where the overview's coarser buckets meet the finer detail. Lone points
    between gaps get markers."""
    watch = PageWatch(chromium)
    page = watch.page
    page.goto(live_server.url + "/?poll=0")
    page.wait_for_selector("body[data-state=ready]", timeout=30000)
    result = page.evaluate(
        """async () => {
            const g = await import('/static/datastream/js/granularity.js');
            const series = await import('/static/datastream/js/series.js');
            const chart = await import('/static/datastream/js/chart.js');
            const buckets = (name, starts) => {
              const gran = g.granularity(name);
              return {g: gran, raw: false, points: starts.map((start) => ({
                t: (start + gran.seconds / 2) * 1000, g: gran, raw: false, bucketStart: start,
                bucketEnd: start + gran.seconds, m: 1, l: 0, u: 2, c: 1}))};
            };
            const raw = (times) => ({g: g.granularity('seconds'), raw: true,
              points: times.map((t) => ({t: t * 1000, raw: true, bucketStart: t,
                bucketEnd: t + 1, m: 1, l: 1, u: 1, c: 1}))});
            const gaps = (overview, detail) => series.mergeWithGaps(overview, detail)
              .map((p) => (p.gap ? null : (p.bucketStart ?? p.t / 1000)));
            return {
              missingBucket: gaps(null, buckets('minutes', [0, 60, 120, 300, 360])),
              junction: gaps(buckets('10minutes', [0, 600, 1200, 1800, 2400]),
                             buckets('minutes', [1500, 1560, 1620, 1680, 1740, 1800, 1860,
                                                 1920, 1980, 2040])),
              rawJump: gaps(null, raw([0, 5, 10, 15, 20, 80, 85, 90])),
              thinned: gaps(null, raw([0, 5, 15, 20, 35, 40, 45, 55])),
              band: chart.bandOutline(series.mergeWithGaps(null,
                buckets('minutes', [0, 60, 180])), 'l', 'u'),
              lone: chart.meanMarkers(series.mergeWithGaps(null,
                buckets('minutes', [0, 300, 360, 720])), false, '#000'),
              few: chart.meanMarkers(series.mergeWithGaps(null,
                buckets('minutes', [0, 60])), false, '#000'),
            };
        }"""
    )
    assert result["missingBucket"] == [0, 60, 120, None, None, 300, 360]
    assert None not in result["junction"]
    assert result["rawJump"] == [0, 5, 10, 15, 20, None, None, 80, 85, 90]
    assert None not in result["thinned"]
    # One closed outline per run of buckets (maxima forward, minima back), nulls between.
    assert result["band"] == {
        "x": [30000, 90000, 90000, 30000, None, 210000, 210000],
        "y": [2, 2, 0, 0, None, 2, 0],
    }
    # A lone bucket between gaps, which a line cannot show, gets a marker.
    assert result["lone"]["mode"] == "lines+markers"
    assert result["lone"]["marker"]["size"] == [4, 0, 0, 0, 0, 0, 0, 4]
    assert result["few"]["mode"] == "lines"
    assert watch.errors == []
    page.close()


def test_streams_without_data_are_drawn_once_data_arrives(chromium, live_server, demo_store):
    from django_datastream.demo.generator import DummyStreams
    from django_datastream.demo.streamtypes import parse_types
    from django_datastream.demo.timespan import parse_span

    dummy = DummyStreams(demo_store, parse_types("int(0,10),float(0,1)"), 5)
    dummy.ensure()
    watch = PageWatch(chromium)
    page = watch.page
    page.goto(live_server.url + "/?poll=1")
    page.wait_for_selector("body[data-state=ready]", timeout=30000)
    statuses = [chart["status"] for chart in watch.charts()]
    assert statuses == ["No datapoints yet; waiting for data…"] * 2
    dummy.backfill(dummy.plan(parse_span("10m")))
    watch.wait_for_granularity("seconds")  # ten minutes: 121 raw datapoints fit the width
    assert all(chart["drawnPaths"] >= 2 for chart in watch.charts())
    assert watch.errors == []
    page.close()


def test_toolbar_legend_markers_and_open_bucket(
    chromium, live_server, demo_store, demo_streams, tmp_path
):
    """The toolbar never covers the legend, markers follow the points in the visible window,
    the open bucket's marker is not clipped, and the granularities come from the server."""
    watch = PageWatch(chromium)
    page = watch.page
    page.goto(live_server.url + "/?poll=0")
    page.wait_for_selector("body[data-state=ready]", timeout=30000)

    page.hover("#ds-chart-0 .ds-plot")
    boxes = page.evaluate(
        """() => ['.modebar', '.legend'].map((selector) => {
            const box = document.querySelector('#ds-chart-0 ' + selector).getBoundingClientRect();
            return [box.left, box.top, box.right, box.bottom];
        })"""
    )
    (toolbar, legend) = boxes
    assert toolbar[2] > toolbar[0] and legend[2] > legend[0]
    overlap = not (
        toolbar[2] <= legend[0]
        or legend[2] <= toolbar[0]
        or toolbar[3] <= legend[1]
        or legend[3] <= toolbar[1]
    )
    assert not overlap, (toolbar, legend)

    def mean_trace() -> dict:
        return page.evaluate(
            """() => {
                const gd = document.querySelector('#ds-chart-0 .ds-plot');
                const [from, to] = window.datastreamDemo.view;
                const mean = gd.data.find((t) => t.name === 'Stream 0');
                return {mode: mean.mode, total: mean.x.length,
                        visible: mean.x.filter((x) => x >= from && x <= to).length};
            }"""
        )

    # Four minutes on screen (~48 points at 5 s) out of a history of well over 60 points.
    watch.zoom(0, 4)
    page.wait_for_function(
        """() => {
            const gd = document.querySelector('#ds-chart-0 .ds-plot');
            const [from, to] = window.datastreamDemo.view;
            const mean = gd.data.find((t) => t.name === 'Stream 0');
            return mean.mode === 'lines+markers'
                && mean.x.filter((x) => x >= from && x <= to).length <= 60;
        }""",
        timeout=20000,
    )
    zoomed = mean_trace()
    assert zoomed["visible"] <= 60 < zoomed["total"]
    assert zoomed["mode"] == "lines+markers"
    # Fifty minutes: the whole history loaded first serves it (no request), lines only.
    page.evaluate(
        """() => {
            const g = window.datastreamDemo;
            const end = g.view[1];
            return g.setView([end - 50 * 60 * 1000, end]);
        }"""
    )
    wide = mean_trace()
    assert wide["visible"] > 60 and wide["mode"] == "lines"

    # The open bucket's marker is drawn unclipped at the right edge; lines are clipped. On a
    # narrow page the hour is shown in minutes, the newest of them open.
    page.set_viewport_size({"width": 420, "height": 1400})
    page.wait_for_function("() => document.querySelector('.ds-plot').clientWidth < 400")
    page.evaluate("() => window.datastreamDemo.setView(window.datastreamDemo.extent())")
    watch.wait_for_granularity("minutes")
    clips = page.evaluate(
        """() => {
            const gd = document.querySelector('#ds-chart-0 .ds-plot');
            const groups = [...gd.querySelectorAll('.cartesianlayer .scatterlayer .trace')];
            return gd.data.map((trace, i) => ({name: trace.name, cliponaxis: trace.cliponaxis,
              clipped: Boolean(groups[i].querySelector('.points')
                && groups[i].querySelector('.points').getAttribute('clip-path'))}));
        }"""
    )
    newest = [c for c in clips if "open bucket" in c["name"]]
    assert newest and all(c["cliponaxis"] is False and not c["clipped"] for c in newest)
    assert any(c["name"] == "Stream 0" and c["clipped"] for c in clips)

    # The JS granularity table is the server's.
    table = page.evaluate(
        """async () => (await import('/static/datastream/js/granularity.js')).GRANULARITIES
            .map((g) => [g.name, g.key, g.seconds])"""
    )
    assert table == [[g.name, g.key, g.seconds] for g in Granularity.values]
    screenshot(page, tmp_path, "demo-page-markers.png")
    assert watch.errors == []
    page.close()
