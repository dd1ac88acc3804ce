"""``StreamResource._meta`` has the original's page sizes and maximums (``max_limit`` 1000,
``datapoints_max_limit`` 10000), read from the settings, which still change them; a
subclass's ``Meta`` may fix its own numbers."""

from __future__ import annotations

from django.test import override_settings
from plugins.django_api import LIST_URI

from django_datastream.resources import StreamResource


def test_meta_has_the_original_limits_by_default():
    meta = StreamResource()._meta
    assert (meta.limit, meta.max_limit) == (20, 1000)
    assert (meta.datapoints_limit, meta.datapoints_max_limit) == (100, 10000)


def test_settings_change_the_meta_limits():
    with override_settings(
        API_LIMIT_PER_PAGE=2,
        DATASTREAM_API_LIST_MAX_LIMIT=3,
        API_DETAIL_LIMIT_PER_PAGE=4,
        DATASTREAM_API_DETAIL_MAX_LIMIT=5,
    ):
        meta = StreamResource()._meta
        assert (meta.limit, meta.max_limit) == (2, 3)
        assert (meta.datapoints_limit, meta.datapoints_max_limit) == (4, 5)
    assert StreamResource()._meta.max_limit == 1000


def test_settings_change_the_maximums_of_answers(api):
    uri = api.detail_uri(api.ids[0])
    with override_settings(DATASTREAM_API_LIST_MAX_LIMIT=3, DATASTREAM_API_DETAIL_MAX_LIMIT=7):
        assert api.json(LIST_URI, {"limit": 0})["meta"]["limit"] == 3
        assert api.json(LIST_URI, {"limit": 50})["meta"]["limit"] == 3
        detail = api.json(uri, {"limit": 50})
        assert detail["meta"]["limit"] == 7 and len(detail["datapoints"]) == 7
    assert api.json(LIST_URI, {"limit": 0})["meta"]["limit"] == 1000
    assert api.json(uri, {"limit": 20000})["meta"]["limit"] == 10000


def test_a_subclass_meta_fixes_its_own_numbers():
    class Small(StreamResource):
        class Meta(StreamResource.Meta):
            max_limit = 10
            datapoints_max_limit = 50

    meta = Small()._meta
    assert (meta.max_limit, meta.datapoints_max_limit) == (10, 50)
    assert (meta.limit, meta.datapoints_limit) == (20, 100)
    with override_settings(DATASTREAM_API_LIST_MAX_LIMIT=3):
        assert Small()._meta.max_limit == 10
