"""Authorization of :class:`~django_datastream.resources.StreamResource` subclasses by tags.

Any tastypie authorization works on a ``StreamResource`` subclass (``Meta.authorization``):
``read_list(object_list, bundle)`` receives the matching streams lazily (a
:class:`~django_datastream.resources.StreamObjects` of :class:`datastream.Stream`; counting
and slicing it are pushed down to the storage, iterating it reads every stream), and
``read_detail(object_list, bundle)`` sees the stream as ``bundle.obj``. Filtering
``read_list`` in Python reads every stream of the catalog on every request, though.

:class:`StreamAuthorization` adds one hook, :meth:`~StreamAuthorization.query_tags`: the tags
(a ``find_streams`` query) every stream a request reads must match. The resource puts them into
the storage's query next to the request's own ``tags__…`` filters, so that restricting each
user to their streams stays indexed, pages and ``total_count`` are right, ``set/`` lists the
other ids as not found, and a detail request for another stream answers 401::

    class OwnerAuthorization(StreamAuthorization):
        def query_tags(self, bundle):
            return {"owner": bundle.request.user.get_username()}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tastypie.authorization import ReadOnlyAuthorization
from tastypie.bundle import Bundle

__all__ = ["StreamAuthorization"]


class StreamAuthorization(ReadOnlyAuthorization):
    """Read-only authorization restricting every read to the streams matching
    :meth:`query_tags`. ``read_list`` and ``read_detail`` may still be overridden for further
    checks; they see only streams that match."""

    def query_tags(self, bundle: Bundle) -> Mapping[str, Any] | None:
        """The tags every stream read by ``bundle.request`` must match, as a ``find_streams``
        query (``{"owner": "alice"}``, ``{"team": {"in": ["a", "b"]}}``); ``None`` restricts
        nothing. Raise :class:`tastypie.exceptions.Unauthorized` to refuse the request
        (401)."""
        return None
