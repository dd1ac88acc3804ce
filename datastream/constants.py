"""Names, one-letter keys and fixed points shared by the library, the backends and the HTTP
API, each defined once (the limits of the library are in :mod:`datastream.limits`)."""

import datetime

__all__ = [
    "DERIVE_OPERATORS",
    "RESERVED_TAGS",
    "TEXT_VALUE_KEYS",
    "TIMESTAMP_TIME_KEYS",
    "TIME_DOWNSAMPLERS",
    "UNIX_EPOCH",
    "VALUE_DOWNSAMPLERS",
    "VALUE_TYPES",
]

#: 1970-01-01T00:00:00Z, second 0 of POSIX time (aware, UTC).
UNIX_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)

#: Value downsampler name -> one-letter key used in downsampled datapoints (``v``).
VALUE_DOWNSAMPLERS: dict[str, str] = {
    "mean": "m",
    "sum": "s",
    "min": "l",
    "max": "u",
    "sum_squares": "q",
    "std_dev": "d",
    "count": "c",
    "median": "n",
    "most_often": "o",
    "least_often": "r",
    "frequencies": "f",
}

#: Time downsampler name -> one-letter key used in downsampled datapoints (``t``).
TIME_DOWNSAMPLERS: dict[str, str] = {
    "mean": "m",
    "first": "a",
    "last": "z",
    "intervals_mean": "i",
    "intervals_min": "l",
    "intervals_max": "u",
    "intervals_sum_squares": "q",
    "intervals_std_dev": "d",
}

#: Keys of a downsampled datapoint's time summary (``t``) that hold timestamps: first, last
#: and mean. The other time keys are durations (intervals between datapoints).
TIMESTAMP_TIME_KEYS: tuple[str, ...] = ("a", "z", "m")

#: Keys of a downsampled datapoint's value summary (``v``) whose values may be text, lists or
#: dictionaries even in a numeric stream (frequencies, most and least often).
TEXT_VALUE_KEYS = frozenset({"f", "o", "r"})

#: Derive operator name -> token (only the names matter).
DERIVE_OPERATORS: dict[str, str] = {
    "sum": "SUM",
    "derivative": "DERIVATIVE",
    "counter_reset": "COUNTER_RESET",
    "counter_derivative": "COUNTER_DERIVATIVE",
}

VALUE_TYPES: tuple[str, ...] = ("numeric", "graph", "nominal")

#: Tag names that hold stream metadata and can therefore not be used as user tags.
RESERVED_TAGS: tuple[str, ...] = (
    "stream_id",
    "value_downsamplers",
    "time_downsamplers",
    "highest_granularity",
    "derived_from",
    "contributes_to",
    "pending_backprocess",
    "latest_datapoint",
    "earliest_datapoint",
    "downsampled_until",
    "value_type",
    "value_type_options",
    "last_downsampling_error",
)
