"""The stream catalog: creating streams (derived ones configured here, once, at creation),
their tags, finding and deleting them."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from .. import exceptions
from ..derive import OPERATORS, Source, encode_state
from ..downsamplers import expand_value_downsamplers
from ..granularity import GranularityType
from ..results import Streams
from ..storage import Storage, StreamRecord
from ..tagquery import Condition, matches, parse_query
from ..validation import DeriveSource, check_json
from .records import granularity_of, new_record, tags_of
from .units import Unit, Units, read_record

__all__ = ["Catalog", "StreamSpec", "configure_derived", "resolve_sources"]


@dataclasses.dataclass(frozen=True)
class StreamSpec:
    """What ``ensure_stream`` asks for, already validated by the facade."""

    query_tags: dict[str, Any]
    tags: dict[str, Any]
    value_downsamplers: list[str]
    highest_granularity: GranularityType
    derive_from: list[DeriveSource] | None = None
    derive_op: str | None = None
    derive_args: dict[str, Any] | None = None
    value_type: str = "numeric"
    value_type_options: dict[str, Any] = dataclasses.field(default_factory=dict)
    derive_backprocess: bool = True
    #: The stream's own retention policy (checked), or ``None`` (rules decide).
    retention: dict[str, int | None] | None = None


class Catalog:
    """Streams and their tags."""

    def __init__(self, storage: Storage, units: Units) -> None:
        self.storage = storage
        self.units = units

    # Tags ------------------------------------------------------------------------------------

    def get_tags(self, stream_id: str) -> dict[str, Any]:
        return tags_of(read_record(self.storage, stream_id))

    def update_tags(self, stream_id: str, tags: dict[str, Any]) -> None:
        with self.units.open() as unit:
            record = unit.record(stream_id)
            merged = _deep_copy(record["tags"])
            _merge_leaves(merged, tags)
            check_json(merged, "Tags")
            unit.change(record, tags=merged)

    def remove_tag(self, stream_id: str, tag: dict[str, Any]) -> None:
        with self.units.open() as unit:
            record = unit.record(stream_id)
            remaining = _deep_copy(record["tags"])
            _remove_leaves(remaining, tag)
            unit.change(record, tags=remaining)

    def clear_tags(self, stream_id: str) -> None:
        with self.units.open() as unit:
            unit.change(unit.record(stream_id), tags={})

    # Finding ---------------------------------------------------------------------------------

    def find_streams(self, query_tags: dict[str, Any] | None) -> Streams:
        return Streams(_StreamQuery(self.storage, parse_query(query_tags)))

    def select(self, query_tags: dict[str, Any] | None) -> list[StreamRecord]:
        """Streams for maintenance calls, where a top-level ``stream_id`` selects one stream."""
        query = dict(query_tags or {})
        if "stream_id" in query:
            try:
                record = read_record(self.storage, query.pop("stream_id"))
            except exceptions.StreamNotFound:
                return []
            return [record] if matches(parse_query(query), record["tags"]) else []
        return self.storage.list_streams(parse_query(query))

    # Creating --------------------------------------------------------------------------------

    def ensure_stream(self, spec: StreamSpec) -> str:
        conditions = parse_query(spec.query_tags)
        user_tags = _deep_copy(spec.query_tags)
        user_tags.update(_deep_copy(spec.tags))
        check_json(user_tags, "Tags")
        with self.units.open() as unit:
            found = self.storage.list_streams(conditions, 0, 2)
            if len(found) > 1:
                count = self.storage.count_streams(conditions)
                raise exceptions.MultipleStreamsReturned(
                    f"{count} streams match the query tags {spec.query_tags!r}"
                )
            sources = None
            if spec.derive_from is not None:
                sources = resolve_sources(spec.derive_from, unit)
            if found:
                record = unit.load(found[0]["stream_id"])
                if record is None:
                    raise exceptions.StreamNotFound(f"Stream '{found[0]['stream_id']}' vanished")
                _check_consistent(record, spec, sources)
                if record["tags"] != user_tags:
                    unit.change(record, tags=user_tags)
                if spec.retention is not None and record.get("retention") != spec.retention:
                    unit.change(record, retention=spec.retention)
                return record["stream_id"]

            record = new_record(
                user_tags,
                expand_value_downsamplers(spec.value_downsamplers, spec.value_type),
                spec.highest_granularity,
                spec.value_type,
                spec.value_type_options,
            )
            record["retention"] = spec.retention
            args = spec.derive_args or {}
            if sources is not None:
                configure_derived(record, sources, spec.derive_op, args)
                if spec.derive_backprocess:
                    record["pending_backprocess"] = any(
                        unit.record(s.stream_id)["latest_datapoint"] is not None
                        for s in sources
                    )
            self.storage.insert_stream(record)
            unit.add(record)
            for source in sources or ():
                source_record = unit.record(source.stream_id)
                contributes = dict(source_record["contributes_to"])
                contributes[record["stream_id"]] = {"op": spec.derive_op, "args": args}
                unit.change(source_record, contributes_to=contributes)
            return record["stream_id"]

    # Deleting --------------------------------------------------------------------------------

    def delete_streams(self, query_tags: dict[str, Any] | None) -> None:
        with self.units.open() as unit:
            if query_tags is None:
                self.storage.delete_streams(None)
                return
            records = self.select(query_tags)
            doomed = {r["stream_id"] for r in records}
            blocked = sorted(
                (r["stream_id"], d) for r in records for d in r["contributes_to"] if d not in doomed
            )
            if blocked:
                raise exceptions.OutstandingDependenciesError(
                    "Streams cannot be deleted while other streams are derived from them: "
                    + ", ".join(f"{s} feeds {d}" for s, d in blocked)
                )
            for record in records:
                if record["derived_from"] is None:
                    continue
                for source in record["derived_from"]["sources"]:
                    if source["stream_id"] in doomed:
                        continue
                    source_record = unit.load(source["stream_id"])
                    if source_record is not None:
                        contributes = dict(source_record["contributes_to"])
                        contributes.pop(record["stream_id"], None)
                        unit.change(source_record, contributes_to=contributes)
            if doomed:
                for stream_id in doomed:
                    unit.forget(stream_id)
                self.storage.delete_streams(sorted(doomed))


def resolve_sources(derive_from: list[DeriveSource], unit: Unit) -> list[Source]:
    """The sources of a new derived stream: each source stream's record, as ``unit`` sees it,
    with the granularity of its datapoints to use (at most the source's highest)."""
    sources = []
    for item in derive_from:
        record = unit.record(item.stream)
        highest = granularity_of(record)
        granularity = highest if item.granularity is None else item.granularity
        if granularity > highest:
            raise exceptions.IncompatibleGranularities(
                f"Source stream {record['stream_id']} has highest granularity "
                f"'{highest}', finer '{granularity}' requested"
            )
        sources.append(
            Source(record["stream_id"], item.name, granularity, record["value_type"], highest)
        )
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


class _StreamQuery:
    """``find_streams`` results: matching records, windowed by the storage."""

    def __init__(self, storage: Storage, conditions: list[Condition]) -> None:
        self.storage = storage
        self.conditions = conditions

    def fetch(self, offset: int, limit: int | None, batch_size: int | None) -> Iterator[dict]:
        return (tags_of(r) for r in self.storage.list_streams(self.conditions, offset, limit))

    def count(self, offset: int, limit: int | None) -> int:
        total = max(0, self.storage.count_streams(self.conditions) - offset)
        return total if limit is None else min(total, limit)


def _check_consistent(
    record: StreamRecord, spec: StreamSpec, sources: list[Source] | None
) -> None:
    problems = []
    if record["value_type"] != spec.value_type:
        problems.append(f"value type '{record['value_type']}' != '{spec.value_type}'")
    if record["value_type_options"] != spec.value_type_options:
        problems.append(
            f"value type options {record['value_type_options']} != {spec.value_type_options}"
        )
    derived = record["derived_from"]
    if (derived is None) != (sources is None):
        problems.append("derived and non-derived stream")
    elif derived is not None and sources is not None:
        if derived["op"] != spec.derive_op:
            problems.append(f"derive operator '{derived['op']}' != '{spec.derive_op}'")
        if {s["stream_id"] for s in derived["sources"]} != {s.stream_id for s in sources}:
            problems.append("different source streams")
    if problems:
        raise exceptions.InconsistentStreamConfiguration(
            f"Stream {record['stream_id']} exists with another configuration: "
            + "; ".join(problems)
        )


def _deep_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _deep_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_deep_copy(v) for v in value]
    return value


def _merge_leaves(target: dict[str, Any], updates: dict[str, Any]) -> None:
    for key, value in updates.items():
        if isinstance(value, dict) and value and isinstance(target.get(key), dict):
            _merge_leaves(target[key], value)
        else:
            target[key] = _deep_copy(value)


def _remove_leaves(target: dict[str, Any], removal: dict[str, Any]) -> None:
    for key, value in removal.items():
        if key not in target:
            continue
        if isinstance(value, dict) and value and isinstance(target[key], dict):
            _remove_leaves(target[key], value)
        else:
            del target[key]
