"""Time bounds as users write them: ISO 8601 / RFC 3339 timestamps or integer UNIX seconds."""

from __future__ import annotations

import datetime

import pytest
from helpers import at
from hypothesis import given
from hypothesis import strategies as st

from datastream.limits import MAX_BOUND_SECONDS, MIN_BOUND_SECONDS
from django_datastream.params.times import (
    InvalidTime,
    Rounding,
    parse_time,
    rounding_for,
)

UTC = datetime.UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", at(1970, 1, 1)),
        ("-1", at(1969, 12, 31, 23, 59, 59)),
        ("+1700000000", at(2023, 11, 14, 22, 13, 20)),
        ("20240101", at(1970, 8, 23, 6, 15, 1)),  # digits only: always UNIX seconds
        ("2024-01-01T00:00:00Z", at(2024, 1, 1)),
        ("2024-01-01t00:00:00z", at(2024, 1, 1)),
        ("2024-01-01 00:00:00Z", at(2024, 1, 1)),
        ("2024-01-01T02:30:00+02:30", at(2024, 1, 1)),
        ("2023-12-31T19:00:00-05:00", at(2024, 1, 1)),
        ("2024-01-01T00:00:00", at(2024, 1, 1)),  # naive: UTC
        ("2024-01-01", at(2024, 1, 1)),
        ("2024-01-01T00:00", at(2024, 1, 1)),
        ("20240101T000000Z", at(2024, 1, 1)),
        ("2024-01-01T00:00:00.000Z", at(2024, 1, 1)),  # JavaScript's toISOString()
        ("2024-01-01T02:00:00 02:00", at(2024, 1, 1)),  # a "+" decoded as a space
        ("0001-01-01T00:00:00Z", at(1, 1, 1)),
        ("9999-12-31T23:59:59Z", at(9999, 12, 31, 23, 59, 59)),
        (str(MIN_BOUND_SECONDS), at(1, 1, 1)),
        (str(MAX_BOUND_SECONDS), at(9999, 12, 31, 23, 59, 59)),
    ],
)
def test_accepted_times_are_aware_utc_whole_seconds(text, expected):
    parsed = parse_time(text, "start")
    assert parsed == expected
    assert parsed.tzinfo is UTC and parsed.microsecond == 0


def test_a_fraction_rounds_to_the_second_selecting_the_same_datapoints():
    text = "2024-01-01T00:00:00.25Z"
    assert parse_time(text, "s", rounding=Rounding.FLOOR) == at(2024, 1, 1)
    assert parse_time(text, "s", rounding=Rounding.CEIL) == at(2024, 1, 1, 0, 0, 1)
    # Beyond the microseconds datetime keeps, the fraction still counts.
    assert parse_time("2024-01-01T00:00:00.0000001Z", "s", rounding=Rounding.CEIL) == at(
        2024, 1, 1, 0, 0, 1
    )
    assert parse_time("2024-01-01T00:00:00.000Z", "s", rounding=Rounding.CEIL) == at(2024, 1, 1)
    assert rounding_for("start") is Rounding.CEIL
    assert rounding_for("end_exclusive") is Rounding.CEIL
    assert rounding_for("end") is Rounding.FLOOR
    assert rounding_for("start_exclusive") is Rounding.FLOOR


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1.5", "not a timestamp"),
        ("1e3", "not a timestamp"),
        ("", "not a timestamp"),
        ("yesterday", "not a timestamp"),
        ("2024-13-01", "month must be in 1..12"),
        ("2024-02-30T00:00:00Z", "day is out of range for month"),
        ("0001-01-01T00:00:00+01:00", "out of range"),
        ("9999-12-31T23:59:59-01:00", "out of range"),
        (str(MAX_BOUND_SECONDS + 1), "out of range"),
        (str(MIN_BOUND_SECONDS - 1), "out of range"),
        ("9" * 5000, "too many digits"),
        ("2024-01-01T00:00:00Z" * 10, "too long for a timestamp"),
        ("٢٠٢٤-01-01", "not a timestamp"),
    ],
)
def test_errors_name_the_parameter_and_the_value(text, reason):
    with pytest.raises(InvalidTime) as raised:
        parse_time(text, "sx", "start")
    message = str(raised.value)
    assert message.startswith("Invalid time range start value: ")
    assert "in parameter 'sx'" in message
    assert repr(text[:100]) in message or repr(text[:100] + "…") in message
    assert f"({reason})" in message
    assert "2024-01-01T00:00:00Z" in message


