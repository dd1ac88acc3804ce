"""Formats: JSON, JSONP, XML and CSV, chosen by ``?format=``, ``callback`` or ``Accept``."""

from __future__ import annotations

import csv
import datetime
import decimal
import io
import locale
import math
from xml.etree import ElementTree

import orjson
import pytest
from django.test import override_settings
from plugins.django_api import LIST_URI, jsonable, parse_uri
from tastypie.bundle import Bundle

from datastream import Granularity
from django_datastream.formats.serializer import DatastreamSerializer, is_valid_callback

UTC = datetime.UTC


def test_json_is_compact_utf8(special_api):
    response = special_api.get(special_api.detail_uri(special_api.ids["nominal"]))
    assert response["Content-Type"] == "application/json"
    content = response.content
    assert b": " not in content and b", " not in content[:200]
    assert "žabe".encode() in content
    body = orjson.loads(content)
    assert body["tags"]["unicode"] == "žabe \u2028"


@pytest.mark.parametrize(
    ("params", "accept", "content_type"),
    [
        ({}, None, "application/json"),
        ({"format": "json"}, "application/xml", "application/json"),
        ({"format": "xml"}, None, "application/xml; charset=utf-8"),
        ({"format": "csv"}, None, "text/csv; charset=utf-8"),
        ({"format": "jsonp"}, None, "text/javascript"),
        ({"callback": "cb"}, None, "text/javascript"),
        ({"format": "json", "callback": "cb"}, None, "application/json"),
        ({}, "application/xml", "application/xml; charset=utf-8"),
        ({}, "text/csv", "text/csv; charset=utf-8"),
        ({}, "text/javascript", "text/javascript"),
        ({}, "application/json", "application/json"),
        ({}, "text/html,application/xml;q=0.9,*/*;q=0.8", "application/xml; charset=utf-8"),
        ({}, "text/html", "application/json"),
        ({}, "*/*", "application/json"),
    ],
)
def test_format_negotiation(api, params, accept, content_type):
    extra = {"HTTP_ACCEPT": accept} if accept else {}
    response = api.get(api.detail_uri(api.ids[0]), {**params, "limit": 2}, **extra)
    assert response.status_code == 200
    assert response["Content-Type"] == content_type


@pytest.mark.parametrize("uri", [LIST_URI, f"{LIST_URI}schema/", "/api/v1/"])
@pytest.mark.parametrize("name", ["yaml", "plist", "JSON", "html", "x" * 300, ""])
def test_unknown_format_is_400(api, uri, name):
    message = api.error(uri, {"format": name})
    assert message.startswith(f"Invalid format: {name[:100]!r}"[:30])
    assert "json, jsonp, xml, csv, ndjson" in message


def test_disabled_format_is_400(api):
    with override_settings(DATASTREAM_API_FORMATS=["json", "xml"]):
        assert "Use one of json, xml." in api.error(LIST_URI, {"format": "csv"})
        # Without JSONP, a callback parameter does not select it.
        assert api.get(LIST_URI, {"callback": "cb"})["Content-Type"] == "application/json"
        assert api.get(LIST_URI, HTTP_ACCEPT="text/csv")["Content-Type"] == "application/json"


def test_csv_of_the_schema_is_406(api):
    response = api.get(f"{LIST_URI}schema/", {"format": "csv"})
    assert response.status_code == 406
    assert "format is not available" in response.json()["error"]


@pytest.mark.parametrize(
    "callback", ["cb", "$", "_x1", "jQuery123_456", "app.handlers.data", "a$b.c_d"]
)
def test_jsonp(api, callback):
    response = api.get(api.detail_uri(api.ids[0]), {"callback": callback, "limit": 3})
    assert response.status_code == 200
    content = response.content.decode()
    prefix = f"/**/{callback}("
    assert content.startswith(prefix) and content.endswith(");")
    body = orjson.loads(content[len(prefix) : -2])
    assert parse_uri(body["meta"].pop("next"))[1] == {
        "callback": [callback],
        "limit": ["3"],
        "offset": ["3"],
    }
    expected = api.json(api.detail_uri(api.ids[0]), {"limit": 3})
    expected["meta"].pop("next")
    assert body == expected


