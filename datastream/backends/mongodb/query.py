"""Tag-query conditions translated to a MongoDB filter over stream documents.

The filter is a *superset* filter: every stream that :func:`datastream.tagquery.matches`
accepts is returned by the server, and the backend then applies ``matches`` to what comes
back, so the result equals the engine's semantics exactly. Where MongoDB's rules differ from
the engine's, the condition is translated to something weaker (or dropped), never stronger:

* MongoDB follows arrays inside dotted paths and the engine does not, which only widens
  positive conditions; negative ones (``ne``, ``nin``, ``exists: False``) are therefore not
  sent to the server.
* Booleans never equal numbers on either side, but inside lists the engine compares with
  Python's ``==`` (``[True] == [1]``) and dictionaries without key order; list and
  dictionary operands are only sent when they cannot hit those differences.
* Case-insensitive operators fold case with ``str.casefold`` in the engine; the server's
  case-insensitive regular expression agrees on ASCII text, so for an ASCII operand the filter
  also admits every stored string with a non-ASCII character.
* Regular expressions are built from escaped literals (``re.escape``), so a pattern never
  holds an operator of the user's; a pattern longer than :data:`MAX_PATTERN` characters (servers
  cap regular expressions, SecantusDB at 1,000 characters) is replaced by "is a string".
* Tag names are never operators: a path with a key MongoDB would not take literally (a ``$``
  prefix such as ``$where`` or ``$gt``, a dot, an empty key) is not sent to the server at all.

Tags that BSON cannot store natively live as JSON text in ``tags_json``; such streams always
pass the filter.
"""

from __future__ import annotations

import re
from typing import Any

from ...limits import INT64_MAX, INT64_MIN
from ...tagquery import Condition
from .codec import is_plain_key, is_plain_string

__all__ = ["MAX_PATTERN", "tags_filter"]

#: The longest regular expression sent to the server (longer ones are checked locally only).
MAX_PATTERN = 1000

_NON_ASCII = {"$regex": "[^\\x00-\\x7f]"}


def tags_filter(conditions: list[Condition]) -> dict[str, Any]:
    """A filter on stream documents admitting at least every stream matching ``conditions``."""
    parts = [part for part in map(_condition, conditions) if part is not None]
    if not parts:
        return {}
    native = parts[0] if len(parts) == 1 else {"$and": parts}
    return {"$or": [native, {"tags_json": {"$exists": True}}]}


def _condition(condition: Condition) -> dict[str, Any] | None:
    if not all(is_plain_key(key) for key in condition.path):
        return None
    field = "tags." + ".".join(condition.path)
    operator, value = condition.operator, condition.value
    if operator == "exact":
        return {field: {"$eq": value}} if _safe_operand(value) else None
    if operator == "in":
        if all(_safe_operand(item) for item in value):
            return {field: {"$in": list(value)}}
        return None
    if operator == "all":
        if value and all(_scalar(item) for item in value):
            return {field: {"$all": list(value)}}
        return None
    if operator in ("gt", "gte", "lt", "lte"):
        if isinstance(value, str) and "\x00" not in value or _number(value):
            return {field: {"$" + operator: value}}
        return None
    if operator == "exists":
        return {field: {"$exists": True}} if value else None
    if operator == "size":
        return {field: {"$size": value}} if 0 <= value <= INT64_MAX else None
    if operator in ("contains", "startswith", "endswith"):
        if not isinstance(value, str) or "\x00" in value:
            return None
        pattern = _anchored(operator, re.escape(value))
        if len(pattern) > MAX_PATTERN:
            return {field: {"$type": "string"}}
        return {field: {"$regex": pattern}}
    if operator in ("iexact", "icontains", "istartswith", "iendswith"):
        if not isinstance(value, str) or "\x00" in value or not value.isascii():
            return {field: {"$type": "string"}}
        pattern = _anchored(operator[1:], re.escape(value))
        if len(pattern) > MAX_PATTERN:
            return {field: {"$type": "string"}}
        return {
            "$or": [
                {field: {"$regex": pattern, "$options": "i"}},
                {field: _NON_ASCII},
            ]
        }
    return None  # ne, nin, exists=False: not narrowed on the server


def _anchored(operator: str, pattern: str) -> str:
    if operator == "exact":
        return f"^{pattern}$"
    if operator == "startswith":
        return f"^{pattern}"
    if operator == "endswith":
        return f"{pattern}$"
    return pattern


def _number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return INT64_MIN <= value <= INT64_MAX
    return isinstance(value, float)


def _scalar(value: Any) -> bool:
    """Operands compared the same way by MongoDB and the engine."""
    if value is None or isinstance(value, bool) or _number(value):
        return True
    return isinstance(value, str) and is_plain_string(value)


def _safe_operand(value: Any) -> bool:
    if _scalar(value):
        return True
    if isinstance(value, dict):
        return not value  # only the empty document compares equally on both sides
    if isinstance(value, list):
        # Lists of strings (and nulls, and such lists) compare element by element alike.
        return all(
            item is None or isinstance(item, str) and is_plain_string(item)
            or isinstance(item, list) and _safe_operand(item)
            for item in value
        )
    return False

