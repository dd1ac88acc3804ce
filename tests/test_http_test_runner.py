"""The test helpers shipped in ``django_datastream.test_runner``."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from django.test import override_settings
from plugins.django_api import START

import django_datastream
from datastream import Datastream, Granularity
from datastream.backends.sqlite import Backend
from django_datastream.test_runner import DatastreamSuiteRunner, ResourceTestCase

SQLITE = "datastream.backends.sqlite.Backend"


def test_suite_runner_switches_to_the_test_database(tmp_path):
    main, test = tmp_path / "main.sqlite3", tmp_path / "test.sqlite3"
    Datastream(Backend(str(main))).ensure_stream(
        {"name": "kept"}, {}, ["mean"], Granularity.Seconds
    )
    with override_settings(
        DATASTREAM_BACKEND=SQLITE,
        DATASTREAM_BACKEND_SETTINGS={"database_name": str(main)},
        DATASTREAM_TEST_DATABASE_NAME=str(test),
    ):
        runner = DatastreamSuiteRunner(verbosity=0)
        old_config = runner.setup_databases()
        datastream = django_datastream.datastream
        assert datastream.backend.database_name == str(test)
        assert datastream.find_streams().count() == 0
        datastream.ensure_stream({"name": "temporary"}, {}, ["mean"], Granularity.Seconds)
        runner.teardown_databases(old_config)
        assert Datastream(Backend(str(test))).find_streams().count() == 0
        rebuilt = django_datastream.datastream
        assert rebuilt.backend.database_name == str(main)
        assert [s["name"] for s in rebuilt.find_streams()] == ["kept"]


def test_suite_runner_needs_a_backend():
    from django.core.exceptions import ImproperlyConfigured

    with override_settings(DATASTREAM_BACKEND=None):
        with pytest.raises(ImproperlyConfigured):
            DatastreamSuiteRunner(verbosity=0).setup_databases()


class ResourceTestCaseTest(ResourceTestCase):
    """The helpers of ``ResourceTestCase`` against a small database of one stream."""

    @classmethod
    def setUpClass(cls):
        cls._directory = tempfile.TemporaryDirectory()
        path = Path(cls._directory.name) / "db.sqlite3"
        core = Datastream(Backend(str(path)))
        cls.stream_id = core.ensure_stream({"name": "one"}, {}, ["mean"], Granularity.Seconds)
        core.append_multiple(
            [{"stream_id": cls.stream_id, "value": i, "timestamp": START} for i in range(3)]
        )
        core.backend.close()
        cls._override = override_settings(
            DATASTREAM_BACKEND=SQLITE, DATASTREAM_BACKEND_SETTINGS={"database_name": str(path)}
        )
        cls._override.enable()
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        cls._override.disable()
        cls._directory.cleanup()

    def test_uris(self):
        self.assertEqual(self.resource_list_uri("stream"), "/api/v1/stream/")
        self.assertEqual(self.resource_schema_uri("stream"), "/api/v1/stream/schema/")
        self.assertEqual(
            self.resource_detail_uri("stream", self.stream_id), f"/api/v1/stream/{self.stream_id}/"
        )

    def test_get_helpers(self):
        listing = self.get_list("stream", limit=1)
        self.assertEqual([s["id"] for s in listing["objects"]], [self.stream_id])
        self.assertIn("fields", self.get_schema("stream"))
        detail = self.get_detail("stream", self.stream_id, limit=2)
        self.assertEqual([p["v"] for p in detail["datapoints"]], [0, 1])
        self.assertMetaEqual(
            detail["meta"],
            {
                "limit": 2,
                "offset": 0,
                "total_count": 3,
                "previous": None,
                "next": f"/api/v1/stream/{self.stream_id}/?offset=2&limit=2&format=json",
            },
        )
        self.assertIn("downsampled_until", detail["meta"])
        root = self.get_detail("stream", self.stream_id, format="xml")
        self.assertEqual(root.tag, "response")

    def test_assert_meta_equal_compares_parsed_uris(self):
        self.assertMetaEqual({"next": "/a/?x=1&y=2"}, {"next": "/a/?y=2&x=1"})
        with self.assertRaises(AssertionError):
            self.assertMetaEqual({"next": "/a/?x=1"}, {"next": "/a/?x=2"})

    def test_assert_meta_equal_compares_downsampled_until_only_when_both_have_it(self):
        meta = {"limit": 2, "offset": 0, "total_count": 3, "next": None, "previous": None}
        until = {"10seconds": "2022-01-01T00:00:10Z"}
        self.assertMetaEqual({**meta, "downsampled_until": until}, meta)
        self.assertMetaEqual(meta, {**meta, "downsampled_until": None})
        self.assertMetaEqual(
            {**meta, "downsampled_until": until}, {**meta, "downsampled_until": until}
        )
        with self.assertRaises(AssertionError):
            self.assertMetaEqual(
                {**meta, "downsampled_until": until}, {**meta, "downsampled_until": None}
            )
        with self.assertRaises(AssertionError):
            self.assertMetaEqual({**meta, "downsampled_until": until}, {**meta, "limit": 3})
