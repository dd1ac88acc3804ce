"""URLs of the access-control tests: a project's restricted API next to the app's open one.

This is the recipe of ``docs/access_control.rst``: a ``StreamResource`` subclass with tastypie's
``ApiKeyAuthentication``, an authorization restricting each user to the streams whose
``owner`` tag is their user name, and a ``CacheThrottle``, on the project's own ``Api``
(``/api/private/``), mounted before ``django_datastream.urls`` (which answers every other URL
under ``/api/`` with a JSON 404). ``plainstream`` does the same with a plain tastypie
authorization that filters in Python, and ``SimpleCache`` headers.
"""

from __future__ import annotations

from typing import Any

from django.urls import include, path
from tastypie.authentication import ApiKeyAuthentication
from tastypie.authorization import ReadOnlyAuthorization
from tastypie.cache import SimpleCache
from tastypie.exceptions import Unauthorized
from tastypie.throttle import CacheThrottle

from django_datastream.authorization import StreamAuthorization
from django_datastream.resources import StreamResource
from django_datastream.urls import DatastreamApi

#: Requests a user may make per minute on each private resource.
THROTTLE_AT = 30


class OwnerAuthorization(StreamAuthorization):
    """Each user reads the streams tagged ``owner=<user name>`` (an indexed query)."""

    def query_tags(self, bundle: Any) -> dict[str, Any]:
        return {"owner": bundle.request.user.get_username()}


class PrivateStreams(StreamResource):
    class Meta(StreamResource.Meta):
        authentication = ApiKeyAuthentication()
        authorization = OwnerAuthorization()
        throttle = CacheThrottle(throttle_at=THROTTLE_AT, timeframe=60)
        limit = 2
        max_limit = 3
        datapoints_limit = 2


class PythonOwnerAuthorization(ReadOnlyAuthorization):
    """The same rule written as tastypie documents it: ``read_list`` filters (it receives the
    streams lazily and reads them all here), ``read_detail`` refuses."""

    def read_list(self, object_list: Any, bundle: Any) -> list[Any]:
        owner = bundle.request.user.get_username()
        return [stream for stream in object_list if stream.tags.get("owner") == owner]

    def read_detail(self, object_list: Any, bundle: Any) -> bool:
        if bundle.obj is None:  # the schema
            return True
        if bundle.obj.tags.get("owner") != bundle.request.user.get_username():
            raise Unauthorized("Not your stream.")
        return True


class PlainPrivateStreams(StreamResource):
    class Meta(StreamResource.Meta):
        resource_name = "plainstream"
        authentication = ApiKeyAuthentication()
        authorization = PythonOwnerAuthorization()
        throttle = CacheThrottle(throttle_at=THROTTLE_AT, timeframe=60)
        cache = SimpleCache(timeout=30, private=True)
        limit = 2


private_api = DatastreamApi(api_name="private")
private_api.register(PrivateStreams())
private_api.register(PlainPrivateStreams())

urlpatterns = [
    path("api/", include(private_api.urls)),
    path("api/", include("django_datastream.urls")),
]
