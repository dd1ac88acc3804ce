"""URLs of the API: include them under a prefix, e.g. ``path('api/', include(...))``.

``/api/v1/`` lists the resources; ``/api/v1/stream/`` is :class:`StreamResource`. Every other
URL under the prefix answers a JSON 404 (so include other URLs under the same prefix *before*
these, e.g. a project's own :class:`DatastreamApi` of restricted resources).
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from django.http import HttpRequest, HttpResponse
from django.urls import include, path, re_path
from django.utils.cache import patch_vary_headers
from django.views.decorators.csrf import csrf_exempt
from tastypie.api import Api

from .formats.serializer import DatastreamSerializer
from .http.responses import check_read_method, not_found, render, respond
from .openapi import build_document
from .resources import StreamResource

__all__ = ["DatastreamApi", "api", "urlpatterns"]


class DatastreamApi(Api):
    """tastypie ``Api`` whose top level answers like the resources (the negotiated format,
    CORS headers, JSON errors, GET/HEAD/OPTIONS only) and whose unknown URLs (under
    ``<api_name>/``) answer a JSON 404."""

    def __init__(self, api_name: str = "v1") -> None:
        super().__init__(api_name=api_name, serializer_class=DatastreamSerializer)

    def wrap_view(self, view: str) -> Any:
        @csrf_exempt
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return respond(request, getattr(self, view), *args, **kwargs)

        return wrapper

    @property
    def urls(self) -> list[Any]:
        openapi = re_path(
            rf"^(?P<api_name>{re.escape(self.api_name)})/openapi\.json$",
            self.wrap_view("openapi"),
            name=f"api_{self.api_name}_openapi",
        )
        return [openapi, *super().urls, re_path(rf"^{re.escape(self.api_name)}/", not_found)]

    def openapi(self, request: HttpRequest, api_name: str | None = None) -> HttpResponse:
        """The OpenAPI 3.1 document of the API (:mod:`django_datastream.openapi`), always JSON;
        its paths start where this API is included, one set per registered resource with the
        access control of its ``Meta``."""
        check_read_method(request)
        prefix = request.path[: -len("openapi.json")]
        document = build_document(prefix, live=None, resources=self._registry.values())
        response = HttpResponse(orjson.dumps(document), content_type="application/json")
        patch_vary_headers(response, ("Accept",))
        return response

    def top_level(self, request: HttpRequest, api_name: str | None = None) -> HttpResponse:
        """``{"<resource>": {"list_endpoint": …, "schema": …}}`` for every resource."""
        check_read_method(request)
        api_name = api_name or self.api_name
        data = {
            name: {
                "list_endpoint": self._build_reverse_url(
                    "api_dispatch_list", kwargs={"api_name": api_name, "resource_name": name}
                ),
                "schema": self._build_reverse_url(
                    "api_get_schema", kwargs={"api_name": api_name, "resource_name": name}
                ),
            }
            for name in sorted(self._registry)
        }
        return render(request, self.serializer, data)


api = DatastreamApi(api_name="v1")
api.register(StreamResource())

urlpatterns = [path("", include(api.urls)), re_path(r"", not_found)]
