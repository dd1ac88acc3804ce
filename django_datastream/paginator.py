"""The documented home of the paginators (``Meta.paginator_class``,
``Meta.datapoints_paginator_class``); they are :mod:`django_datastream.detail.pagination`."""

from __future__ import annotations

from .detail.pagination import DatapointsPaginator, StreamsPaginator

__all__ = ["DatapointsPaginator", "StreamsPaginator"]
