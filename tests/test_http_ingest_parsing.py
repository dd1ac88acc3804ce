"""The line protocol parser and the write bodies on their own: escaping as the official
clients write it (round trips through their serializers), errors naming the line, and no
input, however malformed, raising anything but the 400/413 errors."""

from __future__ import annotations

import gzip
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from django_datastream.ingest.bodies import parse_records
from django_datastream.ingest.body import _gunzip
from django_datastream.ingest.errors import BadBody, TooLarge
from django_datastream.ingest.lineprotocol import parse_lines, series_key

T0 = 1_700_000_000
# Names the clients must escape: commas, spaces, equals signs, quotes. (Not backslashes:
# neither InfluxDB nor influxdb-client escape them in names, and influxdb 1.x doubles them.)
WEIRD = st.text(alphabet=string.ascii_letters + ' ,="é', min_size=1, max_size=12).filter(
    lambda text: text.strip() == text and not text.startswith("#")
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(measurement=WEIRD, tag_key=WEIRD, tag_value=WEIRD, field_key=WEIRD,
       text=st.text(alphabet=string.printable.replace("\r", "").replace("\n", "").replace(
           "\x0b", "").replace("\x0c", ""), max_size=20),
       number=st.floats(allow_nan=False, allow_infinity=False),
       integer=st.integers(-(2**63), 2**63 - 1), flag=st.booleans())
def test_round_trip_through_influxdb_client_serializer(
    measurement: str, tag_key: str, tag_value: str, field_key: str, text: str, number: float,
    integer: int, flag: bool,
) -> None:
    from influxdb_client import Point

    line = (
        Point(measurement).tag(tag_key, tag_value).field(field_key, number)
        .field("s" + field_key, text).field("i", integer).field("b", flag)
        .time(T0, "s").to_line_protocol()
    )
    if not line:  # the client writes nothing for a point it cannot represent
        return
    (point,) = parse_lines(line, "s")
    assert point.measurement == measurement
    assert point.tags == {tag_key: tag_value}
    assert point.fields == {field_key: number, "s" + field_key: text, "i": integer, "b": flag}
    assert point.seconds == T0
    assert point.series == series_key(measurement, {tag_key: tag_value})


@settings(max_examples=100, deadline=None)
@given(measurement=WEIRD, tag_value=WEIRD, text=st.text(
    alphabet=string.ascii_letters + ' ,="\\', max_size=12))
def test_round_trip_through_influxdb_1x_make_lines(
    measurement: str, tag_value: str, text: str
) -> None:
    from influxdb.line_protocol import make_lines

    data = {"points": [{"measurement": measurement, "tags": {"t": tag_value},
                        "fields": {"s": text, "v": 1.5}, "time": T0}]}
    (point,) = parse_lines(make_lines(data, precision="s"), "s")
    assert (point.measurement, point.tags, point.fields) == (
        measurement, {"t": tag_value}, {"s": text, "v": 1.5})


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=' ,="\\#\n\r\t' + "abc01-.eEiutfTF", max_size=60),
       st.sampled_from(["ns", "s", "h"]))
def test_malformed_line_protocol_raises_only_bad_body(text: str, precision: str) -> None:
    try:
        points = parse_lines(text, precision)
    except BadBody as error:
        assert str(error).startswith("Line ")
    else:
        for point in points:
            assert point.measurement and point.fields


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=80), st.sampled_from(
    ["application/json", "application/x-ndjson", "text/csv", None, "image/png"]),
    st.booleans())
def test_malformed_bodies_raise_only_api_errors(body: bytes, content_type: str | None,
                                                batch: bool) -> None:
    try:
        parse_records(body, content_type, "ms", batch, 10)
    except (BadBody, TooLarge):
        pass


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("m f=1 1.5", "timestamp '1.5' is not an integer"),
        ("m f=1u", None),
        ("m f=-1u", "cannot be negative"),
        ("m f=1i2", "not a number"),
        ("m f=TRUE,g=False", None),
        ("m f=true1", "not a number"),
        ('m f="a\\"b"', None),
        ('m f="ab\\"', "unterminated"),
        ("m,a=1,a=2 f=1", "given twice"),
        ("m f=1e400", "out of range"),
        ("m f=inf", "not a number"),
        ("m f=1_0", "not a number"),
        ("m f=１", "not a number"),
        ("m f=1 ５", "not an integer"),
        (",a=1 f=1", "measurement name is empty"),
        ("m f=1 1 2", "separated by single spaces"),
    ],
)
def test_line_protocol_details(line: str, message: str | None) -> None:
    if message is None:
        parse_lines(line, "s")
        return
    with pytest.raises(BadBody, match=message):
        parse_lines(f"ok f=1\n{line}", "s")
    with pytest.raises(BadBody, match="^Line 2"):
        parse_lines(f"ok f=1\n{line}", "s")


def test_values_and_precisions() -> None:
    (point,) = parse_lines('m,k=v f=1i,g=-2.5,h=t,s="x" 1700000000123', "ms")
    assert point.fields == {"f": 1, "g": -2.5, "h": True, "s": "x"}
    assert isinstance(point.fields["f"], int)
    assert point.seconds == T0
    assert parse_lines("m f=1 -1", "ns")[0].seconds == -1  # floored, as stored times are
    assert parse_lines("m f=1 2", "h")[0].seconds == 7200
    assert parse_lines("m f=1 3", "m")[0].seconds == 180


def test_gzip_limits() -> None:
    data = b"x" * 10_000
    assert _gunzip(gzip.compress(data), 10_000) == data
    with pytest.raises(TooLarge):
        _gunzip(gzip.compress(data), 9_999)
    with pytest.raises(BadBody, match="truncated"):
        _gunzip(gzip.compress(data)[:-12], None)