@pytest.mark.parametrize(
    "callback",
    [
        "", "1abc", "alert(1)", "a b", "a;b", "a..b", ".a", "a.", "x[0]", "café", "function",
        "a.delete", "eval", "<script>", "a" * 129, "a\nb",
    ],
)  # fmt: skip
def test_jsonp_bad_callback_is_400(api, callback):
    # Whatever the format: a bad parameter is a 400, not ignored.
    for params in (
        {"callback": callback},
        {"format": "jsonp", "callback": callback},
        {"format": "json", "callback": callback},
        {"format": "csv", "callback": callback},
    ):
        message = api.error(api.detail_uri(api.ids[0]), params)
        assert message.startswith("Invalid JSONP callback name:")
        assert "'callback'" in message


def test_jsonp_default_callback_name(api):
    response = api.get(LIST_URI, {"format": "jsonp"})
    assert response.content.startswith(b"/**/callback({")


def test_jsonp_escapes_javascript_line_separators(special_api):
    response = special_api.get(
        special_api.detail_uri(special_api.ids["nominal"]), {"callback": "cb"}
    )
    assert "\u2028".encode() not in response.content
    assert b"\\u2028" in response.content
    body = orjson.loads(response.content[len(b"/**/cb(") : -2])
    assert body["tags"]["unicode"] == "žabe \u2028"


def _xml_to_python(element: ElementTree.Element):
    kind = element.get("type")
    if element.tag in ("response", "object") or kind == "hash":
        return {child.get("key", child.tag): _xml_to_python(child) for child in element}
    if element.tag == "objects" or kind == "list":
        return [_xml_to_python(child) for child in element]
    text = element.text or ""
    return {
        "integer": lambda: int(text),
        "float": lambda: float(text),
        "boolean": lambda: text == "True",
        "null": lambda: None,
    }.get(kind, lambda: text)()


@pytest.mark.parametrize("granularity", ["s", "S"])
def test_xml_detail(api, granularity):
    params = {"limit": 5, "g": granularity}
    response = api.get(api.detail_uri(api.ids[1]), {**params, "format": "xml"})
    assert response.content.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<response>")
    data = _xml_to_python(ElementTree.fromstring(response.content))
    body = api.json(api.detail_uri(api.ids[1]), params)
    assert data["meta"].pop("next").endswith("&format=xml&limit=5&offset=5")
    body["meta"].pop("next")
    assert data == body


def test_xml_list_and_odd_values(special_api):
    response = special_api.get(LIST_URI, {"format": "xml"})
    root = ElementTree.fromstring(response.content)
    assert root.tag == "response"
    data = _xml_to_python(root)
    assert len(data["objects"]) == 5
    assert data["objects"][2]["tags"]["unicode"] == "žabe \u2028"
    response = special_api.get(
        special_api.detail_uri(special_api.ids["nominal"]), {"format": "xml"}
    )
    values = [
        p["v"] for p in _xml_to_python(ElementTree.fromstring(response.content))["datapoints"]
    ]
    assert values == ["line\u2028separator", {"x": [1, "two", None]}, True, "<&>", "=1+2"]


def test_xml_meta_keeps_next_uri(api):
    response = api.get(api.detail_uri(api.ids[0]), {"format": "xml", "limit": 1})
    meta = _xml_to_python(ElementTree.fromstring(response.content))["meta"]
    assert meta["next"] == f"{api.detail_uri(api.ids[0])}?format=xml&limit=1&offset=1"
    assert meta["previous"] is None


def _csv(response):
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_csv_raw_datapoints(api):
    stream_id = api.ids[1]
    rows = _csv(api.get(api.detail_uri(stream_id), {"format": "csv", "limit": 10, "offset": 3}))
    expected = list(api.core.get_data(stream_id, Granularity.Seconds, start=START_MIN)[3:13])
    assert rows[0] == ["t", "v"]
    assert rows[1:] == [[jsonable(p["t"]), repr(p["v"])] for p in expected]


