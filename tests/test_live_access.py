"""The live endpoint answers to the detail endpoint's access control (``Meta.authentication``,
``Meta.authorization``), on SQLite and on MongoDB, with the project of
``tests/private_api_urls.py``."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from plugins.django_api import OWNERS

pytestmark = pytest.mark.urls("private_api_urls")

PRIVATE = "/api/private/stream/"


@pytest.fixture(params=["sqlite", "mongodb"])
def owned(request: pytest.FixtureRequest) -> Any:
    data = request.getfixturevalue(
        "owned_data" if request.param == "sqlite" else "mongodb_owned_data"
    )
    cache.clear()  # the private API's throttle
    with override_settings(**data.backend_settings):
        yield data
    cache.clear()


@pytest.fixture
def keys(db: Any) -> dict[str, str]:
    from django.contrib.auth.models import User
    from tastypie.models import ApiKey

    headers = {}
    for name in ("alice", "bob"):
        user = User.objects.create_user(name)
        ApiKey.objects.create(user=user, key=f"{name}-key")
        headers[name] = f"ApiKey {name}:{name}-key"
    return headers


def stream_of(data: Any, owner: str) -> str:
    return next(stream_id for stream_id, who in zip(data.ids, OWNERS) if who == owner)


def error(response: Any) -> str:
    assert response["Content-Type"] == "application/json"
    return orjson.loads(response.content)["error"]


def test_live_needs_credentials(owned, keys):
    response = Client().get(f"{PRIVATE}{stream_of(owned, 'bob')}/live/")
    assert response.status_code == 401
    assert error(response) == "Authentication required: this API needs valid credentials."


def test_live_of_another_users_stream_is_refused(owned, keys):
    uri = f"{PRIVATE}{stream_of(owned, 'bob')}/live/"
    response = Client().get(uri, HTTP_AUTHORIZATION=keys["alice"])
    assert response.status_code == 401
    assert error(response).startswith("You are not allowed")


def test_live_of_an_own_stream_streams_events(owned, keys):
    uri = f"{PRIVATE}{stream_of(owned, 'bob')}/live/?s=0"
    response = Client().get(uri, HTTP_AUTHORIZATION=keys["bob"])
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"] == "text/event-stream"
    chunks = iter(response.streaming_content)
    assert next(chunks) == b"retry: 1000\n: connected\n\n"
    replay = next(chunks).decode()  # start=0: the stream's three datapoints first
    assert replay.count("\ndata: ") + replay.startswith("data: ") == 3
    response.close()
