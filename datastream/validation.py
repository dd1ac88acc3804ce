"""Argument checks shared by the API facade and the engine.

Nested arguments (tags, query tags, values) are walked without recursion, so that no input
can exhaust the interpreter's stack before its depth is found to exceed
:data:`~datastream.limits.MAX_NESTING_DEPTH`.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import inspect
import json
import math
import re
import reprlib
import uuid
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import orjson

from . import exceptions
from .constants import (
    DERIVE_OPERATORS,
    RESERVED_TAGS,
    TIME_DOWNSAMPLERS,
    VALUE_DOWNSAMPLERS,
    VALUE_TYPES,
)
from .granularity import UTC, Granularity, to_seconds
from .limits import (
    INT64_MAX,
    INT64_MIN,
    MAX_DATAPOINT_SECONDS,
    MAX_DATAPOINT_TIMESTAMP,
    MAX_DERIVE_ARGS_SIZE,
    MAX_ENCODED_SIZE,
    MAX_INTEGER_DIGITS,
    MAX_NESTING_DEPTH,
    MIN_DATAPOINT_SECONDS,
    MIN_DATAPOINT_TIMESTAMP,
)

__all__ = [
    "DeriveSource",
    "bound_seconds",
    "check_callable",
    "check_datapoint",
    "check_datapoint_list",
    "check_derive",
    "check_downsampler_names",
    "check_granularity",
    "check_integer",
    "check_json",
    "check_tag_keys",
    "check_value_type",
    "describe",
    "encoded_size",
    "normalize_timestamp",
    "parse_stream_id",
    "timestamp_seconds",
    "walk",
]

#: Arguments that are query bounds: outside the supported range they are clamped, not refused.
_BOUNDS = frozenset({"start", "end", "start_exclusive", "end_exclusive", "until"})
_INTEGER_BOUND = 10**MAX_INTEGER_DIGITS
_QUERY_DATA = (str, int, float, type(None), Mapping, list, tuple, set, frozenset)
#: A stream id already in canonical form (what ``str(uuid.UUID(...))`` gives).
_CANONICAL_STREAM_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_DATAPOINT_KEYS = frozenset({"stream_id", "value", "timestamp", "check_timestamp"})
_RANGE_TEXT = " .. ".join(
    moment.isoformat().replace("+00:00", "Z")
    for moment in (MIN_DATAPOINT_TIMESTAMP, MAX_DATAPOINT_TIMESTAMP)
)


def _subject(what: str) -> str:
    """``what`` to start a message: capitalised, unless it is an argument's name."""
    return what if "_" in what else what[:1].upper() + what[1:]


class _Repr(reprlib.Repr):
    """``reprlib`` that never converts a huge integer to text (Python refuses beyond 4300
    digits) and shortens long strings and deep containers."""

    def __init__(self) -> None:
        super().__init__()
        self.maxstring = self.maxother = 80
        self.maxlevel = 4

    def repr_int(self, x: int, level: int) -> str:
        if -(10**40) < x < 10**40:
            return int.__repr__(x)
        digits = int(x.bit_length() * math.log10(2)) + 1
        return f"<integer of about {digits} digits>"


_repr = _Repr()


def describe(value: Any) -> str:
    """A short ``repr`` of a user-supplied value, safe for any value (for error messages)."""
    try:
        return _repr.repr(value)
    except Exception:  # a broken __repr__ of a user object
        return f"<{type(value).__name__} object>"


