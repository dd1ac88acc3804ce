"""The stream list: fields, pagination, tag filters, the set endpoint, schema, top level."""

from __future__ import annotations

import pytest
from django.test import override_settings
from plugins.django_api import LIST_URI, STREAM_KEYS, check_stream, parse_uri


def test_list_all(api):
    body = api.json(LIST_URI, {"offset": 0, "limit": 0})
    assert set(body) == {"meta", "objects"}
    assert [s["id"] for s in body["objects"]] == api.ids
    for stream, stream_id in zip(body["objects"], api.ids):
        check_stream(api, stream, stream_id)
    assert body["objects"][0]["tags"]["title"] == "Stream 0"
    assert body["objects"][3]["value_downsamplers"] == ["count"]
    cursor = body["meta"].pop("next_cursor")
    assert isinstance(cursor, str) and cursor
    assert body["meta"] == {
        "total_count": 5,
        "limit": 1000,
        "offset": 0,
        "next": None,
        "previous": None,
    }


def test_list_default_limit_is_read_at_request_time(api):
    assert api.json(LIST_URI)["meta"]["limit"] == 20
    with override_settings(API_LIMIT_PER_PAGE=2):
        body = api.json(LIST_URI)
    assert body["meta"]["limit"] == 2
    assert [s["id"] for s in body["objects"]] == api.ids[:2]
    assert parse_uri(body["meta"]["next"]) == (LIST_URI, {"limit": ["2"], "offset": ["2"]})


@pytest.mark.parametrize(
    ("params", "ids", "next_", "previous"),
    [
        ({"offset": 1, "limit": 0}, slice(1, 5), None, {"limit": ["1"], "offset": ["0"]}),
        (
            {"offset": 1, "limit": 1},
            slice(1, 2),
            {"limit": ["1"], "offset": ["2"]},
            {"limit": ["1"], "offset": ["0"]},
        ),
        ({"offset": 1, "limit": 100}, slice(1, 5), None, {"limit": ["1"], "offset": ["0"]}),
        ({"o": 1, "l": 2}, slice(1, 3), {"limit": ["2"], "offset": ["3"]},
         {"limit": ["1"], "offset": ["0"]}),
        ({"offset": 4, "limit": 2}, slice(4, 5), None, {"limit": ["2"], "offset": ["2"]}),
        ({"offset": 9, "limit": 2}, slice(5, 5), None, {"limit": ["2"], "offset": ["7"]}),
        ({"limit": 5000}, slice(0, 5), None, None),
    ],
)  # fmt: skip
def test_list_pages(api, params, ids, next_, previous):
    body = api.json(LIST_URI, {"format": "json", **params})
    assert [s["id"] for s in body["objects"]] == api.ids[ids]
    meta = body["meta"]
    assert meta["total_count"] == 5
    assert meta["limit"] == min(params.get("limit", params.get("l")) or 1000, 1000)
    assert meta["offset"] == params.get("offset", params.get("o", 0))
    expected_next = None if next_ is None else (LIST_URI, {"format": ["json"], **next_})
    expected_previous = None if previous is None else (LIST_URI, {"format": ["json"], **previous})
    assert parse_uri(meta["next"]) == expected_next
    assert parse_uri(meta["previous"]) == expected_previous


def test_list_page_uri_keeps_order_and_multiple_values(api):
    body = api.json(LIST_URI, "format=json&tags__title__in=a&tags__title__in=b&limit=1&offset=0")
    assert body["meta"]["next"] is None
    body = api.json(LIST_URI, [("format", "json"), ("limit", 1), ("offset", 1)])
    assert body["meta"]["previous"] == "/api/v1/stream/?format=json&limit=1&offset=0"


def _ids(api, numbers):
    return [api.ids[n] for n in numbers]


