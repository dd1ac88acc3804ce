"""Retention policies: how long a stream keeps its raw datapoints and each granularity.

A *policy* maps ``"raw"`` and granularity names (``"10seconds"`` … ``"days"``) to how long
that data is kept: a :class:`datetime.timedelta`, a number of seconds, text such as ``"30d"``
(units ``s``, ``m``, ``h``, ``d``, ``w`` and ``y`` = 365 days), or ``None`` for ever. A name a
policy leaves out is kept for ever. For example::

    {"raw": "30d", "10minutes": "365d", "days": None}

A stream may carry its own policy (``ensure_stream(..., retention=...)``), which wins over
the rules given to :meth:`datastream.Datastream.enforce_retention`: a list of
``{"tags": <find_streams query>, "keep": <policy>}``, the first whose tags match applying.

Raw datapoints are never dropped before every coarser granularity has been downsampled past
them, so no bucket is ever computed from missing data.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping, Sequence
from typing import Any

from . import exceptions
from .granularity import Granularity
from .validation import describe

__all__ = ["RAW", "Policy", "parse_policy", "parse_rules"]

#: The key of a policy for the raw datapoints.
RAW = "raw"

#: A checked policy: series name -> seconds kept (``None``: for ever).
Policy = dict[str, int | None]

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "y": 365 * 86400}
_TEXT = re.compile(r"\s*(\d+)\s*([smhdwy])\s*")
_NAMES = (RAW, *(g.name for g in Granularity.values))


def _seconds(name: str, kept: Any) -> int | None:
    if kept is None:
        return None
    if isinstance(kept, datetime.timedelta):
        seconds = kept.total_seconds()
    elif isinstance(kept, int | float) and not isinstance(kept, bool):
        seconds = kept
    elif isinstance(kept, str) and (match := _TEXT.fullmatch(kept)):
        seconds = int(match[1]) * _UNITS[match[2]]
    else:
        raise exceptions.InvalidArgument(
            f"Retention of {name!r} must be a timedelta, a number of seconds, text such as "
            f"'30d' or None (for ever), not {describe(kept)}"
        )
    if not seconds > 0:
        raise exceptions.InvalidArgument(f"Retention of {name!r} must be positive, not {kept!r}")
    return int(seconds)


def parse_policy(policy: Any) -> Policy:
    """A checked policy (see the module docstring); a clear exception names what is wrong."""
    if not isinstance(policy, Mapping):
        raise exceptions.InvalidArgument(
            f"A retention policy must be a mapping such as {{'raw': '30d'}}, not {describe(policy)}"
        )
    checked: Policy = {}
    for name, kept in policy.items():
        if name not in _NAMES:
            raise exceptions.InvalidArgument(
                f"Unknown retention key {name!r}; use 'raw' or a granularity: "
                + ", ".join(repr(n) for n in _NAMES[1:])
            )
        checked[name] = _seconds(name, kept)
    return checked


def parse_rules(rules: Any) -> list[tuple[dict[str, Any], Policy]]:
    """Checked ``(tags query, policy)`` pairs of ``[{"tags": ..., "keep": ...}, ...]``."""
    if not isinstance(rules, Sequence) or isinstance(rules, str | bytes):
        raise exceptions.InvalidArgument(
            f"Retention rules must be a list of {{'tags': ..., 'keep': ...}}, not "
            f"{describe(rules)}"
        )
    parsed = []
    for index, rule in enumerate(rules):
        if not isinstance(rule, Mapping) or set(rule) - {"tags", "keep"} or "keep" not in rule:
            raise exceptions.InvalidArgument(
                f"Retention rule {index} must be {{'tags': <query>, 'keep': <policy>}}, not "
                f"{describe(rule)}"
            )
        tags = rule.get("tags") or {}
        if not isinstance(tags, Mapping):
            raise exceptions.InvalidArgument(f"Retention rule {index}: tags must be a mapping")
        try:
            parsed.append((dict(tags), parse_policy(rule["keep"])))
        except exceptions.InvalidArgument as error:
            raise exceptions.InvalidArgument(f"Retention rule {index}: {error}") from None
    return parsed
