"""tastypie fields of the stream resource.

The fields read attributes of a :class:`datastream.Stream` as they are: unlike tastypie's
fields they never call a callable attribute (granularities are classes), and the datapoints
are handed to the serializer untouched, so nothing is built per datapoint here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tastypie import fields

__all__ = [
    "ChoicesMixin",
    "DatapointsField",
    "DateTimeField",
    "DictField",
    "DownsamplingErrorField",
    "GranularityField",
    "ListField",
    "StringField",
]


class ChoicesMixin:
    """A field with an optional list of allowed values, shown in the schema."""

    def __init__(self, *args: Any, choices: Sequence[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.choices = list(choices) if choices is not None else None


class _PlainAttributeMixin:
    """Read ``bundle.obj.<attribute>`` without calling it; ``None`` falls back to the default."""

    attribute: str | None

    def dehydrate(self, bundle: Any, for_list: bool = True) -> Any:
        value = getattr(bundle.obj, self.attribute, None) if self.attribute else None
        if value is None and self.has_default():
            value = self.default
        return self.convert(value)


class StringField(_PlainAttributeMixin, ChoicesMixin, fields.CharField):
    """A string."""


class ListField(_PlainAttributeMixin, ChoicesMixin, fields.ListField):
    """A list (of strings, for the downsampler names)."""

    def convert(self, value: Any) -> Any:
        return None if value is None else list(value)


class DictField(_PlainAttributeMixin, fields.DictField):
    """A dictionary (the user tags)."""

    def convert(self, value: Any) -> Any:
        return None if value is None else dict(value)


class DownsamplingErrorField(DictField):
    """The stream's last downsampling failure, ``{"at": ISO 8601 time, "error": message}``,
    or ``None`` (it is cleared when the stream is downsampled again)."""

    def convert(self, value: Any) -> Any:
        # The time stays a datetime: the serializer writes it as every other time.
        return None if value is None else {"at": value["at"], "error": value["error"]}


class DateTimeField(_PlainAttributeMixin, fields.DateTimeField):
    """An aware UTC datetime, serialised as ISO 8601 with a ``Z``."""

    def convert(self, value: Any) -> Any:
        return value


class GranularityField(_PlainAttributeMixin, ChoicesMixin, fields.CharField):
    """A granularity class, serialised as its name (``'seconds'``, ``'10seconds'``, …)."""

    def convert(self, value: Any) -> Any:
        return None if value is None else value.name


class DatapointsField(_PlainAttributeMixin, fields.ApiField):
    """The datapoints of a detail response. The resource's detail view sets the page of the
    ``get_data`` result (a lazy :class:`datastream.Datapoints`) and hands it to the serializer
    untouched; the field itself only declares the key (and its schema)."""

    dehydrated_type = "datapoints"
    help_text = "A list of datapoints."
