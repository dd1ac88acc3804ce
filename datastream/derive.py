"""Derive operators: how a derived stream turns its sources' datapoints into its own.

An operator is validated once, when the derived stream is created, and then fed one source
datapoint at a time: ``update(state, index, t, v, args, context)`` (``index`` is the source's
position in the derived stream's sources, ``context`` an :class:`OperatorContext`) returns the
new state and the datapoints ``[(t, v), ...]`` to append to the derived stream. States are
plain JSON-compatible values, encoded with :func:`encode_state` so that big integers and
Decimals survive storage.

Downsampled source datapoints (dictionaries) are used through their mean (``s / c``); an empty
bucket counts as a null value.
"""

from __future__ import annotations

import decimal
import json
import numbers
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import exceptions
from .downsamplers import DECIMAL_CONTEXT

__all__ = ["OPERATORS", "Operator", "OperatorContext", "Source", "decode_state", "encode_state"]

#: How many incomplete ``sum`` buckets are kept before the oldest is dropped.
SUM_PENDING_BUCKETS = 50


@dataclass(frozen=True)
class Source:
    """One source of a derived stream, as the operator sees it at creation time."""

    stream_id: str
    name: str | None
    granularity: Any
    value_type: str
    highest_granularity: Any


@dataclass(frozen=True)
class OperatorContext:
    """What every operator's ``update`` learns about the derived stream it feeds."""

    #: How many sources the derived stream has.
    sources: int
    #: Length in seconds of one bucket of the derived stream's highest granularity.
    duration: int
    #: Whether the derived stream keeps exact decimals.
    high_accuracy: bool


class _StateEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            return {"$decimal": str(o)}
        return super().default(o)


def _state_hook(obj: dict) -> Any:
    if len(obj) == 1 and "$decimal" in obj:
        return decimal.Decimal(obj["$decimal"])
    return obj


def encode_state(state: Any) -> str | None:
    """JSON text of an operator state (``None`` stays ``None``)."""
    return None if state is None else json.dumps(state, cls=_StateEncoder)


def decode_state(text: str | None) -> Any:
    """The operator state stored as ``text``."""
    return None if text is None else json.loads(text, object_hook=_state_hook)


def _number(value: Any, operator: str) -> Any:
    """A number for ``value``, ``None`` for a null value, or ``_SKIP`` (with a warning)."""
    if value is None:
        return None
    if isinstance(value, dict):
        count, total = value.get("c"), value.get("s")
        if not count or total is None:
            return None
        return total / count
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return value
    warnings.warn(
        f"Operator '{operator}' ignored a value it cannot use as a number: {value!r}",
        exceptions.InvalidValueWarning,
        stacklevel=3,
    )
    return _SKIP


_SKIP = object()


def _rate_outputs(t: int, delta: Any, dt: int, high_accuracy: bool, what: str) -> list:
    """``[(t, delta / dt)]``, or nothing (with a warning) when no time passed."""
    if dt == 0:
        warnings.warn(
            f"Zero time-delta in {what} computation, datapoint skipped",
            exceptions.InvalidValueWarning,
            stacklevel=3,
        )
        return []
    return [(t, _rate(delta, dt, high_accuracy))]


def _rate(delta: Any, dt: int, high_accuracy: bool) -> Any:
    if high_accuracy:
        with decimal.localcontext(DECIMAL_CONTEXT):
            return decimal.Decimal(delta) / dt
    if isinstance(delta, decimal.Decimal):
        return float(delta) / dt
    return delta / dt


class Operator:
    """Base class of derive operators."""

    name = ""
    value_type = "numeric"
    #: Whether the derived stream's latest datapoint follows its input's time when an input
    #: produced no output (so that its downsampling progresses). Operators that emit at an
    #: earlier time than their input (a bucket start) must not: later output would be older.
    follows_input_time = True

    def validate(
        self, sources: Sequence[Source], highest_granularity: Any, args: dict[str, Any]
    ) -> None:
        """Raise if the sources or arguments do not fit the operator."""

    def update(
        self, state: Any, index: int, t: int, v: Any, args: dict[str, Any],
        context: OperatorContext,
    ) -> tuple[Any, list[tuple[int, Any]]]:
        """Feed source ``index``'s datapoint ``(t, v)``; returns ``(state, outputs)``."""
        raise NotImplementedError

    @staticmethod
    def _require_numeric(sources: Sequence[Source]) -> None:
        for source in sources:
            if source.value_type != "numeric":
                raise exceptions.IncompatibleTypes(
                    f"Source stream {source.stream_id} has type '{source.value_type}', "
                    "not 'numeric'"
                )

    @staticmethod
    def _require_granularity(sources: Sequence[Source], highest_granularity: Any) -> None:
        for source in sources:
            if source.granularity != highest_granularity:
                raise exceptions.IncompatibleGranularities(
                    f"Source stream {source.stream_id} is used at granularity "
                    f"'{source.granularity}', the derived stream's highest granularity is "
                    f"'{highest_granularity}'"
                )


