"""Validation and normalisation of datapoint values, per value type.

Decisions (documented in the library docs):

* ``NaN`` and infinities are rejected in every value type (:class:`InvalidValue`): they have no
  meaning in sums and means, and JSON cannot carry them.
* Booleans are not numbers: a ``bool`` appended to a numeric stream raises
  :class:`InvalidValueType`. Nominal streams store them as booleans.
* Numeric values are stored as 64-bit integers when integral and in range, else as floats; in
  high-accuracy streams values that a float cannot hold exactly are kept as decimal strings and
  read back as :class:`decimal.Decimal` (64 significant digits).
* Nominal and graph values must be JSON data: strings, finite numbers, booleans, ``None``,
  lists and dictionaries with string keys, within the limits of :mod:`datastream.limits`
  (nesting depth, encoded size, digits of integers); so must tags.
"""

from __future__ import annotations

import decimal
import math
import numbers
from collections.abc import Mapping
from typing import Any

from . import exceptions
from .downsamplers import DECIMAL_CONTEXT, frequency_key
from .limits import INT64_MAX, INT64_MIN, MAX_INTEGER_DIGITS
from .validation import check_integer, check_json, describe

__all__ = ["check_json", "decode_value", "encode_number", "normalise_value"]


def encode_number(value: Any, high_accuracy: bool) -> Any:
    """The storable form of a finite number (int, float, or decimal string)."""
    if isinstance(value, bool):
        raise exceptions.InvalidValueType(
            f"Booleans are not numbers: {value!r} cannot be stored in a numeric stream"
        )
    if isinstance(value, int):
        if INT64_MIN <= value <= INT64_MAX:
            return value
        if high_accuracy:
            check_integer(value, "number", exceptions.InvalidValue)
            return str(value)
        try:
            return float(value)
        except OverflowError:
            raise exceptions.InvalidValue(
                f"Number too large to store: {describe(value)}"
            ) from None
    if isinstance(value, float):
        if not math.isfinite(value):
            raise exceptions.InvalidValue(f"Not a finite number: {value!r}")
        return value
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise exceptions.InvalidValue(f"Not a finite number: {value!r}")
        if value == value.to_integral_value() and INT64_MIN <= value <= INT64_MAX:
            return int(value)
        if high_accuracy:
            as_float = float(value)
            if math.isfinite(as_float) and decimal.Decimal(as_float) == value:
                return as_float
            return str(value)
        as_float = float(value)
        if not math.isfinite(as_float):
            raise exceptions.InvalidValue(f"Number too large to store: {describe(value)}")
        return as_float
    if isinstance(value, numbers.Real):
        try:
            as_float = float(value)
        except (ArithmeticError, ValueError, TypeError):
            raise exceptions.InvalidValue(
                f"Number cannot be stored as a float: {describe(value)}"
            ) from None
        return encode_number(as_float, high_accuracy)
    raise exceptions.InvalidValueType(f"Not a number: {describe(value)}")


def _check_magnitude(value: Any) -> None:
    """Refuse an input decimal of :data:`~datastream.limits.MAX_INTEGER_DIGITS` digits or more
    before its point: squares and sums of such numbers stay far inside the decimal context
    (sums of squares are stored too, so :func:`encode_number` itself takes larger ones)."""
    if isinstance(value, decimal.Decimal) and value.is_finite():
        if value.adjusted() >= MAX_INTEGER_DIGITS:
            raise exceptions.InvalidValue(
                f"Number too large to store: {describe(value)} (the limit is "
                f"10**{MAX_INTEGER_DIGITS})"
            )


