"""Tag queries: parsing a query dictionary into conditions, and matching tags against them.

A query is a (nested) dictionary. Nested dictionaries address nested tag paths; all
conditions must hold. The last key of a path may be a lookup operator::

    {'title': 'Stream 1'}                        equality
    {'title': {'iexact': 'stream 1'}}            case-insensitive equality
    {'visualization': {'value_downsamplers': {'all': ['mean', 'min']}}}

Equality against a stored list matches when the list equals the value or contains it (the
MongoDB rule). The operators are listed in :data:`OPERATORS`; a tag literally named like an
operator can therefore not be addressed by a plain path. Any other key, including ``$where``,
``$regex``, ``$gt`` or a key with dots, is a literal tag name on every backend.

The text operand of a text-match operator (:data:`TEXT_OPERATORS`) is at most
:data:`~datastream.limits.MAX_TEXT_PATTERN_LENGTH` characters long.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .exceptions import InvalidTagQuery
from .limits import MAX_TEXT_PATTERN_LENGTH
from .validation import describe

__all__ = ["LIST_OPERATORS", "OPERATORS", "TEXT_OPERATORS", "Condition", "parse_query", "matches"]

#: Lookup operators usable as the last key of a query path.
OPERATORS = frozenset(
    {
        "exact",
        "iexact",
        "contains",
        "icontains",
        "startswith",
        "istartswith",
        "endswith",
        "iendswith",
        "in",
        "nin",
        "all",
        "gt",
        "gte",
        "lt",
        "lte",
        "ne",
        "exists",
        "size",
    }
)

#: Operators matching text against a text operand (regular expressions on MongoDB).
TEXT_OPERATORS = frozenset(
    {"iexact", "contains", "icontains", "startswith", "istartswith", "endswith", "iendswith"}
)

#: Operators whose operand is a list of values.
LIST_OPERATORS = frozenset({"in", "nin", "all"})
_MISSING = object()


@dataclass(frozen=True)
class Condition:
    """One condition: the tag at ``path`` relates to ``value`` by ``operator``."""

    path: tuple[str, ...]
    operator: str
    value: Any


def parse_query(query: Mapping[str, Any] | None) -> list[Condition]:
    """The conditions of a query dictionary (``None`` or ``{}``: no conditions)."""
    conditions: list[Condition] = []
    if query:
        _parse(query, (), conditions)
    return conditions


def _parse(query: Mapping[str, Any], prefix: tuple[str, ...], out: list[Condition]) -> None:
    for key, value in query.items():
        if prefix and key in OPERATORS:
            if key in LIST_OPERATORS and not isinstance(value, list | tuple | set | frozenset):
                raise InvalidTagQuery(
                    f"Query operator '{key}' needs a list, not {describe(value)}"
                )
            if key == "size" and (isinstance(value, bool) or not isinstance(value, int)):
                raise InvalidTagQuery(
                    f"Query operator 'size' needs an integer, not {describe(value)}"
                )
            if key in TEXT_OPERATORS and isinstance(value, str):
                if len(value) > MAX_TEXT_PATTERN_LENGTH:
                    raise InvalidTagQuery(
                        f"Query operator '{key}' on tag {describe('.'.join(prefix))}: a text "
                        f"operand of {len(value)} characters is beyond the limit of "
                        f"{MAX_TEXT_PATTERN_LENGTH} characters"
                    )
            if key in LIST_OPERATORS:
                value = list(value)
            out.append(Condition(prefix, key, value))
        elif isinstance(value, Mapping) and value:
            _parse(value, (*prefix, key), out)
        else:
            out.append(Condition((*prefix, key), "exact", value))


def _lookup(tags: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(tags, Mapping) or key not in tags:
            return _MISSING
        tags = tags[key]
    return tags


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _comparable(a: Any, b: Any) -> bool:
    return (_is_number(a) and _is_number(b)) or (isinstance(a, str) and isinstance(b, str))


def _equal(a: Any, b: Any) -> bool:
    # Booleans are not numbers in tags: True must not match 1.
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return a == b


def _scalar_match(stored: Any, operator: str, value: Any) -> bool:
    if operator == "exact":
        return _equal(stored, value)
    if operator in ("gt", "gte", "lt", "lte"):
        if not _comparable(stored, value):
            return False
        if operator == "gt":
            return stored > value
        if operator == "gte":
            return stored >= value
        if operator == "lt":
            return stored < value
        return stored <= value
    if operator == "in":
        return any(_equal(stored, item) for item in value)
    if not isinstance(stored, str) or not isinstance(value, str):
        return False
    if operator == "iexact":
        return stored.casefold() == value.casefold()
    if operator == "contains":
        return value in stored
    if operator == "icontains":
        return value.casefold() in stored.casefold()
    if operator == "startswith":
        return stored.startswith(value)
    if operator == "istartswith":
        return stored.casefold().startswith(value.casefold())
    if operator == "endswith":
        return stored.endswith(value)
    if operator == "iendswith":
        return stored.casefold().endswith(value.casefold())
    raise ValueError(f"Unknown query operator {operator!r}")


def _match(stored: Any, operator: str, value: Any) -> bool:
    if operator == "exists":
        return (stored is not _MISSING) == bool(value)
    if stored is _MISSING:
        return operator in ("ne", "nin")
    if operator == "size":
        return isinstance(stored, list) and len(stored) == value
    if operator == "all":
        if not isinstance(stored, list):
            return len(value) > 0 and all(_equal(stored, item) for item in value)
        return len(value) > 0 and all(any(_equal(s, item) for s in stored) for item in value)
    if operator == "ne":
        return not _match(stored, "exact", value)
    if operator == "nin":
        return not _match(stored, "in", value)
    if isinstance(stored, list):
        if operator == "exact" and _equal(stored, value):
            return True
        return any(_scalar_match(item, operator, value) for item in stored)
    return _scalar_match(stored, operator, value)


def matches(conditions: list[Condition], tags: Mapping[str, Any]) -> bool:
    """True if ``tags`` satisfy every condition."""
    return all(_match(_lookup(tags, c.path), c.operator, c.value) for c in conditions)