class SumOperator(Operator):
    """Per bucket of the derived stream, the sum of the latest value of every source."""

    name = "sum"
    follows_input_time = False

    def validate(self, sources, highest_granularity, args):
        if not sources:
            raise exceptions.InvalidOperatorArguments("'sum' needs at least one source")
        self._require_numeric(sources)
        self._require_granularity(sources, highest_granularity)

    def update(self, state, index, t, v, args, context):
        value = _number(v, self.name)
        if value is _SKIP:
            return state, []
        state = dict(state or {})
        bucket = str(t - t % context.duration)
        contributions = dict(state.get(bucket, {}))
        contributions[str(index)] = value
        state[bucket] = contributions
        outputs = []
        if len(contributions) == context.sources:
            present = [x for x in contributions.values() if x is not None]
            if present:
                if context.high_accuracy:
                    with decimal.localcontext(DECIMAL_CONTEXT):
                        total = sum((decimal.Decimal(x) for x in present), decimal.Decimal(0))
                else:
                    total = sum(present)
            else:
                total = None
            outputs.append((int(bucket), total))
            state = {key: val for key, val in state.items() if int(key) > int(bucket)}
        while len(state) > SUM_PENDING_BUCKETS:
            del state[min(state, key=int)]
        return state, outputs


class DerivativeOperator(Operator):
    """Rate of change between consecutive datapoints of one source, per second."""

    name = "derivative"

    def validate(self, sources, highest_granularity, args):
        if len(sources) != 1:
            raise exceptions.InvalidOperatorArguments("'derivative' needs exactly one source")
        self._require_numeric(sources)
        self._require_granularity(sources, highest_granularity)

    def update(self, state, index, t, v, args, context):
        value = _number(v, self.name)
        if value is _SKIP:
            return state, []
        if value is None:
            return None, [(t, None)]
        outputs = []
        if state is not None:
            outputs = _rate_outputs(
                t, value - state["v"], t - state["t"], context.high_accuracy, "derivative"
            )
        return {"t": t, "v": value}, outputs


class CounterResetOperator(Operator):
    """Emits ``1`` whenever a counter's value goes down (a reset)."""

    name = "counter_reset"
    value_type = "nominal"

    def validate(self, sources, highest_granularity, args):
        if len(sources) != 1:
            raise exceptions.InvalidOperatorArguments(
                "'counter_reset' needs exactly one source"
            )
        self._require_numeric(sources)

    def update(self, state, index, t, v, args, context):
        value = _number(v, self.name)
        if value is _SKIP or value is None:
            return state, []
        outputs = [(t, 1)] if state is not None and state["v"] > value else []
        return {"v": value}, outputs


class CounterDerivativeOperator(Operator):
    """Rate of a counter that may wrap around (``max_value``) or be reset (``reset`` input)."""

    name = "counter_derivative"

    def validate(self, sources, highest_granularity, args):
        if len(sources) != 2 or sources[0].name != "reset" or sources[1].name is not None:
            raise exceptions.InvalidOperatorArguments(
                "'counter_derivative' needs two sources: the first named 'reset', "
                "the second (the counter) without a name"
            )
        self._require_numeric(sources[1:])
        max_value = args.get("max_value")
        if max_value is not None and (
            isinstance(max_value, bool) or not isinstance(max_value, numbers.Number)
        ):
            raise exceptions.InvalidOperatorArguments(
                f"'max_value' must be a number, not {max_value!r}"
            )

    def update(self, state, index, t, v, args, context):
        if index == 0:  # the reset input
            if v is None:
                return None, [(t, None)]
            return (None, []) if v else (state, [])
        value = _number(v, self.name)
        if value is _SKIP:
            return state, []
        if value is None:
            return None, [(t, None)]
        outputs = []
        if state is not None:
            delta = value - state["v"]
            if state["v"] > value:
                if args.get("max_value") is not None:
                    delta = args["max_value"] - state["v"] + value
                else:
                    warnings.warn(
                        "Counter went down without a 'max_value'; assuming reset",
                        exceptions.InvalidValueWarning,
                        stacklevel=2,
                    )
                    delta = None
            if delta is not None:
                outputs = _rate_outputs(
                    t, delta, t - state["t"], context.high_accuracy, "counter derivative"
                )
        return {"t": t, "v": value}, outputs


#: Operator name -> operator.
OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (SumOperator(), DerivativeOperator(), CounterResetOperator(),
               CounterDerivativeOperator())
}