def decode_number(value: Any) -> Any:
    """A high-accuracy number as read back: ints stay, floats and strings become Decimals."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        return decimal.Decimal(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return DECIMAL_CONTEXT.create_decimal(value)
    return value


def decode_value(value: Any, high_accuracy: bool) -> Any:
    """A stored numeric value as returned to users."""
    if not high_accuracy:
        return value
    if isinstance(value, dict):
        return {k: decode_number(v) if k != "f" else v for k, v in value.items()}
    return decode_number(value)


def _plain_json(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain_json(item) for item in value]
    if isinstance(value, Mapping):
        return {key: _plain_json(item) for key, item in value.items()}
    return value


def _normalise_graph(value: Any) -> Any:
    if not isinstance(value, Mapping):
        raise exceptions.InvalidValueType(
            "Streams of type 'graph' only accept dictionaries with 'v' and 'e', "
            f"not {describe(value)}"
        )
    for key in ("v", "e"):
        if key not in value:
            raise exceptions.InvalidValue(f"Graph value is missing its '{key}' list")
        if not isinstance(value[key], list | tuple):
            raise exceptions.InvalidValue(f"Graph value's '{key}' must be a list")
    check_json(value, "Graph value")
    ids = set()
    for vertex in value["v"]:
        if not isinstance(vertex, Mapping) or "i" not in vertex:
            raise exceptions.InvalidValue(f"Graph vertex without an id 'i': {describe(vertex)}")
        key = frequency_key(vertex["i"])
        if key in ids:
            raise exceptions.InvalidValue(f"Duplicate graph vertex id: {describe(vertex['i'])}")
        ids.add(key)
    for edge in value["e"]:
        if not isinstance(edge, Mapping) or "f" not in edge or "t" not in edge:
            raise exceptions.InvalidValue(f"Graph edge needs 'f' and 't': {describe(edge)}")
        for end in ("f", "t"):
            if frequency_key(edge[end]) not in ids:
                raise exceptions.InvalidValue(
                    f"Graph edge {describe(edge)} names an unknown vertex {describe(edge[end])}"
                )
    return _plain_json(value)


def _normalise_aggregated(value: Mapping, keys: list[str], high_accuracy: bool) -> dict:
    for key in keys:
        if key not in value:
            raise exceptions.InvalidValue(f"Missing datapoint value for downsampler '{key}'!")
    for key in value:
        if key not in keys:
            raise exceptions.InvalidValue(
                f"Unknown downsampled datapoint key {describe(key)}!"
            )
    result = {}
    for key in keys:
        item = value[key]
        if item is None:
            result[key] = None
        elif key == "c":
            if isinstance(item, bool) or not isinstance(item, int) or not 0 <= item <= INT64_MAX:
                raise exceptions.InvalidValue(
                    f"Downsampled count 'c' must be an integer >= 0: {describe(item)}"
                )
            result[key] = item
        elif key == "f":
            if not isinstance(item, Mapping) or not all(
                isinstance(k, str)
                and isinstance(n, int)
                and not isinstance(n, bool)
                and 0 <= n <= INT64_MAX
                for k, n in item.items()
            ):
                raise exceptions.InvalidValue(
                    f"Downsampled frequencies 'f' must map strings to counts: {describe(item)}"
                )
            check_json(item, "Downsampled frequencies 'f'")
            result[key] = dict(item)
        else:
            _check_magnitude(item)
            result[key] = encode_number(item, high_accuracy)
    return result


def normalise_value(
    value: Any, value_type: str, value_downsampler_keys: list[str], high_accuracy: bool
) -> Any:
    """The storable form of ``value`` for a stream, or a clear exception."""
    if value is None:
        return None
    if value_type == "numeric":
        if isinstance(value, Mapping):
            return _normalise_aggregated(value, value_downsampler_keys, high_accuracy)
        if isinstance(value, numbers.Number):
            _check_magnitude(value)
            return encode_number(value, high_accuracy)
        raise exceptions.InvalidValueType(
            "Streams of type 'numeric' may only accept numbers or downsampled datapoints, "
            f"not {describe(value)}"
        )
    if value_type == "graph":
        return _normalise_graph(value)
    check_json(value, "Nominal value")
    return _plain_json(value)
