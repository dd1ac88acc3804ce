"""URLs of the ingest tests: a writable API (``/api/ingest/``) next to the app's read-only one.

``WriterStreams`` takes writes (``'post'`` in ``allowed_methods``) with tastypie's
``ApiKeyAuthentication``, an authorization that lets each user write only to the streams
tagged ``owner=<user name>`` (and create streams only in that namespace), and a
``CacheThrottle``. ``OpenWriter`` allows POST with tastypie's default (anonymous)
authentication: its writes are refused unless anonymous writes are allowed, as they are on
``AnonymousWriter`` (``Meta.anonymous_writes = True``).
"""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from tastypie.authentication import ApiKeyAuthentication
from tastypie.authorization import Authorization
from tastypie.exceptions import Unauthorized
from tastypie.throttle import CacheThrottle

from django_datastream.resources import StreamResource
from django_datastream.urls import DatastreamApi

#: Requests a user may make per minute on the writable resource.
THROTTLE_AT = 40


class OwnerWrites(Authorization):
    """Reads and writes of the streams tagged ``owner=<user name>``; ``carol`` may append
    but not create streams."""

    def query_tags(self, bundle: Any) -> dict[str, Any]:
        return {"owner": bundle.request.user.get_username()}

    def update_detail(self, object_list: Any, bundle: Any) -> bool:
        if bundle.obj.tags.get("owner") != bundle.request.user.get_username():
            raise Unauthorized("Not your stream.")
        return True

    def create_detail(self, object_list: Any, bundle: Any) -> bool:
        return bundle.request.user.get_username() != "carol"


class WriterStreams(StreamResource):
    class Meta(StreamResource.Meta):
        allowed_methods = ["get", "post"]
        authentication = ApiKeyAuthentication()
        authorization = OwnerWrites()
        throttle = CacheThrottle(throttle_at=THROTTLE_AT, timeframe=60)


class OpenWriter(StreamResource):
    class Meta(StreamResource.Meta):
        resource_name = "openstream"
        allowed_methods = ["get", "post"]


class AnonymousWriter(StreamResource):
    """Anonymous writes, deliberately (``Meta.anonymous_writes``), to any stream."""

    class Meta(StreamResource.Meta):
        resource_name = "anonymousstream"
        allowed_methods = ["get", "post"]
        authorization = Authorization()
        anonymous_writes = True


ingest_api = DatastreamApi(api_name="ingest")
ingest_api.register(WriterStreams())
open_api = DatastreamApi(api_name="open")
open_api.register(OpenWriter())
open_api.register(AnonymousWriter())

urlpatterns = [
    path("api/", include(ingest_api.urls)),
    path("api/", include(open_api.urls)),
    path("api/", include("django_datastream.urls")),
]
