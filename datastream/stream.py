"""The :class:`Stream` descriptor built from a ``get_tags`` dictionary."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import exceptions

__all__ = ["Stream"]

_REQUIRED = (
    "stream_id",
    "value_downsamplers",
    "time_downsamplers",
    "highest_granularity",
    "pending_backprocess",
    "latest_datapoint",
    "earliest_datapoint",
    "value_type",
    "value_type_options",
)
_OPTIONAL = ("downsampled_until", "derived_from", "contributes_to", "last_downsampling_error")


class Stream:
    """A stream's metadata as attributes, and its user tags as :attr:`tags`.

    ``downsampled_until``, ``derived_from``, ``contributes_to`` and ``last_downsampling_error``
    are set only when present.
    """

    def __init__(self, all_tags: Mapping[str, Any]) -> None:
        if not isinstance(all_tags, Mapping):
            raise exceptions.InvalidValueType("Stream() takes the dictionary get_tags() returns")
        missing = [key for key in _REQUIRED if key not in all_tags]
        if missing:
            raise exceptions.InvalidValue(f"Supplied tags are missing {missing}")
        self.id = all_tags["stream_id"]
        self.value_downsamplers = all_tags["value_downsamplers"]
        self.time_downsamplers = all_tags["time_downsamplers"]
        self.highest_granularity = all_tags["highest_granularity"]
        self.pending_backprocess = bool(all_tags["pending_backprocess"])
        self.latest_datapoint = all_tags["latest_datapoint"]
        self.earliest_datapoint = all_tags["earliest_datapoint"]
        self.value_type = all_tags["value_type"]
        self.value_type_options = all_tags["value_type_options"]
        for key in _OPTIONAL:
            if key in all_tags:
                setattr(self, key, all_tags[key])
        self.tags = {
            key: value
            for key, value in all_tags.items()
            if key not in _REQUIRED and key not in _OPTIONAL
        }

    def __repr__(self) -> str:
        return f"<Stream {self.id} {self.tags!r}>"
