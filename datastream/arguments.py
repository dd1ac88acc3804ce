"""The arguments of a read besides the stream id, declared once.

:class:`DataArguments` is the one list of what ``Datastream.get_data`` (and
``get_open_buckets``) take after ``stream_id``: the engine's ``DataQuery`` adds the stream id
to it, and the Django app's parsed detail query (``DetailQuery``) and its table of query-string
parameters refer to it rather than listing the names again. The facade's signatures name them
explicitly (they are the public API); a test holds them to :data:`DATA_ARGUMENTS`.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

from .granularity import GranularityType

__all__ = ["DATA_ARGUMENTS", "DataArguments"]


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataArguments:
    """The arguments of ``get_data`` after ``stream_id``, in its order."""

    granularity: GranularityType
    start: datetime.datetime | None = None
    end: datetime.datetime | None = None
    start_exclusive: datetime.datetime | None = None
    end_exclusive: datetime.datetime | None = None
    reverse: bool = False
    value_downsamplers: list[str] | None = None
    time_downsamplers: list[str] | None = None

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``get_data`` (besides the stream id), values as they are
        (not ``dataclasses.asdict``: it deep-copies every value, a granularity class
        included)."""
        return {name: getattr(self, name) for name in DATA_ARGUMENTS}


#: The names of the arguments of ``get_data`` after ``stream_id``, in its order.
DATA_ARGUMENTS: tuple[str, ...] = tuple(field.name for field in dataclasses.fields(DataArguments))
