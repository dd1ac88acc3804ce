"""Derived streams: their configuration, feeding them, and backprocessing."""

from __future__ import annotations

import heapq
import logging
import warnings
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from .. import exceptions
from ..derive import OPERATORS, OperatorContext, Source, decode_state, encode_state
from ..granularity import Granularity, GranularityType
from ..limits import MAX_SECONDS, MIN_SECONDS
from ..storage import Storage, StreamRecord
from ..values import decode_value, encode_number
from .reads import BucketQuery, RawQuery
from .records import granularity_of, high_accuracy
from .units import Unit, Units

if TYPE_CHECKING:
    from .writes import Writer

__all__ = ["DerivedStreams", "Source", "configure_derived", "resolve_sources"]

logger = logging.getLogger(__name__)


def resolve_sources(
    derive_from: list[Any], load: Callable[[Any], StreamRecord]
) -> list[Source]:
    """The sources ``derive_from`` names (stream ids or ``{'stream', 'name', 'granularity'}``)."""
    sources = []
    for item in derive_from:
        name, granularity = None, None
        if isinstance(item, dict):
            unknown = set(item) - {"stream", "name", "granularity"}
            if unknown or "stream" not in item:
                raise exceptions.InvalidOperatorArguments(
                    "A derive source dictionary needs 'stream' and may have 'name' and "
                    f"'granularity'; got {sorted(item)}"
                )
            name, granularity = item.get("name"), item.get("granularity")
            if name is not None and not isinstance(name, str):
                raise exceptions.InvalidOperatorArguments(
                    f"A derive source name must be a string, not {name!r}"
                )
            item = item["stream"]
        record = load(item)
        highest = granularity_of(record)
        if granularity is None:
            granularity = highest
        elif not Granularity.is_granularity(granularity):
            raise exceptions.UnsupportedGranularity(
                f"Unsupported source granularity: {granularity!r}"
            )
        elif granularity > highest:
            raise exceptions.IncompatibleGranularities(
                f"Source stream {record['stream_id']} has highest granularity "
                f"'{highest}', finer '{granularity}' requested"
            )
        sources.append(
            Source(record["stream_id"], name, granularity, record["value_type"], highest)
        )
    if not sources:
        raise exceptions.InvalidOperatorArguments("A derived stream needs a source")
    return sources


def configure_derived(
    record: StreamRecord, sources: list[Source], op_name: Any, args: dict[str, Any]
) -> None:
    """Make the new ``record`` derived from ``sources`` with operator ``op_name``."""
    operator = OPERATORS[op_name]
    if record["value_type"] != operator.value_type:
        raise exceptions.UnsupportedDeriveOperator(
            f"Derivation operator '{op_name}' does not support type '{record['value_type']}'"
        )
    try:
        encode_state(args)
    except (TypeError, ValueError) as error:
        raise exceptions.InvalidOperatorArguments(
            f"Derive arguments must be JSON data: {error}"
        ) from None
    operator.validate(sources, granularity_of(record), args)
    record["derived_from"] = {
        "sources": [
            {"stream_id": s.stream_id, "name": s.name, "granularity": s.granularity.__name__}
            for s in sources
        ],
        "op": op_name,
        "args": dict(args),
    }