TAG_FILTERS = [
    # matching nothing: reserved names are not user tags
    ([("tags__stream_id", "{id0}")], []),
    ([("tags__id", "{id0}")], []),
    ([("tags__value_type", "numeric")], []),
    ([("tags__highest_granularity", "Seconds")], []),
    # one stream
    ([("tags__title", "Stream 1")], [1]),
    ([("tags__title__iexact", "stream 1")], [1]),
    ([("tags__title__iexact", "strEAm 1")], [1]),
    ([("tags__stream_number", "1")], [1]),
    ([("tags__title__exact", "Stream 2")], [2]),
    # several
    ([("tags__title__icontains", "strEAm")], [0, 1, 2, 3, 4]),
    ([("tags__title__contains", "Stream")], [0, 1, 2, 3, 4]),
    ([("tags__title__startswith", "Str")], [0, 1, 2, 3, 4]),
    ([("tags__title__istartswith", "sTR")], [0, 1, 2, 3, 4]),
    ([("tags__title__endswith", " 3")], [3]),
    ([("tags__title__iendswith", "M 3")], [3]),
    ([("tags__stream_number__gte", "1")], [1, 2, 3, 4]),
    ([("tags__stream_number__gt", "1")], [2, 3, 4]),
    ([("tags__stream_number__lt", "2")], [0, 1]),
    ([("tags__stream_number__lte", "2")], [0, 1, 2]),
    ([("tags__stream_number__ne", "2")], [0, 1, 3, 4]),
    ([("tags__stream_number__in", "1,3")], [1, 3]),
    ([("tags__stream_number__in", "1"), ("tags__stream_number__in", "4")], [1, 4]),
    ([("tags__stream_number__nin", "1,3")], [0, 2, 4]),
    ([("tags__stream_number__gte", "1"), ("tags__stream_number__lt", "3")], [1, 2]),
    ([("tags__visualization__value_downsamplers", "mean")], [0, 1, 2]),
    ([("tags__visualization__value_downsamplers__all", "mean,min")], [0, 1, 2]),
    (
        [
            ("tags__visualization__value_downsamplers__all", "mean"),
            ("tags__visualization__value_downsamplers__all", "min"),
        ],
        [0, 1, 2],
    ),
    ([("tags__visualization__value_downsamplers__all", "mean,foobar")], []),
    (
        [
            ("tags__visualization__value_downsamplers__all", "mean"),
            ("tags__visualization__value_downsamplers__all", "foobar"),
        ],
        [],
    ),
    ([("tags__visualization__value_downsamplers__size", "0")], [3, 4]),
    ([("tags__visualization__minimum__exists", "true")], [0, 1, 2, 3, 4]),
    ([("tags__visualization__foo__exists", "false")], [0, 1, 2, 3, 4]),
    ([("tags__visualization__minimum", "null")], [3, 4]),
    ([("tags__visualization__minimum", "-2")], [1]),
    ([("tags__visualization__hidden", "false")], [0, 1, 2, 3, 4]),
    ([("tags__visualization__hidden", "True")], []),
    ([("tags__unit_description", "random, domain: 0,10")], [0]),
    # ignored: not tag filters
    ([("stream_id", "{id0}")], [0, 1, 2, 3, 4]),
    ([("id", "{id0}")], [0, 1, 2, 3, 4]),
    ([("highest_granularity", "Seconds")], [0, 1, 2, 3, 4]),
    ([("highest_granularity", "seconds")], [0, 1, 2, 3, 4]),
    ([("tagsfoo", "x"), ("order_by", "-id")], [0, 1, 2, 3, 4]),
]


@pytest.mark.parametrize(("filters", "numbers"), TAG_FILTERS, ids=str)
def test_tag_filters(api, filters, numbers):
    filters = [(name, value.format(id0=api.ids[0])) for name, value in filters]
    expected = _ids(api, numbers)
    for offset in (0, 1, 2):
        for limit in (0, 1, 20):
            body = api.json(
                LIST_URI, [("format", "json"), *filters, ("offset", offset), ("limit", limit)]
            )
            page = expected[offset : offset + (limit or 1000)]
            assert [s["id"] for s in body["objects"]] == page
            meta = body["meta"]
            effective = limit or 1000
            assert meta["total_count"] == len(expected)
            assert meta["limit"] == effective
            assert meta["offset"] == offset
            params: dict[str, list[str]] = {"format": ["json"]}
            for name, value in filters:
                params.setdefault(name, []).append(value)
            if offset + effective < len(expected):
                next_ = {**params, "limit": [str(effective)], "offset": [str(offset + effective)]}
                assert parse_uri(meta["next"]) == (LIST_URI, next_)
            else:
                assert meta["next"] is None
            if offset:
                previous_limit = min(offset, effective)
                previous = {
                    **params,
                    "limit": [str(previous_limit)],
                    "offset": [str(offset - previous_limit)],
                }
                assert parse_uri(meta["previous"]) == (LIST_URI, previous)
            else:
                assert meta["previous"] is None


