"""The XML writer, in tastypie's style: a ``<response>`` root, lists of ``<object>`` or
``<value>`` items, and a ``type`` attribute on every value that is not a string (``list``,
``hash``, ``null``, ``boolean``, ``integer``, ``float``). Names that are not XML names become
``<item key="…">``; characters XML cannot hold become U+FFFD."""

from __future__ import annotations

import re
from typing import Any
from xml.etree import ElementTree

__all__ = ["write_xml"]

_XML_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_XML_INVALID = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def write_xml(data: Any) -> bytes:
    """``data`` (JSON-compatible builtins) as an XML document."""
    root = _element(data, None, 0)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def _element(value: Any, name: str | None, depth: int) -> ElementTree.Element:
    if name is not None and not _XML_NAME.fullmatch(name):
        element = ElementTree.Element("item", key=_XML_INVALID.sub("\ufffd", name))
    else:
        default = "objects" if isinstance(value, list) else "response" if not depth else None
        element = ElementTree.Element(name or default or _item_name(value))
    if isinstance(value, list):
        if depth:
            element.set("type", "list")
        for item in value:
            element.append(_element(item, None, depth + 1))
    elif isinstance(value, dict):
        if depth:
            element.set("type", "hash")
        for key, item in value.items():
            element.append(_element(item, key, depth + 1))
    elif value is None:
        element.set("type", "null")
    elif isinstance(value, str):
        element.text = _XML_INVALID.sub("\ufffd", value)
    else:
        element.set("type", _type(value))
        element.text = str(value)
    return element


def _type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    return "integer" if isinstance(value, int) else "float"


def _item_name(value: Any) -> str:
    return "object" if isinstance(value, dict) else "value"