def _children(value: Any) -> Iterator[tuple[Any, Any]] | None:
    """The ``(key, item)`` pairs of a container (key ``None`` in sequences), else ``None``."""
    if isinstance(value, Mapping):
        return iter(value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return ((None, item) for item in value)
    return None


def walk(value: Any, what: str, error: type[Exception]) -> Iterator[tuple[Any, Any]]:
    """Every ``(key, item)`` inside ``value`` (``value`` itself first, with key ``None``),
    depth first, without recursion; ``error`` is raised once nesting exceeds
    :data:`MAX_NESTING_DEPTH` (the outermost container is level 1)."""
    yield None, value
    children = _children(value)
    if children is None:
        return
    stack = [children]
    while stack:
        for key, item in stack[-1]:
            yield key, item
            inner = _children(item)
            if inner is not None:
                if len(stack) >= MAX_NESTING_DEPTH:
                    raise error(
                        f"{_subject(what)}: nested deeper than the limit of "
                        f"{MAX_NESTING_DEPTH} levels of dictionaries and lists"
                    )
                stack.append(inner)
                break
        else:
            stack.pop()


def check_integer(value: int, what: str, error: type[Exception]) -> None:
    """Raise ``error`` if the integer ``value`` has more than :data:`MAX_INTEGER_DIGITS` digits."""
    if not INT64_MIN <= value <= INT64_MAX and not -_INTEGER_BOUND < value < _INTEGER_BOUND:
        raise error(
            f"{_subject(what)}: {describe(value)} has more than the limit of "
            f"{MAX_INTEGER_DIGITS} digits"
        )


def check_json(value: Any, where: str, size_limit: int = MAX_ENCODED_SIZE) -> None:
    """Raise unless ``value`` is JSON data within the documented limits.

    JSON data are strings, finite numbers, booleans, ``None``, lists (tuples) and dictionaries
    with string keys, nested at most :data:`~datastream.limits.MAX_NESTING_DEPTH` levels, with
    integers of at most :data:`~datastream.limits.MAX_INTEGER_DIGITS` digits, and at most
    ``size_limit`` (:data:`~datastream.limits.MAX_ENCODED_SIZE`) bytes as compact JSON.
    ``where`` names the argument in the message; a limit raises :class:`InvalidValue`, a type
    :class:`InvalidValueType`.
    """
    if isinstance(value, str):
        if len(value) * 6 + 2 <= size_limit:  # at most 6 bytes a character (\u0000), quotes
            return
    elif value is None or isinstance(value, bool | float | int):
        _check_scalar(value, where)
        return
    for key, item in walk(value, where, exceptions.InvalidValue):
        if key is not None and not isinstance(key, str):
            raise exceptions.InvalidValue(
                f"{where}: dictionary keys must be strings: {describe(key)}"
            )
        if isinstance(item, Mapping | list | tuple):
            continue
        _check_scalar(item, where)
    size = encoded_size(value)
    if size > size_limit:
        raise exceptions.InvalidValue(
            f"{where}: {size} bytes as JSON, beyond the limit of {size_limit} bytes"
        )


def _check_scalar(value: Any, where: str) -> None:
    if value is None or isinstance(value, str | bool):
        return
    if isinstance(value, int):
        check_integer(value, where, exceptions.InvalidValue)
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise exceptions.InvalidValue(f"{where}: not a finite number: {value!r}")
        return
    raise exceptions.InvalidValueType(f"{where}: not JSON data: {describe(value)}")


def _as_dict(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def encoded_size(value: Any) -> int:
    """Bytes of ``value`` (JSON data already checked) as compact UTF-8 JSON."""
    try:
        return len(orjson.dumps(value, default=_as_dict))
    except TypeError:  # integers beyond 64 bits, lone surrogates
        text = json.dumps(value, default=_as_dict, ensure_ascii=False, separators=(",", ":"))
        return len(text.encode("utf-8", "surrogatepass"))


def check_tag_keys(tags: Any, what: str = "tags", reserved: bool = False) -> None:
    """Raise unless ``tags`` is a dict whose keys (at any depth) are strings without ``__``,
    nested at most :data:`MAX_NESTING_DEPTH` levels, without integers beyond
    :data:`MAX_INTEGER_DIGITS` digits.

    With ``reserved``, top-level keys may also not be reserved tag names. Problems of a query
    (``what`` starting with ``query``) raise :class:`InvalidTagQuery`, of tags
    :class:`InvalidValue`.
    """
    if not isinstance(tags, Mapping):
        raise exceptions.InvalidValueType(f"{what} must be a dictionary, not {describe(tags)}")
    if reserved:
        bad = sorted(k for k in tags if isinstance(k, str) and k in RESERVED_TAGS)
        if bad:
            raise exceptions.ReservedTagNameError(f"Reserved tag name(s) used in {what}: {bad}")
    query = what.startswith("query")
    error = exceptions.InvalidTagQuery if query else exceptions.InvalidValue
    for key, item in walk(tags, what, error):
        if key is not None:
            if not isinstance(key, str):
                raise exceptions.ReservedTagNameError(
                    f"Tag keys in {what} must be strings, not {describe(key)}"
                )
            if "__" in key:
                raise exceptions.ReservedTagNameError(
                    f"Tag key {describe(key)} in {what} contains '__'; "
                    "use nested dictionaries instead"
                )
        if isinstance(item, int) and not isinstance(item, bool):
            check_integer(item, what, error)
        elif query and not isinstance(item, _QUERY_DATA):
            # Tags hold JSON data only, so no other operand could match; some (signalling
            # NaN decimals) could not even be compared.
            raise exceptions.InvalidTagQuery(f"{_subject(what)}: not JSON data: {describe(item)}")


@dataclasses.dataclass(frozen=True)
class DeriveSource:
    """One item of ``derive_from``, checked: the source stream (its id as given), the name the
    operator knows it by and the granularity of its datapoints to use (``None``: the source's
    highest)."""

    stream: Any
    name: str | None = None
    granularity: Any = None


def check_derive(
    derive_from: Any, derive_op: Any, derive_args: Any
) -> tuple[list[DeriveSource] | None, dict[str, Any] | None]:
    """The sources named by ``derive_from`` (a stream id, a ``{'stream', 'name',
    'granularity'}`` dictionary or a list of them) and the ``derive_args`` dictionary of
    ``ensure_stream`` (both ``None`` for a stream that is not derived); a bad combination
    raises :class:`InvalidOperatorArguments`, :class:`UnsupportedDeriveOperator` or
    :class:`UnsupportedGranularity`. Whether the sources exist, and fit, the engine decides.

    ``derive_args`` must be JSON data within the limits of tags, and at most
    :data:`~datastream.limits.MAX_DERIVE_ARGS_SIZE` bytes as JSON.
    """
    if derive_from is None:
        if derive_op is not None:
            raise exceptions.InvalidOperatorArguments("'derive_op' given without 'derive_from'")
        return None, None
    if not isinstance(derive_from, list | tuple):
        derive_from = [derive_from]
    sources = [_derive_source(source) for source in derive_from]
    if derive_op is None:
        raise exceptions.InvalidOperatorArguments("Missing 'derive_op' argument")
    if not isinstance(derive_op, str) or derive_op not in DERIVE_OPERATORS:
        raise exceptions.UnsupportedDeriveOperator(
            f"Unsupported derive operator: {describe(derive_op)}"
        )
    if not sources:
        raise exceptions.InvalidOperatorArguments("A derived stream needs a source")
    if derive_args is None:
        derive_args = {}
    if not isinstance(derive_args, Mapping):
        raise exceptions.InvalidOperatorArguments(
            f"Derive arguments must be a dictionary, not {describe(derive_args)}"
        )
    try:
        check_json(derive_args, "derive_args", MAX_DERIVE_ARGS_SIZE)
    except (exceptions.InvalidValue, exceptions.InvalidValueType) as error:
        raise exceptions.InvalidOperatorArguments(str(error)) from None
    return sources, dict(derive_args)


def _derive_source(source: Any) -> DeriveSource:
    if not isinstance(source, Mapping):
        return DeriveSource(source)
    unknown = [key for key in source if key not in ("stream", "name", "granularity")]
    if unknown or "stream" not in source:
        raise exceptions.InvalidOperatorArguments(
            "A derive source dictionary needs 'stream' and may have 'name' and 'granularity'; "
            f"got {describe(list(source))}"
        )
    name, granularity = source.get("name"), source.get("granularity")
    if name is not None and not isinstance(name, str):
        raise exceptions.InvalidOperatorArguments(
            f"A derive source name must be a string, not {describe(name)}"
        )
    if granularity is not None and not Granularity.is_granularity(granularity):
        raise exceptions.UnsupportedGranularity(
            f"Unsupported source granularity: {describe(granularity)}"
        )
    return DeriveSource(source["stream"], name, granularity)


def check_value_type(value_type: Any, options: Any) -> tuple[str, dict[str, Any]]:
    """The value type of ``ensure_stream`` and its options with defaults filled in; an unknown
    type raises :class:`UnsupportedValueType`, bad options :class:`InvalidArgument`."""
    if value_type is None:
        value_type = "numeric"
    if not isinstance(value_type, str) or value_type not in VALUE_TYPES:
        raise exceptions.UnsupportedValueType(f"Unsupported value type: {describe(value_type)}")
    if options is None:
        options = {}
    if not isinstance(options, Mapping):
        raise exceptions.InvalidArgument(
            f"Value type options must be a dictionary, not {describe(options)}"
        )
    options = dict(options)
    known = {"high_accuracy"} if value_type == "numeric" else set()
    unknown = [key for key in options if key not in known]
    if unknown:
        raise exceptions.InvalidArgument(
            f"Unknown value type option(s) for type {value_type!r}: {describe(unknown)}"
        )
    if value_type == "numeric":
        options.setdefault("high_accuracy", False)
        if not isinstance(options["high_accuracy"], bool):
            raise exceptions.InvalidArgument(
                "Value type option 'high_accuracy' must be True or False, not "
                f"{describe(options['high_accuracy'])}"
            )
    return value_type, options


def check_datapoint(datapoint: Any) -> None:
    """Raise unless ``datapoint`` (an item of ``append_multiple``) is a dictionary with
    ``stream_id`` and ``value`` and no keys but those, ``timestamp`` and ``check_timestamp``."""
    if type(datapoint) is not dict and not isinstance(datapoint, Mapping):  # dict: fast path
        raise exceptions.InvalidValueType(f"must be a dictionary, not {describe(datapoint)}")
    if (
        not datapoint.keys() <= _DATAPOINT_KEYS
        or "stream_id" not in datapoint
        or "value" not in datapoint
    ):
        unknown = [key for key in datapoint if key not in _DATAPOINT_KEYS]
        missing = [key for key in ("stream_id", "value") if key not in datapoint]
        raise exceptions.InvalidValue(
            f"unknown keys {describe(unknown)}, missing keys {missing}"
        )


def check_datapoint_list(datapoints: Any) -> None:
    """Raise :class:`InvalidArgument` unless ``datapoints`` is an iterable of datapoints (a
    dictionary or a string is not)."""
    if isinstance(datapoints, Mapping | str | bytes) or not isinstance(datapoints, Iterable):
        raise exceptions.InvalidArgument(
            "append_multiple() takes a list of datapoint dictionaries as 'datapoints', "
            f"not {describe(datapoints)}"
        )


def check_callable(function: Any, what: str) -> None:
    """Raise :class:`InvalidArgument` unless ``function`` is ``None`` or a callable that can
    take one positional argument (as far as its signature tells)."""
    if function is None:
        return
    if not callable(function):
        raise exceptions.InvalidArgument(
            f"{what} must be a callable or None, not {describe(function)}"
        )
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):  # no signature to read (some builtins): trust the caller
        return
    try:
        signature.bind(None)
    except TypeError:
        raise exceptions.InvalidArgument(
            f"{what} must take 1 positional argument, not {describe(function)} with "
            f"signature {signature}"
        ) from None


def normalize_timestamp(timestamp: Any, what: str = "timestamp") -> datetime.datetime:
    """An aware UTC datetime for ``timestamp`` (naive means UTC; any ``tzinfo``, e.g. a
    ``pytz`` zone, is honoured through its ``utcoffset``); anything else raises
    :class:`InvalidTimestamp` naming ``what``.

    A query bound (``start``, ``end``, ``start_exclusive``, ``end_exclusive``, ``until``) whose
    UTC time falls outside ``datetime``'s range becomes ``datetime.min``/``datetime.max`` (it is
    clamped later); a datapoint timestamp there raises.
    """
    if not isinstance(timestamp, datetime.datetime):
        raise exceptions.InvalidTimestamp(
            f"{_subject(what)} must be a datetime.datetime, not {describe(timestamp)}"
        )
    try:
        offset = timestamp.utcoffset()
    except Exception as error:  # a tzinfo implementation that breaks its contract
        raise exceptions.InvalidTimestamp(
            f"{_subject(what)} has an unusable time zone {describe(timestamp.tzinfo)}: {error}"
        ) from None
    if offset is None:
        return timestamp.replace(tzinfo=UTC)
    if not offset:
        return timestamp
    try:
        return timestamp.astimezone(UTC)
    except OverflowError:
        if what in _BOUNDS:
            extreme = datetime.datetime.min if timestamp.year < 5000 else datetime.datetime.max
            return extreme.replace(tzinfo=UTC)
        raise exceptions.InvalidTimestamp(
            f"{_subject(what)} {timestamp.isoformat()} is out of the supported range "
            f"{_RANGE_TEXT}"
        ) from None


def _seconds(timestamp: datetime.datetime) -> int:
    """POSIX seconds of an aware datetime; just outside the supported range where the
    conversion overflows."""
    try:
        return to_seconds(timestamp)
    except OverflowError:
        return MAX_DATAPOINT_SECONDS + 1 if timestamp.year > 5000 else MIN_DATAPOINT_SECONDS - 1


def timestamp_seconds(timestamp: Any, what: str = "timestamp") -> int:
    """POSIX seconds of a datapoint timestamp, checked against the supported range."""
    timestamp = normalize_timestamp(timestamp, what)
    seconds = _seconds(timestamp)
    if not MIN_DATAPOINT_SECONDS <= seconds <= MAX_DATAPOINT_SECONDS:
        raise exceptions.InvalidTimestamp(
            f"{_subject(what)} {timestamp.isoformat()} is out of the supported range "
            f"{_RANGE_TEXT}"
        )
    return seconds


def bound_seconds(timestamp: Any, what: str) -> int:
    """POSIX seconds of a query bound; bounds outside the supported range are clamped."""
    seconds = _seconds(normalize_timestamp(timestamp, what))
    return min(max(seconds, MIN_DATAPOINT_SECONDS - 86400), MAX_DATAPOINT_SECONDS + 86400)


def check_granularity(granularity: Any) -> None:
    """Raise :class:`UnsupportedGranularity` unless ``granularity`` is a granularity class."""
    if not Granularity.is_granularity(granularity):
        raise exceptions.UnsupportedGranularity(
            f"Unsupported granularity: {describe(granularity)}"
        )


def check_downsampler_names(names: Any, kind: str) -> list[str] | None:
    """A list of valid downsampler names (``None`` stays ``None``); unknown names raise."""
    if names is None:
        return None
    known = VALUE_DOWNSAMPLERS if kind == "value" else TIME_DOWNSAMPLERS
    if isinstance(names, str) or not isinstance(names, Iterable):
        raise exceptions.UnsupportedDownsampler(
            f"{kind.capitalize()} downsamplers must be a list of names, not {describe(names)}"
        )
    names = list(names)
    unknown = [n for n in names if not isinstance(n, str) or n not in known]
    if unknown:
        raise exceptions.UnsupportedDownsampler(
            f"Unsupported {kind} downsampler(s): {describe(unknown)}"
        )
    return names


def parse_stream_id(stream_id: Any) -> str:
    """The canonical (lowercase, hyphenated) form of a stream id; malformed ids are not found."""
    if type(stream_id) is str and _CANONICAL_STREAM_ID.fullmatch(stream_id):
        return stream_id  # already canonical: skip building a UUID (batches of appends)
    if isinstance(stream_id, uuid.UUID):
        return str(stream_id)
    if isinstance(stream_id, str):
        try:
            return str(uuid.UUID(stream_id))
        except ValueError:
            pass
    raise exceptions.StreamNotFound(
        f"Stream {describe(stream_id)} not found (not a valid stream id)"
    )
