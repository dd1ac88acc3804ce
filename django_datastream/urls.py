"""URLs of the API: include them under a prefix, e.g. ``path('api/', include(...))``.

``/api/v1/`` lists the resources; ``/api/v1/stream/`` is :class:`StreamResource`.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt
from tastypie.api import Api
from tastypie.utils.mime import build_content_type

from .resources import StreamResource
from .responses import respond
from .serializers import CONTENT_TYPES, DatastreamSerializer, determine_format

__all__ = ["DatastreamApi", "api", "urlpatterns"]


class DatastreamApi(Api):
    """tastypie ``Api`` whose top level answers like the resources: the negotiated format,
    CORS headers, JSON errors, GET/HEAD/OPTIONS only."""

    def __init__(self, api_name: str = "v1") -> None:
        super().__init__(api_name=api_name, serializer_class=DatastreamSerializer)

    def wrap_view(self, view: str) -> Any:
        @csrf_exempt
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return respond(request, getattr(self, view), *args, **kwargs)

        return wrapper

    def top_level(self, request: HttpRequest, api_name: str | None = None) -> HttpResponse:
        """``{"<resource>": {"list_endpoint": …, "schema": …}}`` for every resource."""
        content_type = determine_format(request, self.serializer)
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
        options = {}
        if content_type == CONTENT_TYPES["jsonp"]:
            options["callback"] = request.GET.get("callback", "callback")
        content = self.serializer.serialize(data, content_type, options)
        return HttpResponse(content, content_type=build_content_type(content_type))


api = DatastreamApi(api_name="v1")
api.register(StreamResource())

urlpatterns = [path("", include(api.urls))]