@pytest.mark.parametrize(
    ("params", "header"),
    [
        ({}, ["t.m", "t.a", "t.z", "t.i", "t.l", "t.u", "t.q", "t.d", "v.m", "v.s", "v.l", "v.u",
              "v.q", "v.d", "v.c", "v.n", "v.o", "v.r", "v.f"]),
        ({"v": "max,m,min", "t": "z,a"}, ["t.z", "t.a", "v.u", "v.m", "v.l"]),
        ({"v": "m,m", "t": "m"}, ["t.m", "v.m"]),
    ],
)  # fmt: skip
def test_csv_downsampled_datapoints(api, params, header):
    stream_id = api.ids[0]
    rows = _csv(api.get(api.detail_uri(stream_id), {**params, "g": "m", "l": 4, "format": "csv"}))
    assert rows[0] == header
    body = api.json(api.detail_uri(stream_id), {**params, "g": "m", "l": 4})
    assert len(rows) == 5
    for row, point in zip(rows[1:], body["datapoints"]):
        for name, cell in zip(header, row):
            part, key = name.split(".")
            value = point[part].get(key)
            if isinstance(value, dict):
                assert orjson.loads(cell) == value
            elif isinstance(value, float):
                assert math.isclose(float(cell), value)
            else:
                assert cell == ("" if value is None else str(value))


def test_csv_of_a_nominal_stream_downsampled(api):
    rows = _csv(api.get(api.detail_uri(api.ids[3]), {"g": "S", "l": 2, "format": "csv", "t": "m"}))
    assert rows[0] == ["t.m", "v.c"]
    assert rows[1][1] == "2"


def test_csv_odd_values(special_api):
    rows = _csv(
        special_api.get(special_api.detail_uri(special_api.ids["nominal"]), {"format": "csv"})
    )
    assert [row[1] for row in rows[1:]] == [
        "line\u2028separator",
        '{"x":[1,"two",null]}',
        "true",
        "<&>",
        "=1+2",
    ]
    rows = _csv(
        special_api.get(special_api.detail_uri(special_api.ids["numeric"]), {"format": "csv"})
    )
    assert [row[1] for row in rows[1:]] == ["1.5", "", "-2", "0.1", "1e+300", "3"]
    rows = _csv(
        special_api.get(special_api.detail_uri(special_api.ids["accurate"]), {"format": "csv"})
    )
    assert [row[1] for row in rows[1:]] == ["0.1", "12345678901234567890.123456789"]


def test_csv_limit_zero_is_only_the_header(api):
    rows = _csv(api.get(api.detail_uri(api.ids[0]), {"format": "csv", "limit": 0}))
    assert rows == [["t", "v"]]


def test_csv_list_of_streams(api):
    rows = _csv(api.get(LIST_URI, {"format": "csv"}))
    assert rows[0] == [
        "id", "resource_uri", "value_type", "highest_granularity", "earliest_datapoint",
        "latest_datapoint", "value_downsamplers", "time_downsamplers", "tags",
        "last_downsampling_error",
    ]  # fmt: skip
    assert [row[0] for row in rows[1:]] == api.ids
    assert {row[9] for row in rows[1:]} == {""}
    assert rows[4][2] == "nominal" and rows[4][6] == "count"
    assert orjson.loads(rows[1][8])["title"] == "Stream 0"
    assert rows[1][4] == "2015-11-20T10:00:00Z"


START_MIN = datetime.datetime.min.replace(tzinfo=UTC)


# The serializer on its own -------------------------------------------------------------------


@pytest.fixture
def serializer():
    return DatastreamSerializer()


def test_json_non_finite_floats_are_null(serializer):
    data = {"a": float("nan"), "b": [float("inf"), float("-inf")], "c": 1.5}
    assert orjson.loads(serializer.to_json(data)) == {"a": None, "b": [None, None], "c": 1.5}


def test_json_decimals_granularities_datetimes(serializer):
    data = {
        "d": decimal.Decimal("1.10"),
        "g": Granularity.Minutes10,
        "t": datetime.datetime(2015, 1, 2, 3, 4, 5, 6000, tzinfo=UTC),
        "naive": datetime.datetime(2015, 1, 2, 3, 4, 5),
        "min": datetime.datetime.min,
        "offset": datetime.datetime(
            2015, 1, 2, tzinfo=datetime.timezone(datetime.timedelta(hours=2))
        ),
        "date": datetime.date(2014, 5, 5),
        "set": {1},
        "bundle": Bundle(data={"x": 1}),
    }
    assert orjson.loads(serializer.to_json(data)) == {
        "d": "1.10",
        "g": "10minutes",
        "t": "2015-01-02T03:04:05.006000Z",
        "naive": "2015-01-02T03:04:05Z",
        "min": "0001-01-01T00:00:00Z",
        "offset": "2015-01-02T00:00:00+02:00",
        "date": "2014-05-05",
        "set": [1],
        "bundle": {"x": 1},
    }


