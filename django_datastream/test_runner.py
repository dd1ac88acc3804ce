"""Helpers for testing projects that use django_datastream.

* :class:`DatastreamSuiteRunner` — a Django test runner (``TEST_RUNNER``) that points the
  configured datastream at a test database instead of creating relational test databases,
  and deletes everything stored there afterwards.
* :class:`ResourceTestCase` — a test case with helpers to reverse the API URLs and GET them.
"""

from __future__ import annotations

import urllib.parse
from typing import Any
from xml.etree import ElementTree

import orjson
from django.core.exceptions import ImproperlyConfigured
from django.test import SimpleTestCase
from django.test.runner import DiscoverRunner
from django.urls import reverse
from tastypie.test import ResourceTestCaseMixin

from .conf import datastream_settings, get_datastream, reset_datastream

__all__ = ["DatastreamSuiteRunner", "ResourceTestCase"]


class DatastreamSuiteRunner(DiscoverRunner):
    """Runs the tests against the datastream database ``DATASTREAM_TEST_DATABASE_NAME``
    (default ``'django_datastream_testing'``; with the SQLite backend use a file path or
    ``':memory:'``). No relational test database is created."""

    def setup_databases(self, **kwargs: Any) -> Any:
        datastream = get_datastream()
        if datastream is None:
            raise ImproperlyConfigured("DATASTREAM_BACKEND is not set")
        datastream._switch_database(datastream_settings.TEST_DATABASE_NAME)
        return datastream_settings.TEST_DATABASE_NAME

    def teardown_databases(self, old_config: Any, **kwargs: Any) -> None:
        datastream = get_datastream()
        if datastream is not None:
            datastream.delete_streams()
        reset_datastream()


class ResourceTestCase(ResourceTestCaseMixin, SimpleTestCase):
    """tastypie's resource test case with URL helpers for the datastream API.

    ``api_name`` is the tastypie API name (``'v1'``); set ``namespace`` if the API URLs are
    included under a URL namespace.
    """

    api_name = "v1"
    namespace: str | None = None

    def _reverse(self, name: str, **kwargs: Any) -> str:
        if self.namespace:
            name = f"{self.namespace}:{name}"
        return reverse(name, kwargs={"api_name": self.api_name, **kwargs})

    def resource_list_uri(self, resource_name: str) -> str:
        """``/api/v1/<resource>/``."""
        return self._reverse("api_dispatch_list", resource_name=resource_name)

    def resource_schema_uri(self, resource_name: str) -> str:
        """``/api/v1/<resource>/schema/``."""
        return self._reverse("api_get_schema", resource_name=resource_name)

    def resource_detail_uri(self, resource_name: str, pk: Any) -> str:
        """``/api/v1/<resource>/<pk>/``."""
        return self._reverse("api_dispatch_detail", resource_name=resource_name, pk=pk)

    def get_uri(self, uri: str, **params: Any) -> Any:
        """GET ``uri`` (``format=json`` unless given), assert a valid 200 JSON or XML
        response and return its body (parsed JSON; the XML root element for XML)."""
        params.setdefault("format", "json")
        response = self.client.get(uri, params)
        self.assertEqual(response.status_code, 200, response.content)
        if params["format"] == "xml":
            self.assertTrue(response["Content-Type"].startswith("application/xml"))
            return ElementTree.fromstring(response.content)
        self.assertTrue(response["Content-Type"].startswith("application/json"))
        return orjson.loads(response.content)

    def get_list(self, resource_name: str, **params: Any) -> Any:
        """The list of ``resource_name``."""
        return self.get_uri(self.resource_list_uri(resource_name), **params)

    def get_schema(self, resource_name: str, **params: Any) -> Any:
        """The schema of ``resource_name``."""
        return self.get_uri(self.resource_schema_uri(resource_name), **params)

    def get_detail(self, resource_name: str, pk: Any, **params: Any) -> Any:
        """One object of ``resource_name``."""
        return self.get_uri(self.resource_detail_uri(resource_name, pk), **params)

    def assertMetaEqual(self, meta1: dict[str, Any], meta2: dict[str, Any]) -> None:  # noqa: N802
        """Pagination metadata are equal; ``next``/``previous`` URIs are compared by path
        and parsed query (parameter order does not matter); ``next_cursor`` (an opaque token)
        and ``downsampled_until`` (not in the original's ``meta``) only when both have them."""
        optional = [
            key
            for key in ("next_cursor", "downsampled_until")
            if key not in meta1 or key not in meta2
        ]

        def normal(meta: dict[str, Any]) -> dict[str, Any]:
            result = dict(meta)
            for key in optional:
                result.pop(key, None)
            for key in ("next", "previous"):
                uri = result.get(key)
                if uri is not None:
                    parts = urllib.parse.urlsplit(uri)
                    query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
                    result[key] = (parts.path, {k: sorted(v) for k, v in query.items()})
            return result

        self.assertEqual(normal(meta1), normal(meta2))
