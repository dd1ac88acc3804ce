"""Reading a stream record: its granularity, stored keys, value options and public tags."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from ..constants import TIME_DOWNSAMPLERS, VALUE_DOWNSAMPLERS
from ..granularity import Granularity, GranularityType, from_seconds
from ..storage import StreamRecord

__all__ = [
    "TIME_NAMES",
    "granularity_of",
    "high_accuracy",
    "new_record",
    "tags_of",
    "to_datetime",
    "value_keys",
]

#: Every time downsampler name: each stream stores them all.
TIME_NAMES = list(TIME_DOWNSAMPLERS)
_LOWER = {g: Granularity.lower_than(g) for g in Granularity.values}


def granularity_of(record: StreamRecord) -> GranularityType:
    """The stream's highest granularity."""
    return Granularity.by_attribute[record["highest_granularity"]]


def value_keys(record: StreamRecord) -> list[str]:
    """The one-letter keys of the value downsamplers the stream stores."""
    return [VALUE_DOWNSAMPLERS[name] for name in record["value_downsamplers"]]


def high_accuracy(record: StreamRecord) -> bool:
    """Whether the stream keeps numbers as exact decimals."""
    return bool(record["value_type_options"].get("high_accuracy"))


def to_datetime(seconds: int | None) -> datetime.datetime | None:
    return None if seconds is None else from_seconds(seconds)


def new_record(
    tags: dict[str, Any],
    value_downsamplers: list[str],
    highest_granularity: GranularityType,
    value_type: str,
    value_type_options: dict[str, Any],
) -> StreamRecord:
    """The record of a new, empty, non-derived stream with a fresh id."""
    return StreamRecord(
        stream_id=str(uuid.uuid4()),
        tags=tags,
        value_downsamplers=value_downsamplers,
        highest_granularity=highest_granularity.__name__,
        value_type=value_type,
        value_type_options=dict(value_type_options),
        earliest_datapoint=None,
        latest_datapoint=None,
        downsampled_until={g.name: None for g in _LOWER[highest_granularity]},
        derived_from=None,
        derive_state=None,
        contributes_to={},
        pending_backprocess=False,
        version=0,
        last_downsampling_error=None,
        data_version=0,
        head_count=0,
        sealed_until=None,
        retention=None,
        retained_since={},
    )


def tags_of(record: StreamRecord) -> dict[str, Any]:
    """The ``get_tags`` dictionary: user tags plus the reserved metadata keys."""
    highest = granularity_of(record)
    tags = dict(record["tags"])
    tags.update(
        stream_id=record["stream_id"],
        value_downsamplers=list(record["value_downsamplers"]),
        time_downsamplers=list(TIME_NAMES),
        highest_granularity=highest,
        pending_backprocess=bool(record["pending_backprocess"]),
        earliest_datapoint=to_datetime(record["earliest_datapoint"]),
        latest_datapoint=to_datetime(record["latest_datapoint"]),
        value_type=record["value_type"],
        value_type_options=dict(record["value_type_options"]),
        downsampled_until={
            g.name: to_datetime(record["downsampled_until"].get(g.name)) for g in _LOWER[highest]
        },
    )
    derived = record["derived_from"]
    if derived is not None:
        tags["derived_from"] = {
            "stream_ids": [s["stream_id"] for s in derived["sources"]],
            "op": derived["op"],
            "args": dict(derived["args"]),
        }
    if record["contributes_to"]:
        tags["contributes_to"] = {
            derived_id: {"op": entry["op"], "args": dict(entry["args"])}
            for derived_id, entry in record["contributes_to"].items()
        }
    failure = record.get("last_downsampling_error")
    if failure:
        tags["last_downsampling_error"] = {
            "at": from_seconds(failure["at"]),
            "error": failure["error"],
        }
    return tags
