"""Query-string parsing on its own (no HTTP)."""

from __future__ import annotations

import datetime

import pytest
from django.http import QueryDict

from datastream import Granularity
from django_datastream.query import (
    DEFAULT_START,
    QueryError,
    coerce_filter_value,
    parse_detail_query,
    parse_tag_filters,
)

UTC = datetime.UTC


def q(text: str) -> QueryDict:
    return QueryDict(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("true", True), ("True", True), ("false", False), ("False", False), ("none", None),
        ("None", None), ("null", None), ("1", 1), ("-7", -7), ("+3", 3), ("1.5", 1.5),
        ("-.5", -0.5), ("1e3", 1000.0), ("007", 7), ("TRUE", "TRUE"), ("nan", "nan"),
        ("inf", "inf"), ("1e999", "1e999"), ("1_000", "1_000"), (" 1", " 1"), ("٣", "٣"),
        (str(2**63), str(2**63)), (str(-(2**63)), -(2**63)), ("", ""), ("abc", "abc"),
    ],
)  # fmt: skip
def test_coerce_filter_value(text, value):
    assert coerce_filter_value(text) == value
    assert type(coerce_filter_value(text)) is type(value)


def test_tag_filters_nest_and_merge():
    assert parse_tag_filters(q("")) is None
    assert parse_tag_filters(q("limit=5&format=json&tagsx=1")) is None
    assert parse_tag_filters(
        q("tags__a__b=1&tags__a__c__gte=2&tags__a__c__lt=5&tags__d__in=x,1&tags__d__in=null")
    ) == {"a": {"b": 1, "c": {"gte": 2, "lt": 5}}, "d": {"in": ["x", 1, None]}}
    assert parse_tag_filters(q("tags__a=1&tags__a=2")) == {"a": 2}
    assert parse_tag_filters(q("tags__a__all=")) == {"a": {"all": [""]}}
    assert parse_tag_filters(q("tags__exists=1")) == {"exists": 1}


@pytest.mark.parametrize(
    "text", ["tags=1", "tags__=1", "tags__a____b=1", "tags__a=1&tags__a__b=2",
             "tags__a__b=1&tags__a=2", "tags__a__size=x", "tags__a__size=true",
             "tags__a__size=1.0"],
)  # fmt: skip
def test_bad_tag_filters(text):
    with pytest.raises(QueryError):
        parse_tag_filters(q(text))


def test_detail_defaults():
    query = parse_detail_query(q(""), Granularity.Minutes)
    assert query.granularity is Granularity.Minutes
    assert query.start == DEFAULT_START == datetime.datetime.min.replace(tzinfo=UTC)
    assert query.echo() == {
        "granularity": "minutes", "start": DEFAULT_START, "end": None, "start_exclusive": None,
        "end_exclusive": None, "reverse": False, "value_downsamplers": None,
        "time_downsamplers": None,
    }  # fmt: skip
    assert query.get_data_arguments()["granularity"] is Granularity.Minutes


def test_detail_everything():
    query = parse_detail_query(
        q("g=H&sx=0&e=86400&r=Y&v=m,count&value_downsamplers=mean&value_downsamplers=c&t=z"),
        Granularity.Seconds,
    )
    assert query.granularity is Granularity.Hours6
    assert query.start is None
    assert query.start_exclusive == datetime.datetime(1970, 1, 1, tzinfo=UTC)
    assert query.end == datetime.datetime(1970, 1, 2, tzinfo=UTC)
    assert query.reverse is True
    assert query.value_downsamplers == ["mean", "count"]
    assert query.time_downsamplers == ["last"]
