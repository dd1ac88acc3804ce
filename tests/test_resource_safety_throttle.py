"""Every request a resource answers counts toward ``Meta.throttle`` once, as tastypie counts a
normal request (``throttle_check``, then ``log_throttled_access``): JSON pages and streamed
CSV/NDJSON exports, 304 answers, HEAD, live connections and error answers alike. Only what
tastypie itself answers before the throttle is consulted (OPTIONS, refused methods, failed
authentication) and the refusals of the throttle are not counted.

The project below registers a ``StreamResource`` subclass with ``ApiKeyAuthentication``, the
owner authorization of ``tests/private_api_urls.py`` and ``CacheThrottle(throttle_at=100)``;
its 101st request is refused with 429 whatever mix came before, on SQLite and MongoDB.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import include, path
from plugins.django_api import OWNERS
from private_api_urls import OwnerAuthorization
from tastypie.authentication import ApiKeyAuthentication
from tastypie.throttle import CacheThrottle

from django_datastream.resources import StreamResource
from django_datastream.urls import DatastreamApi

THROTTLE_AT = 100


class ThrottledStreams(StreamResource):
    """A project's protected resource: API keys, owners, 100 requests per hour."""

    class Meta(StreamResource.Meta):
        authentication = ApiKeyAuthentication()
        authorization = OwnerAuthorization()
        throttle = CacheThrottle(throttle_at=THROTTLE_AT, timeframe=3600)


throttled_api = DatastreamApi(api_name="throttled")
throttled_api.register(ThrottledStreams())

urlpatterns = [
    path("api/", include(throttled_api.urls)),
    path("api/", include("django_datastream.urls")),
]

pytestmark = pytest.mark.urls(__name__)

BASE = "/api/throttled/stream/"


@pytest.fixture(params=["sqlite", "mongodb"])
def owned(request: pytest.FixtureRequest) -> Iterator[Any]:
    """The ``owner``-tagged streams on each storage, served by the API, a fresh throttle."""
    data = request.getfixturevalue(
        "owned_data" if request.param == "sqlite" else "mongodb_owned_data"
    )
    cache.clear()
    with override_settings(**data.backend_settings):
        yield data
    cache.clear()


class User:
    """One user's client: every request goes through :meth:`send`."""

    def __init__(self, authorization: str, data: Any) -> None:
        self.client = Client()
        self.authorization = authorization
        self.own = next(i for i, who in zip(data.ids, OWNERS) if who == "alice")
        self.others = next(i for i, who in zip(data.ids, OWNERS) if who == "bob")
        self.etags: dict[str, str] = {}

    def send(self, method: str, uri: str, **headers: Any) -> Any:
        call = getattr(self.client, method)
        response = call(uri, HTTP_AUTHORIZATION=self.authorization, **headers)
        if response.streaming:  # a live connection: opened, then closed at once
            response.close()
        return response

    def fetch_etags(self) -> int:
        """Fetch the entity tags the conditional requests send; the number of requests."""
        for uri in (BASE, f"{BASE}{self.own}/", f"{BASE}{self.own}/?format=csv"):
            response = self.send("get", uri)
            assert response.status_code == 200, response.content
            self.etags[uri] = response["ETag"]
        return len(self.etags)

    def etag(self, uri: str) -> str:
        """The entity tag of ``uri`` (see :meth:`fetch_etags`)."""
        return self.etags[uri]