def test_ceiling_past_the_last_second_is_out_of_range():
    with pytest.raises(InvalidTime, match="out of range"):
        parse_time("9999-12-31T23:59:59.5Z", "e", "end", Rounding.CEIL)
    assert parse_time("9999-12-31T23:59:59.5Z", "e", "end") == at(9999, 12, 31, 23, 59, 59)


@given(st.datetimes(timezones=st.timezones() | st.none()), st.sampled_from(list(Rounding)))
def test_any_isoformat_round_trips(moment, rounding):
    text = moment.isoformat()
    offset = moment.utcoffset()
    if offset is not None and offset % datetime.timedelta(minutes=1):
        return  # offsets with seconds are not ISO 8601
    try:
        expected = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        with pytest.raises(InvalidTime, match="out of range"):
            parse_time(text, "start", rounding=rounding)
        return
    if moment.second == 60:  # pragma: no cover - datetime has no leap seconds
        return
    whole = expected.replace(microsecond=0)
    if rounding is Rounding.CEIL and expected.microsecond:
        if whole.year == 9999 and whole.timetuple()[1:6] == (12, 31, 23, 59, 59):
            return
        whole += datetime.timedelta(seconds=1)
    assert parse_time(text, "start", rounding=rounding) == whole


@given(st.text(max_size=80))
def test_any_text_is_a_time_or_a_clear_error(text):
    try:
        parsed = parse_time(text, "start")
    except InvalidTime as error:
        assert "in parameter 'start'" in str(error)
    else:
        assert parsed.tzinfo is UTC


# Over HTTP ------------------------------------------------------------------------------------

BACKEND_APIS = ["api", "mongodb_api"]


@pytest.fixture(params=BACKEND_APIS)
def any_api(request):
    """The HTTP fixture on SQLite and on MongoDB."""
    return request.getfixturevalue(request.param)


def test_iso_times_select_what_integer_seconds_select(any_api):
    uri = any_api.detail_uri(any_api.ids[0])
    by_seconds = any_api.json(uri, {"s": "1448013600", "e": "1448013660", "l": 1000})
    for start, end in [
        ("2015-11-20T10:00:00Z", "2015-11-20T10:01:00Z"),
        ("2015-11-20T11:00:00+01:00", "2015-11-20T05:01:00-05:00"),
        ("2015-11-20 10:00:00", "2015-11-20T10:01:00.000Z"),
        ("2015-11-20T09:59:59.5Z", "2015-11-20T10:01:00.999Z"),  # rounded to whole seconds
    ]:
        body = any_api.json(uri, {"start": start, "end": end, "l": 1000})
        assert body["datapoints"] == by_seconds["datapoints"], (start, end)
        assert body["query_params"]["start"] == "2015-11-20T10:00:00Z"
        assert body["query_params"]["end"] == "2015-11-20T10:01:00Z"
    exclusive = any_api.json(
        uri, {"sx": "2015-11-20T10:00:00Z", "ex": "2015-11-20T10:00:10.5Z", "l": 1000}
    )
    assert [d["t"] for d in exclusive["datapoints"]] == [
        "2015-11-20T10:00:05Z", "2015-11-20T10:00:10Z"
    ]  # fmt: skip


def test_a_bad_time_answers_400_naming_parameter_and_value(api):
    uri = api.detail_uri(api.ids[0])
    message = api.error(uri, {"ex": "2015-11-32T00:00:00Z"})
    assert message.startswith(
        "Invalid time range end value: '2015-11-32T00:00:00Z' in parameter 'ex' "
    )
    assert "day is out of range for month" in message
    message = api.error(uri, {"start": "0001-01-01T00:00:00+01:00"})
    assert "in parameter 'start' (out of range)" in message
    assert "Conflicting values for 'start' and 's'" in api.error(
        uri, {"start": "2015-11-20T10:00:00Z", "s": "1448013601"}
    )
    # The same moment written twice is no conflict.
    api.json(uri, {"start": "2015-11-20T10:00:00Z", "s": "1448013600"})