@pytest.mark.parametrize(
    "query",
    [
        "tags=x",
        "tags__=x",
        "tags____x=1",
        "tags__title__=x",
        "tags__a=1&tags__a__b=2",
        "tags__visualization__value_downsamplers__size=many",
    ],
)
def test_bad_tag_filters(api, query):
    name = query.split("=")[0]
    message = api.error(LIST_URI, query)
    assert "tag filter" in message
    assert name.split("&")[0] in message or "tags__a__b" in message


def test_tag_named_like_an_operator_at_top_level(api):
    # A single segment is always a tag name: no operator, no list splitting.
    assert api.json(LIST_URI, {"tags__in": "a,b"})["objects"] == []


def test_set_endpoint(api):
    ids = [api.ids[2], "not-a-uuid", api.ids[0], "6f2b5b8a-1d1e-4c55-9d1e-6e7a0b1c2d3e"]
    body = api.json(f"{LIST_URI}set/{';'.join(ids)}/")
    assert set(body) == {"objects", "not_found"}
    assert [s["id"] for s in body["objects"]] == [api.ids[2], api.ids[0]]
    check_stream(api, body["objects"][0], api.ids[2])
    assert body["not_found"] == ["not-a-uuid", "6f2b5b8a-1d1e-4c55-9d1e-6e7a0b1c2d3e"]


def test_set_endpoint_upper_case_and_empty_ids(api):
    body = api.json(f"{LIST_URI}set/;{api.ids[1].upper()};;/")
    assert [s["id"] for s in body["objects"]] == [api.ids[1]]
    assert body["not_found"] == []
    assert api.json(f"{LIST_URI}set/;/") == {"objects": [], "not_found": []}


def test_set_endpoint_limits_the_number_of_ids(api):
    with override_settings(DATASTREAM_API_LIST_MAX_LIMIT=2):
        message = api.error(f"{LIST_URI}set/{';'.join(api.ids[:3])}/")
    assert "Too many stream ids: 3" in message


def test_api_uris(api):
    assert api.json("/api/v1/") == {
        "stream": {"list_endpoint": LIST_URI, "schema": f"{LIST_URI}schema/"}
    }


def test_schema(api):
    schema = api.json(f"{LIST_URI}schema/")
    assert schema["default_format"] == "application/json"
    assert schema["default_limit"] == 20
    assert schema["allowed_list_http_methods"] == ["get"]
    assert schema["allowed_detail_http_methods"] == ["get"]
    fields = schema["fields"]
    # a key that can appear is a field of the schema (last_downsampling_error after a failure)
    assert set(fields) == STREAM_KEYS | {"datapoints", "last_downsampling_error"}
    assert fields["id"]["unique"] and fields["id"]["readonly"] and not fields["id"]["nullable"]
    assert fields["tags"]["type"] == "dict" and fields["tags"]["nullable"]
    assert not fields["tags"]["readonly"]
    assert set(fields["value_downsamplers"]["choices"]) == {
        "mean", "sum", "min", "max", "sum_squares", "std_dev", "count", "median", "most_often",
        "least_often", "frequencies",
    }  # fmt: skip
    assert set(fields["time_downsamplers"]["choices"]) == {
        "mean", "first", "last", "intervals_mean", "intervals_min", "intervals_max",
        "intervals_sum_squares", "intervals_std_dev",
    }  # fmt: skip
    assert fields["highest_granularity"]["choices"] == [
        "seconds", "10seconds", "minutes", "10minutes", "hours", "6hours", "days",
    ]  # fmt: skip
    assert fields["value_type"]["default"] == "numeric"
    assert set(fields["value_type"]["choices"]) == {"numeric", "graph", "nominal"}
    assert fields["earliest_datapoint"]["type"] == "datetime"
    assert fields["latest_datapoint"]["nullable"]
    assert fields["datapoints"]["type"] == "datapoints"
    assert fields["datapoints"]["help_text"] == "A list of datapoints."
    for field in fields.values():
        assert {"nullable", "default", "readonly", "blank", "help_text", "unique", "type"} <= set(
            field
        )
    assert fields["id"]["default"] == "No default provided."
