"""Cursor paging: signed, query-bound tokens, and positions that stay exact while data is
appended (library level on every backend; the HTTP tests are below)."""

from __future__ import annotations

import functools
import itertools
import string
import threading
import time
import urllib.parse

import orjson
import pytest
from django.conf import settings
from django.core import signing
from django.http import QueryDict
from django.test import Client, override_settings
from helpers import G, at, new_stream, seconds
from plugins.django_api import LIST_URI

from datastream import Stream
from datastream.granularity import to_seconds
from django_datastream.detail.cursors import (
    DatapointPosition,
    InvalidCursor,
    Window,
    continue_datapoints,
    decode_cursor,
    encode_cursor,
    position_after,
    query_digest,
)
from django_datastream.detail.pagination import detail_scope, page_position
from django_datastream.params.parse import parse_detail_query

T0 = at(2020, 1, 1)


# Tokens ---------------------------------------------------------------------------------------


def test_a_cursor_round_trips_and_is_url_safe():
    token = encode_cursor("datapoints", {"stream": "a", "g": "seconds"}, [5, 1, 0])
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~")
    assert decode_cursor(token, "datapoints", {"g": "seconds", "stream": "a"}) == [5, 1, 0]


def test_a_tampered_cursor_is_refused():
    token = encode_cursor("datapoints", {"stream": "a"}, [5, 1, 0])
    for bad in (token[:-1] + ("A" if token[-1] != "A" else "B"), "x" + token, "", "~", "a~b"):
        with pytest.raises(InvalidCursor, match="not made by this server"):
            decode_cursor(bad, "datapoints", {"stream": "a"}, "cu")
    with pytest.raises(InvalidCursor, match="too long"):
        decode_cursor("a" * 600, "datapoints", {"stream": "a"})


def test_a_cursor_of_another_query_kind_or_server_is_refused():
    token = encode_cursor("datapoints", {"stream": "a"}, [5, 1, 0])
    with pytest.raises(InvalidCursor, match="belongs to another query"):
        decode_cursor(token, "datapoints", {"stream": "b"})
    with pytest.raises(InvalidCursor, match="not made by this server"):
        decode_cursor(token, "streams", {"stream": "a"})
    with override_settings(SECRET_KEY="another server's key, long enough to be a real one"):
        with pytest.raises(InvalidCursor, match="not made by this server"):
            decode_cursor(token, "datapoints", {"stream": "a"})


# Positions ------------------------------------------------------------------------------------


def arguments(granularity, reverse=False, **bounds):
    base = {
        "granularity": granularity,
        "start": None,
        "end": None,
        "start_exclusive": None,
        "end_exclusive": None,
        "reverse": reverse,
        "value_downsamplers": None,
        "time_downsamplers": None,
    }
    base.update(bounds)
    if base["start"] is None and base["start_exclusive"] is None:
        base["start"] = at(1, 1, 1)
    return base


def page_through(ds, stream_id, query, highest, limit, between=lambda: None):
    """Every page of ``query`` by cursor positions, calling ``between`` after each page."""
    get_data = functools.partial(ds.get_data, stream_id)
    window, seen = Window(dict(query)), []
    for _ in range(10_000):
        page = list(get_data(**window.arguments)[window.offset : window.offset + limit])
        seen.extend(page)
        if page:  # the position is taken right after the page, as a request does
            times = [to_seconds(d["t"]["a"] if isinstance(d["t"], dict) else d["t"]) for d in page]
            position = position_after(get_data, window, highest, times)
            # Found from storage alone (as for a JSON answer), the position is the same.
            assert page_position(get_data, window, highest, len(page)) == position
            assert position == DatapointPosition.from_list(position.to_list())
        between()
        if not page:
            return seen
        window = continue_datapoints(get_data, query, highest, position)
    raise AssertionError("paging did not end")