#: Request kinds: name -> (what it sends, the status it gets while not throttled).
Kind = tuple[Callable[[User], Any], int]
KINDS: dict[str, Kind] = {
    "json list": (lambda u: u.send("get", BASE), 200),
    "json detail": (lambda u: u.send("get", f"{BASE}{u.own}/?l=2"), 200),
    "xml detail": (lambda u: u.send("get", f"{BASE}{u.own}/?format=xml"), 200),
    "csv export": (lambda u: u.send("get", f"{BASE}{u.own}/?format=csv"), 200),
    "ndjson export": (lambda u: u.send("get", f"{BASE}{u.own}/?format=ndjson"), 200),
    "csv list": (lambda u: u.send("get", f"{BASE}?format=csv"), 200),
    "set": (lambda u: u.send("get", f"{BASE}set/{u.own};{u.others}/"), 200),
    "schema": (lambda u: u.send("get", f"{BASE}schema/"), 200),
    "detail 304": (
        lambda u: u.send("get", f"{BASE}{u.own}/", HTTP_IF_NONE_MATCH=u.etag(f"{BASE}{u.own}/")),
        304,
    ),
    "csv 304": (
        lambda u: u.send(
            "get",
            f"{BASE}{u.own}/?format=csv",
            HTTP_IF_NONE_MATCH=u.etag(f"{BASE}{u.own}/?format=csv"),
        ),
        304,
    ),  # fmt: skip
    "list 304": (
        lambda u: u.send("get", BASE, HTTP_IF_NONE_MATCH=u.etag(BASE)),
        304,
    ),
    "head detail": (lambda u: u.send("head", f"{BASE}{u.own}/"), 200),
    "head export": (lambda u: u.send("head", f"{BASE}{u.own}/?format=csv"), 200),
    "head list": (lambda u: u.send("head", BASE), 200),
    "live": (lambda u: u.send("get", f"{BASE}{u.own}/live/"), 200),
    "head live": (lambda u: u.send("head", f"{BASE}{u.own}/live/"), 200),
    "bad parameter": (lambda u: u.send("get", f"{BASE}{u.own}/?g=nope"), 400),
    "bad boolean": (lambda u: u.send("get", f"{BASE}{u.own}/?reverse=maybe"), 400),
    "bad cursor": (lambda u: u.send("get", f"{BASE}?cursor=nonsense"), 400),
    "bad live parameter": (lambda u: u.send("get", f"{BASE}{u.own}/live/?end=0"), 400),
    "unknown stream": (lambda u: u.send("get", f"{BASE}no-such-stream/"), 404),
    "another user's stream": (lambda u: u.send("get", f"{BASE}{u.others}/"), 401),
    "not acceptable": (lambda u: u.send("get", f"{BASE}schema/?format=csv"), 406),
}

MIXES = {
    "exports": ["csv export", "ndjson export"],
    "304s": ["detail 304", "list 304", "csv 304"],
    "HEAD": ["head detail", "head export", "head list", "head live"],
    "errors": [
        "bad parameter", "bad boolean", "bad cursor", "bad live parameter", "unknown stream",
        "another user's stream", "not acceptable",
    ],
    "live": ["live"],
    "everything": list(KINDS),
}  # fmt: skip


def requests_until_refused(user: User, mix: list[str], limit: int = 400) -> int:
    """Send the ``mix`` (round robin) until one is refused with 429; the number of the
    refused request (each answered with its kind's status before that)."""
    sent = user.fetch_etags()
    for name in itertools.cycle(mix):
        send, status = KINDS[name]
        response = send(user)
        sent += 1
        if response.status_code == 429:
            return sent
        assert response.status_code == status, (name, response.status_code, response.content)
        if sent >= limit:
            break
    return sent + 1


@pytest.mark.parametrize("mix", list(MIXES))
def test_the_101st_request_is_refused_whatever_came_before(owned, keys, mix):
    alice = User(keys["alice"], owned)
    assert requests_until_refused(alice, MIXES[mix]) == THROTTLE_AT + 1
    # Once refused, every kind of request is refused (and refusals are not counted).
    for name, (send, _status) in KINDS.items():
        response = send(alice)
        assert response.status_code == 429, name
        assert response["Content-Type"] == "application/json"
        assert 0 < int(response["Retry-After"]) <= 3600
    # Another user has a throttle of their own; the app's own API has none.
    bob = User(keys["bob"], owned)
    assert bob.send("get", BASE).status_code == 200
    assert Client().get("/api/v1/stream/").status_code == 200


def test_what_tastypie_answers_before_the_throttle_is_not_counted(owned, keys):
    alice = User(keys["alice"], owned)
    for _ in range(THROTTLE_AT):
        assert alice.client.options(BASE).status_code == 200
        assert alice.send("post", BASE).status_code == 405
        wrong = Client().get(BASE, HTTP_AUTHORIZATION="ApiKey alice:wrong")
        assert wrong.status_code == 401
    assert requests_until_refused(alice, ["json list"]) == THROTTLE_AT + 1
