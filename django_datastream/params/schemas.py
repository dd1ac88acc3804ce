"""The kinds of value a query-string parameter takes, each with its OpenAPI schema and the
wording its description adds.

Each entry of :data:`django_datastream.params.table.PARAMETERS` carries one of these (and the
meaning of the parameter); :mod:`django_datastream.openapi` writes the parameters from them.
The words of the parsers (:mod:`django_datastream.params.parse`, which reads the table) and the
cursor's token are looked up when a schema is written, not when this module is imported.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Mapping
from typing import Any

from datastream.limits import MAX_BOUND_SECONDS, MIN_BOUND_SECONDS

__all__ = ["Boolean", "Choice", "Context", "Count", "Names", "Time", "Token"]


@dataclasses.dataclass(frozen=True)
class Context:
    """What the schemas and descriptions of one endpoint's parameters depend on."""

    #: The largest page (``limit``) and the largest ``max_points``.
    page_max: int
    #: The page size without ``limit``.
    default_limit: int
    #: What ``limit=0`` gives.
    zero: str


@dataclasses.dataclass(frozen=True)
class Choice:
    """One of ``values``."""

    values: tuple[str, ...]

    def schema(self, context: Context) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.values)}

    def describe(self, meaning: str, context: Context) -> str:
        return meaning


def _any_case(word: str) -> str:
    """A regular expression matching ``word`` in any ASCII case."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in word)


@dataclasses.dataclass(frozen=True)
class Boolean:
    """A true or false word, in any case."""

    def schema(self, context: Context) -> dict[str, Any]:
        from .parse import FALSE_WORDS, TRUE_WORDS

        words = "|".join(_any_case(word) for word in (*TRUE_WORDS, *FALSE_WORDS))
        return {"type": "string", "pattern": f"^({words})$"}

    def describe(self, meaning: str, context: Context) -> str:
        from .parse import FALSE_WORDS, TRUE_WORDS

        return (
            f"{meaning} A boolean: {', '.join(TRUE_WORDS)} (true) or "
            f"{', '.join(FALSE_WORDS)} (false), in any case; anything else answers 400."
        )


@dataclasses.dataclass(frozen=True)
class Time:
    """A time bound; ``ceiling``: a bound that rounds a fraction of a second up."""

    ceiling: bool = False

    def schema(self, context: Context) -> dict[str, Any]:
        # RFC 3339 date-times the API takes: an offset must not move the moment out of
        # 0001-01-01T00:00:00Z..9999-12-31T23:59:59Z, and a bound that rounds a fraction of a
        # second up cannot do so from the last second.
        exclusions = [r"0001-01-01T[0-9:.]+\+(?!00:00$)", r"9999-12-31T[0-9:.]+-(?!00:00$)"]
        if self.ceiling:
            exclusions.append(r"9999-12-31T23:59:59\.[0-9]*[1-9]")
        pattern = "^" + "".join(f"(?!{exclusion})" for exclusion in exclusions)
        return {
            "anyOf": [
                {"type": "integer", "minimum": MIN_BOUND_SECONDS, "maximum": MAX_BOUND_SECONDS},
                {"type": "string", "format": "date-time", "pattern": pattern},
                {"type": "string", "format": "date"},
            ]
        }

    def describe(self, meaning: str, context: Context) -> str:
        return (
            f"{meaning}: integer UNIX seconds (UTC), or an ISO 8601 / RFC 3339 timestamp "
            "(`2024-01-01T00:00:00Z`, `2024-01-01T01:00:00+01:00`; no offset means UTC) from "
            "0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z. A fraction of a second is rounded "
            "to the whole second selecting the same datapoints."
        )


@dataclasses.dataclass(frozen=True)
class Names:
    """Comma-separated names or keys of ``known`` (name -> key); ``meaning`` is what they
    name (``Value``, ``Time``)."""

    known: Mapping[str, str]

    def schema(self, context: Context) -> dict[str, Any]:
        words = dict.fromkeys([*self.known, *self.known.values()])
        item = "|".join(re.escape(word) for word in words)
        return {"type": "string", "pattern": f"^({item})(,({item}))*$"}

    def describe(self, meaning: str, context: Context) -> str:
        return (
            f"{meaning} downsamplers to return, by name or key, comma-separated (a repeated "
            "parameter adds to the list); default: every one the stream keeps."
        )


@dataclasses.dataclass(frozen=True)
class Count:
    """A whole number from ``minimum``, to ``maximum(context)`` if that is given; the meaning
    may name ``{default}``, ``{capped}`` and ``{zero}`` (the page sizes of the context)."""

    minimum: int
    maximum: Callable[[Context], int] | None = None

    def schema(self, context: Context) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "integer", "minimum": self.minimum}
        if self.maximum is not None:
            schema["maximum"] = self.maximum(context)
        return schema

    def describe(self, meaning: str, context: Context) -> str:
        capped = f"larger values give {context.page_max}" if context.page_max else "no maximum"
        return meaning.format(default=context.default_limit, capped=capped, zero=context.zero)


@dataclasses.dataclass(frozen=True)
class Token:
    """A token only the server makes (a cursor)."""

    def schema(self, context: Context) -> dict[str, Any]:
        from ..detail.cursors import MAX_CURSOR_LENGTH, TOKEN_PATTERN

        return {"type": "string", "pattern": f"^{TOKEN_PATTERN}$", "maxLength": MAX_CURSOR_LENGTH}

    def describe(self, meaning: str, context: Context) -> str:
        return meaning


def page_max(context: Context) -> int:
    """The largest page of the context (the most ``max_points`` too)."""
    return context.page_max


def max_offset(context: Context) -> int:
    """The largest ``offset``."""
    from .parse import MAX_OFFSET

    return MAX_OFFSET