def test_raw_pages_return_every_datapoint_once_while_appending_at_the_same_second(ds):
    sid = new_stream(ds)
    counter = itertools.count()
    # Three datapoints per second: pages end in the middle of a second.
    ds.append_multiple(
        [{"stream_id": sid, "value": next(counter), "timestamp": T0 + seconds(i // 3)}
         for i in range(30)]
    )  # fmt: skip
    latest = [T0 + seconds(9)]

    def append():
        if latest[0] < T0 + seconds(15):
            for _ in range(2):  # at the latest second, then one later
                ds.append(sid, next(counter), latest[0])
            latest[0] += seconds(1)

    got = page_through(ds, sid, arguments(G.Seconds), G.Seconds, 4, append)
    values = [d["v"] for d in got]
    assert sorted(values) == list(range(next(counter)))
    assert [d["t"] for d in got] == sorted(d["t"] for d in got)


def test_newest_first_pages_skip_what_was_appended_at_the_cursor_second(ds):
    sid = new_stream(ds)
    ds.append_multiple(
        [{"stream_id": sid, "value": i, "timestamp": T0 + seconds(i // 3)} for i in range(30)]
    )
    extra = itertools.count(1000)
    appended = []

    def append():  # at the latest second: newer than everything already returned
        value = next(extra)
        appended.append(value)
        ds.append(sid, value, T0 + seconds(9))

    got = page_through(ds, sid, arguments(G.Seconds, reverse=True), G.Seconds, 4, append)
    values = [d["v"] for d in got]
    assert len(values) == len(set(values))
    assert set(range(30)) <= set(values)
    assert [d["t"] for d in got] == sorted((d["t"] for d in got), reverse=True)
    # Those appended after the first page are newer than the cursor: not returned.
    assert not set(appended[1:]) & set(values)


@pytest.mark.parametrize("reverse", [False, True])
def test_bucket_pages_continue_after_the_last_bucket(ds, clock, reverse):
    sid = new_stream(ds)
    ds.append_multiple(
        [{"stream_id": sid, "value": i, "timestamp": T0 + seconds(i)} for i in range(300)]
    )
    ds.downsample_streams(until=T0 + seconds(300))
    later = iter(range(300, 400))

    def append_and_downsample():
        value = next(later, None)
        if value is not None:
            ds.append(sid, value, T0 + seconds(value * 3))
            ds.downsample_streams(until=T0 + seconds(value * 3))

    query = arguments(G.Seconds10, reverse=reverse)
    got = page_through(ds, sid, query, G.Seconds, 7, append_and_downsample)
    starts = [G.Seconds10.round_timestamp(d["t"]["a"]) for d in got]
    assert len(starts) == len(set(starts))
    assert starts == sorted(starts, reverse=reverse)
    # The last bucket closes only when newer data arrives: after the first page.
    assert set(starts) >= {T0 + seconds(10 * i) for i in range(29)}
    if not reverse:  # the buckets closed meanwhile come too
        every = ds.get_data(sid, G.Seconds10, start=T0)
        every_start = [G.Seconds10.round_timestamp(d["t"]["a"]) for d in every]
        # The last append (after the final, empty page) may close one more bucket.
        assert starts == every_start[: len(starts)] and len(starts) >= len(every_start) - 1


def test_raw_pages_of_a_coarse_stream_start_exactly_at_the_cursor(ds):
    sid = new_stream(ds, granularity=G.Minutes)
    ds.append_multiple(
        [{"stream_id": sid, "value": i, "timestamp": T0 + seconds(7 * i)} for i in range(40)]
    )
    query = arguments(G.Minutes, start=T0 + seconds(30), end=T0 + seconds(250))
    got = page_through(ds, sid, query, G.Minutes, 3)
    expected = list(ds.get_data(sid, G.Minutes, start=T0 + seconds(30), end=T0 + seconds(250)))
    assert got == expected
    reverse = page_through(ds, sid, {**query, "reverse": True}, G.Minutes, 3)
    assert reverse == expected[::-1]


# Over HTTP ------------------------------------------------------------------------------------


@pytest.fixture(params=["api", "mongodb_api"])
def any_api(request):
    """The HTTP fixture on SQLite and on MongoDB."""
    return request.getfixturevalue(request.param)


def follow(client_get, uri, params, limit=None):
    """Every page by ``meta.next_cursor`` until an empty one; the bodies."""
    bodies = []
    body = client_get(uri, params)
    for _ in range(10_000):
        bodies.append(body)
        items = body.get("datapoints", body.get("objects"))
        cursor = body["meta"]["next_cursor"]
        if not items:
            return bodies
        assert cursor is not None
        body = client_get(uri, {**params, "cu": cursor})
    raise AssertionError("paging did not end")


@pytest.mark.parametrize(
    "params",
    [{"l": 50}, {"l": 50, "r": "1"}, {"g": "m", "l": 7}, {"g": "S", "l": 13, "r": "1"},
     {"l": 100, "s": "2015-11-20T10:20:00Z", "e": "2015-11-20T10:40:00Z"}],
)  # fmt: skip
def test_following_cursors_returns_the_whole_query_once(any_api, params):
    uri = any_api.detail_uri(any_api.ids[1])
    bodies = follow(any_api.json, uri, params)
    got = [d for body in bodies for d in body["datapoints"]]
    everything = any_api.json(uri, {**params, "l": 10000})["datapoints"]
    assert got == everything
    assert all(body["meta"]["offset"] is None for body in bodies[1:])
    assert bodies[-1]["meta"]["next_cursor"] == bodies[-2]["meta"]["next_cursor"]
    cursor = bodies[0]["meta"]["next_cursor"]
    assert set(cursor) <= set(string.ascii_letters + string.digits + "-_~")
    # The formats agree on where a cursor leads.
    csv_page = any_api.get(uri, {**params, "cu": cursor, "format": "csv"})
    assert csv_page.status_code == 200
    assert len(csv_page.content.splitlines()) == len(bodies[1]["datapoints"]) + 1


def test_the_list_pages_by_cursor(any_api):
    bodies = follow(any_api.json, "/api/v1/stream/", {"l": 2})
    assert [s["id"] for body in bodies for s in body["objects"]] == any_api.ids


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"cu": "x", "o": "1"}, "'cu' cannot be combined with 'o' ('1')"),
        ({"cursor": "x", "offset": "0"}, "'cursor' cannot be combined with 'offset'"),
        ({"cu": "nonsense"}, "Invalid cursor 'nonsense' in parameter 'cu'"),
        ({"cursor": "a" * 600}, "too long"),
    ],
)
def test_bad_cursors_answer_400(api, params, message):
    uri = api.detail_uri(api.ids[0])
    assert message in api.error(uri, params)
    assert message in api.error("/api/v1/stream/", params)


def test_a_cursor_of_another_query_answers_400(api):
    uri = api.detail_uri(api.ids[0])
    cursor = api.json(uri, {"l": 5})["meta"]["next_cursor"]
    for other_uri, params in [
        (api.detail_uri(api.ids[1]), {}),
        (uri, {"g": "S"}),
        (uri, {"r": "1"}),
        (uri, {"s": "1448013605"}),
        ("/api/v1/stream/", {}),
    ]:
        message = api.error(other_uri, {**params, "cursor": cursor})
        assert "another query" in message or "not made by this server" in message
    # limit and format may change.
    assert api.get(uri, {"cursor": cursor, "l": 3, "format": "xml"}).status_code == 200
    list_cursor = api.json("/api/v1/stream/", {"l": 1})["meta"]["next_cursor"]
    assert "another query" in api.error(
        "/api/v1/stream/", {"cu": list_cursor, "tags__title": "Stream 1"}
    )


# Signed but unusable positions ------------------------------------------------------------------


def signed(kind: str, payload: bytes) -> str:
    """A token signed with the test SECRET_KEY as the server signs cursors, holding
    ``payload`` (JSON text) as it is."""

    class Raw:
        def dumps(self, obj):
            return payload

    signer = signing.Signer(
        key=settings.SECRET_KEY, salt=f"django_datastream.cursor.{kind}", sep="~"
    )
    return signer.sign_object(None, serializer=Raw)


def detail_scope_of(api, stream_id, params):
    """The scope a detail cursor of ``params`` is bound to."""
    stream = Stream(api.core.get_tags(stream_id))
    params = QueryDict(urllib.parse.urlencode(params))
    return detail_scope(stream_id, parse_detail_query(params, stream.highest_granularity))


OUT_OF_RANGE = [
    [253402300800, 0, 0],  # 10000-01-01T00:00:00Z
    [10**20, 0, 0],
    [-62135596801, 0, 0],  # 0000-12-31T23:59:59Z
    [-(10**30), 0, 0],
    [0, -1, 0],
    [0, 0, 2**63],
    [0, 10**20, 0],
]


@pytest.mark.parametrize("params", [{}, {"r": "1"}, {"g": "m"}, {"g": "d", "r": "1"}])
@pytest.mark.parametrize("position", OUT_OF_RANGE)
def test_a_signed_cursor_out_of_range_answers_400_naming_it(any_api, params, position):
    stream_id = any_api.ids[0]
    uri = any_api.detail_uri(stream_id)
    token = encode_cursor("datapoints", detail_scope_of(any_api, stream_id, params), position)
    for name in ("cursor", "cu"):
        message = any_api.error(uri, {**params, name: token})
        assert message.startswith(f"Invalid cursor {token[:40] + '…'!r} in parameter '{name}': ")
        assert ("supported time range" in message) == (position[0] != 0), message


@pytest.mark.parametrize("count", [-1, 2**63, 10**20])
def test_a_signed_list_cursor_out_of_range_answers_400_naming_it(any_api, count):
    token = encode_cursor("streams", {"filters": None}, [count])
    message = any_api.error(LIST_URI, {"cu": token})
    assert message.startswith("Invalid cursor ") and "in parameter 'cu': its position" in message


def test_positions_at_the_edges_of_the_time_range_are_served(any_api):
    stream_id = any_api.ids[0]
    uri = any_api.detail_uri(stream_id)
    for params in ({}, {"r": "1"}, {"g": "m"}, {"g": "d", "r": "1"}):
        scope = detail_scope_of(any_api, stream_id, params)
        for position in ([253402300799, 0, 0], [-62135596800, 0, 0], [0, 2**63 - 1, 2**63 - 1]):
            token = encode_cursor("datapoints", scope, position)
            response = any_api.get(uri, {**params, "cu": token})
            assert response.status_code == 200, (params, position, response.content)


@pytest.mark.parametrize(
    "payload",
    [
        "[{digest},\u0661\u0664\u0664\u0668\u0660\u0661\u0663\u0666\u0661\u0660,0,0]",
        "[{digest},1448013610,0,\uff10]",
        "[{digest},1448013610,0,0]\u00a0",
        "[{digest},1e3,0,0]",
        "[{digest},true,0,0]",
        "[{digest},NaN,0,0]",
        "{{}}",
    ],
)
def test_cursor_text_is_read_with_ascii_rules_only(api, payload):
    stream_id = api.ids[0]
    digest = orjson.dumps(query_digest(detail_scope_of(api, stream_id, {}))).decode()
    token = signed("datapoints", payload.format(digest=digest).encode())
    message = api.error(api.detail_uri(stream_id), {"cu": token})
    assert message.startswith("Invalid cursor ") and "in parameter 'cu'" in message
    # The same cursor in ASCII digits is a good one (the signing above is the server's).
    good = signed("datapoints", f"[{digest},1448013610,0,0]".encode())
    assert api.get(api.detail_uri(stream_id), {"cu": good}).status_code == 200


@pytest.mark.parametrize(
    "token", ["\u0661~\u0661", "abc~def\n", " abc~def", "abc~d\u00e9f", "abc\u2007~def", "abc~~def"]
)
def test_tokens_outside_the_ascii_alphabet_are_refused(token):
    with pytest.raises(InvalidCursor, match="not made by this server"):
        decode_cursor(token, "datapoints", {"stream": "a"})


def test_paging_while_another_thread_appends_returns_every_datapoint_once(served_datastream):
    core = served_datastream
    sid = core.ensure_stream({"n": "live"}, {}, ["mean"], G.Seconds)
    core.append_multiple(
        [{"stream_id": sid, "value": i, "timestamp": T0 + seconds(i // 2)} for i in range(400)]
    )
    stop = threading.Event()
    appended = [400]
    errors = []

    def append():
        try:
            while not stop.is_set() and appended[0] < 1000:
                value = appended[0]
                core.append(sid, value, T0 + seconds(value // 2))  # often the latest second
                appended[0] += 1
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    client = Client()
    uri = f"/api/v1/stream/{sid}/"

    def get(uri, params):
        response = client.get(uri, params)
        assert response.status_code == 200, response.content
        return orjson.loads(response.content)

    writer = threading.Thread(target=append)
    writer.start()
    try:
        values = []
        writer_done_before_request = False  # the writer's state when `body` was asked for
        body = get(uri, {"l": 37})
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            values.extend(d["v"] for d in body["datapoints"])
            if not body["datapoints"]:
                if writer_done_before_request:
                    break
                time.sleep(0.002)  # caught up with the writer: let it append
            writer_done_before_request = not writer.is_alive()
            body = get(uri, {"l": 37, "cu": body["meta"]["next_cursor"]})
    finally:
        stop.set()
        writer.join()
    assert not errors
    assert values == list(range(1000))