class DerivedStreams:
    """Feeds derived streams from their sources' datapoints, live or replayed."""

    def __init__(self, storage: Storage, units: Units, writer: Writer) -> None:
        self.storage = storage
        self.units = units
        self.writer = writer

    def feed(
        self,
        unit: Unit,
        source: StreamRecord,
        granularity: GranularityType,
        seconds: int,
        value: Any,
    ) -> None:
        """Give a source datapoint at ``granularity`` to every stream derived from it."""
        for derived_id in source["contributes_to"]:
            derived = unit.load(derived_id)
            if derived is None:
                warnings.warn(
                    f"Stream {source['stream_id']} contributes to missing stream {derived_id}",
                    exceptions.InternalInconsistencyWarning,
                    stacklevel=2,
                )
                continue
            if derived["pending_backprocess"]:
                continue
            for index, s in enumerate(derived["derived_from"]["sources"]):
                if (
                    s["stream_id"] == source["stream_id"]
                    and Granularity.by_attribute[s["granularity"]] == granularity
                ):
                    self.apply(unit, derived, index, seconds, value)

    def apply(
        self, unit: Unit, derived: StreamRecord, index: int, seconds: int, value: Any
    ) -> None:
        """Run the operator of ``derived`` on source ``index``'s datapoint; store its output."""
        spec = derived["derived_from"]
        operator = OPERATORS[spec["op"]]
        accurate = high_accuracy(derived)
        context = OperatorContext(
            sources=len(spec["sources"]),
            duration=granularity_of(derived).seconds,
            high_accuracy=accurate,
        )
        state, outputs = operator.update(
            decode_state(derived["derive_state"]), index, seconds, value, spec["args"], context
        )
        unit.change(derived, derive_state=encode_state(state))
        for t, v in outputs:
            if derived["latest_datapoint"] is not None and t < derived["latest_datapoint"]:
                logger.debug("Skipping out-of-order derived datapoint for %s", derived["stream_id"])
                continue
            stored = v
            if v is not None and derived["value_type"] == "numeric":
                stored = encode_number(v, accurate)
            self.writer.store(unit, derived, t, stored, check=True)
        latest = derived["latest_datapoint"]
        if not outputs and operator.follows_input_time and (latest is None or seconds > latest):
            # Let the derived stream's downsampling progress although nothing was appended
            # (its earliest datapoint stays that of its first real datapoint).
            unit.change(derived, latest_datapoint=seconds)

    def backprocess(self, records: list[StreamRecord]) -> None:
        """Replay the sources of every stream of ``records`` still pending backprocessing."""
        for record in records:
            if record["pending_backprocess"]:
                self._backprocess(record["stream_id"], set())

    def _backprocess(self, stream_id: str, visiting: set[str]) -> None:
        if stream_id in visiting:
            return
        visiting.add(stream_id)
        record = self.storage.load_stream(stream_id)
        if record is None or not record["pending_backprocess"]:
            return
        sources = record["derived_from"]["sources"]
        for source in sources:
            source_record = self.storage.load_stream(source["stream_id"])
            if source_record is not None and source_record["pending_backprocess"]:
                self._backprocess(source["stream_id"], visiting)
        with self.units.open() as unit:
            derived = unit.load(stream_id)
            if derived is None or not derived["pending_backprocess"]:
                return
            # Start from a clean slate so that replaying cannot collide with earlier output.
            self.storage.delete_datapoints(derived)
            unit.change(
                derived,
                derive_state=None,
                earliest_datapoint=None,
                latest_datapoint=None,
                downsampled_until=dict.fromkeys(derived["downsampled_until"]),
                version=derived["version"] + 1,
            )
            replays = []
            for index, source in enumerate(sources):
                source_record = unit.load(source["stream_id"])
                granularity = Granularity.by_attribute[source["granularity"]]
                replays.append(self._replay(source_record, granularity, index))
            derived["pending_backprocess"] = False
            # Merge by time; at equal times, sources in declaration order.
            for _key, index, seconds, value in heapq.merge(*replays, key=lambda item: item[0]):
                self.apply(unit, derived, index, seconds, value)
            unit.change(derived, pending_backprocess=False)

    def _replay(
        self, record: StreamRecord, granularity: GranularityType, index: int
    ) -> Iterator[tuple[tuple[int, int], int, int, Any]]:
        accurate = high_accuracy(record)
        if granularity == granularity_of(record):
            raw = RawQuery(self.storage, record, MIN_SECONDS, MAX_SECONDS + 1, False)
            for seconds, stored in raw.rows(0, None, 10000):
                yield (seconds, index), index, seconds, decode_value(stored, accurate)
        else:
            buckets = BucketQuery(
                self.storage, record, granularity, MIN_SECONDS, MAX_SECONDS + 1, False, None, []
            )
            for bucket, value, _time in buckets.rows(0, None):
                yield (bucket, index), index, bucket, value