def test_json_integers_beyond_64_bits_fall_back(serializer):
    data = {"big": 2**70, "nan": float("nan"), "when": datetime.datetime(2015, 1, 1, tzinfo=UTC)}
    assert serializer.to_json(data) == (
        b'{"big":1180591620717411303424,"nan":null,"when":"2015-01-01T00:00:00Z"}'
    )


def test_strict_iso_drops_microseconds():
    serializer = DatastreamSerializer(datetime_formatting="iso-8601-strict")
    moment = datetime.datetime(2015, 1, 2, 3, 4, 5, 6000, tzinfo=UTC)
    assert serializer.to_json({"t": moment}) == b'{"t":"2015-01-02T03:04:05Z"}'
    assert serializer.format_datetime(moment) == "2015-01-02T03:04:05Z"
    assert serializer.format_time(datetime.time(1, 5, 0, 7)) == "01:05:00"


def test_rfc2822_dates_are_locale_independent():
    serializer = DatastreamSerializer(datetime_formatting="rfc-2822")
    old = locale.setlocale(locale.LC_TIME)
    try:
        for name in ("sl_SI.UTF-8", "de_DE.UTF-8"):
            try:
                locale.setlocale(locale.LC_TIME, name)
                break
            except locale.Error:
                continue
        moment = datetime.datetime(2014, 5, 5, 1, 5, tzinfo=UTC)
        assert serializer.format_datetime(moment) == "Mon, 05 May 2014 01:05:00 +0000"
        assert serializer.format_date(moment.date()) == "05 May 2014"
        assert serializer.format_time(datetime.time(1, 5, tzinfo=UTC)) == "01:05:00 +0000"
        assert serializer.to_json({"t": moment}) == b'{"t":"Mon, 05 May 2014 01:05:00 +0000"}'
    finally:
        locale.setlocale(locale.LC_TIME, old)


def test_rfc2822_setting(api):
    with override_settings(TASTYPIE_DATETIME_FORMATTING="rfc-2822"):
        body = api.json(api.detail_uri(api.ids[0]), {"limit": 1})
    assert body["datapoints"][0]["t"] == "Fri, 20 Nov 2015 10:00:00 +0000"
    assert body["query_params"]["start"] == "Mon, 01 Jan 0001 00:00:00 +0000"


def test_xml_serializer_odd_keys_and_characters(serializer):
    data = {"ok": {"1": 2, "a b": "\x00bad\x1f", "_x": None}, "list": [[1.5], {"y": False}]}
    root = ElementTree.fromstring(serializer.to_xml(data))
    assert _xml_to_python(root) == {
        "ok": {"1": 2, "a b": "\ufffdbad\ufffd", "_x": None},
        "list": [[1.5], {"y": False}],
    }


def test_callback_validation():
    assert is_valid_callback("a.b.c")
    assert not is_valid_callback("a.b.")
    assert not is_valid_callback("new")
    assert not is_valid_callback("x" * 129)


class RawJson:
    """An object that carries its own serialisation (upstream's ``__json__`` hook)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __json__(self) -> str:
        return self.text


def test_raw_json_objects(serializer):
    data = {"raw": RawJson('{"a":[1,2,{"b":null}]}'), "plain": [RawJson("3")]}
    assert serializer.to_json(data) == b'{"raw":{"a":[1,2,{"b":null}]},"plain":[3]}'
    assert serializer.from_json(serializer.to_json(data)) == {
        "raw": {"a": [1, 2, {"b": None}]},
        "plain": [3],
    }
    root = ElementTree.fromstring(serializer.to_xml(data))
    assert _xml_to_python(root) == {"raw": {"a": [1, 2, {"b": None}]}, "plain": [3]}
