"""Contract: tag keys that look like MongoDB operators (``$where``, ``$regex``, ``$gt``) or
paths (dots) are literal tag names in every call that takes tags or a query, on every backend:
they are stored, updated, removed, matched and deleted by, never interpreted."""

import pytest
from helpers import ALL_VALUE, G

NAMES = ["$where", "$regex", "$gt", "$set", "$", "a.b", ".", "$in.x"]


def _ids(streams):
    return [s["stream_id"] for s in streams]


@pytest.mark.parametrize("name", NAMES)
def test_operator_like_tag_names_are_updated_and_removed_literally(ds, name):
    sid = ds.ensure_stream({"n": 1}, {name: {"x": 1, "y": 2}}, ALL_VALUE, G.Seconds)
    other = ds.ensure_stream({"n": 2}, {"x": 1, "a": {"b": 1}}, ALL_VALUE, G.Seconds)
    ds.update_tags(sid, {name: {"x": 10}})
    assert ds.get_tags(sid)[name] == {"x": 10, "y": 2}
    ds.remove_tag(sid, {name: {"y": None}})
    assert ds.get_tags(sid)[name] == {"x": 10}
    assert ds.get_tags(other)["x"] == 1 and ds.get_tags(other)["a"] == {"b": 1}
    assert _ids(ds.find_streams({name: {"x": 10}})) == [sid]
    assert _ids(ds.find_streams({name: {"x": {"gte": 10}}})) == [sid]
    ds.remove_tag(sid, {name: ""})
    assert name not in ds.get_tags(sid)
    assert _ids(ds.find_streams({name: {"exists": True}})) == []


@pytest.mark.parametrize("name", ["$where", "$regex", "a.b"])
def test_maintenance_queries_select_by_the_literal_name(ds, name):
    doomed = ds.ensure_stream({name: "sleep(1000) || true"}, {}, ALL_VALUE, G.Seconds)
    kept = ds.ensure_stream({"n": "keep"}, {}, ALL_VALUE, G.Seconds)
    assert ds.ensure_stream({name: "sleep(1000) || true"}, {}, ALL_VALUE, G.Seconds) == doomed
    ds.delete_streams({name: {"exists": True}})
    assert _ids(ds.find_streams()) == [kept]


def test_operator_names_inside_values_and_operands_are_data(ds):
    where = ds.ensure_stream({"n": 1}, {"q": {"$where": "1 == 1"}}, ALL_VALUE, G.Seconds)
    regex = ds.ensure_stream({"n": 2}, {"q": {"$regex": ".*"}}, ALL_VALUE, G.Seconds)
    ds.ensure_stream({"n": 3}, {"q": "anything"}, ALL_VALUE, G.Seconds)
    assert _ids(ds.find_streams({"q": {"$where": "1 == 1"}})) == [where]
    assert _ids(ds.find_streams({"q": {"$regex": ".*"}})) == [regex]
    assert _ids(ds.find_streams({"q": {"in": [{"$regex": ".*"}]}})) == [regex]
    assert _ids(ds.find_streams({"q": {"contains": ".*"}})) == []
