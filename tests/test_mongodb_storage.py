"""MongoDB only: construction, the storage layout (indexes used, round trips), lossless values,
server-side tag filtering, switching databases, and fork safety (spec §3.1, §7.2)."""

from __future__ import annotations

import ast
import datetime
import multiprocessing
import os
import threading
from pathlib import Path

import pytest
from helpers import ALL_VALUE, EPOCH, G, at, new_stream, seconds
from pymongo import monitoring

import datastream.backends.mongodb as mongodb_package
from datastream import Datastream, exceptions
from datastream.backends.mongodb import SERVER_SELECTION_TIMEOUT_MS, Backend
from datastream.backends.mongodb import query as mongodb_query
from datastream.backends.mongodb.query import tags_filter
from datastream.storage import BaseStorage, SwitchableStorage, missing_methods
from datastream.tagquery import Condition, matches, parse_query

T0 = at(2020, 1, 1)


class Commands(monitoring.CommandListener):
    """Records every command the client sends (one command is one round trip)."""

    def __init__(self) -> None:
        self.events: list[monitoring.CommandStartedEvent] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.events.append(event)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass

    def reset(self) -> None:
        self.events: list[monitoring.CommandStartedEvent] = []

    def names(self) -> list[str]:
        return [e.command_name for e in self.events]


@pytest.fixture
def commands() -> Commands:
    listener = Commands()
    listener.reset()
    return listener


@pytest.fixture
def mongo(mongodb_backend_factory, commands) -> Datastream:
    return Datastream(mongodb_backend_factory(event_listeners=[commands]))


# Construction ---------------------------------------------------------------------------------


def test_settings_go_to_the_client_and_nothing_connects_at_construction(mongodb_server):
    backend = Backend("dst_settings", host="127.0.0.1", port=1, serverSelectionTimeoutMS=300)
    assert backend.client.options.server_selection_timeout == 0.3
    assert backend.client.codec_options.tz_aware is True  # the default, as upstream
    with pytest.raises(exceptions.BackendUnavailable, match="MongoDB server unavailable"):
        Datastream(backend).find_streams().count()
    backend.close()
    uri = Backend("dst_settings", host=mongodb_server.uri, tz_aware=False)
    assert uri.client.codec_options.tz_aware is False
    # An unreachable server is reported after 10 s by default, not pymongo's 30 s.
    assert uri.client.options.server_selection_timeout == SERVER_SELECTION_TIMEOUT_MS / 1000
    uri.close()


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        ("", {}),
        ("a.b", {}),
        ("x" * 64, {}),
        (None, {}),
        ("ok", {"no_such_option": 1}),
        ("ok", {"host": "mongodb://host:notaport"}),
        ("ok", {"serverSelectionTimeoutMS": "soon"}),
    ],
)
def test_bad_settings_raise_a_clear_error(name, settings):
    with pytest.raises(ValueError, match="database_name|MongoDB connection settings"):
        Backend(name, **settings)


def test_the_backend_is_a_complete_storage_and_no_engine(mongodb_backend_factory):
    backend = mongodb_backend_factory()
    assert isinstance(backend, BaseStorage)
    assert missing_methods(backend) == []
    assert isinstance(backend, SwitchableStorage)
    assert not hasattr(backend, "append") and not hasattr(backend, "get_data")


#: The package's modules, each importing only modules listed after it (no import circle).
LAYERS = [
    "storage", "upgrade", "checks", "journal", "units", "writes", "server", "backoff", "query",
    "codec",
]


def test_package_modules_import_in_one_direction():
    package = Path(mongodb_package.__file__).parent
    assert sorted(p.stem for p in package.glob("*.py")) == sorted([*LAYERS, "__init__"])
    for position, name in enumerate(LAYERS):
        tree = ast.parse((package / f"{name}.py").read_text())
        imported = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                imported.update([node.module] if node.module else [a.name for a in node.names])
        assert imported <= set(LAYERS[position + 1:]), (name, imported)


def test_concurrent_initialisation_is_idempotent(mongodb_backend_factory):
    backends = [mongodb_backend_factory() for _ in range(4)]
    errors = []

    def initialise(backend):
        try:
            Datastream(backend).find_streams().count()
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=initialise, args=(b,)) for b in backends]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    indexes = backends[0].database().datapoints.index_information()
    assert indexes["s_t_q"]["key"] == [("s", 1), ("t", 1), ("q", 1)]
    assert indexes["s_t_q"]["unique"] is True


# Indexes and round trips ----------------------------------------------------------------------


def _stages(plan):
    yield plan
    for key in ("inputStage", "queryPlan"):
        if key in plan:
            yield from _stages(plan[key])
    for child in plan.get("inputStages", []):
        yield from _stages(child)


def _explain(backend, event):
    command = {k: v for k, v in event.command.items()
               if k in ("find", "filter", "sort", "skip", "limit", "projection")}
    result = backend.database().command("explain", command, verbosity="queryPlanner")
    return list(_stages(result["queryPlanner"]["winningPlan"]))


@pytest.mark.parametrize("reverse", [False, True])
def test_range_scans_and_pages_use_the_indexes(mongo, commands, reverse):
    """Every read of heads and chunks is an index scan (``s_t_q``, ``s_k_f`` or ``_id``)."""
    sid = new_stream(mongo)
    mongo.append_multiple([{"stream_id": sid, "value": i, "timestamp": T0 + seconds(i)}
                           for i in range(3000)])
    mongo.append_multiple([{"stream_id": sid, "value": i, "timestamp": T0 + seconds(i)}
                           for i in range(3000, 3100)])
    mongo.downsample_streams(until=T0 + seconds(4000))
    commands.reset()
    page = list(mongo.get_data(sid, G.Seconds, start=T0 + seconds(10), end=T0 + seconds(3050),
                               reverse=reverse)[20:70])
    assert len(page) == 50
    assert page[0]["v"] == (30 if not reverse else 3030)
    commands.reset()
    page = list(mongo.get_data(sid, G.Seconds, start=T0 + seconds(10), end=T0 + seconds(3050),
                               reverse=reverse))
    assert len(page) == 3041  # the end is inclusive
    assert len(list(mongo.get_data(sid, G.Minutes, start=T0, reverse=reverse))) >= 51
    finds = [e for e in commands.events
             if e.command_name == "find" and e.command["find"] in ("datapoints", "chunks")]
    assert {e.command["find"] for e in finds} == {"datapoints", "chunks"}
    for find in finds:
        stages = _explain(mongo.backend, find)
        assert not any(s["stage"] == "COLLSCAN" for s in stages), stages
        assert any(s["stage"] in ("IXSCAN", "IDHACK", "EXPRESS_IXSCAN", "EXPRESS_IDHACK")
                   for s in stages), stages


def test_one_insert_for_append_multiple_and_two_round_trips_for_a_page(mongo, commands):
    sid = new_stream(mongo)
    mongo.append(sid, -1, T0 - seconds(1))  # warm up: indexes and deployment checks
    batch = [{"stream_id": sid, "value": i, "timestamp": T0 + seconds(i)} for i in range(1000)]
    commands.reset()
    mongo.append_multiple(batch)
    names = commands.names()
    assert [e.command.get("insert") for e in commands.events].count("datapoints") == 1
    if mongo.backend.uses_transactions():
        # read-and-lock the stream, insert the points, update the stream, commit
        assert names == ["findAndModify", "insert", "update", "commitTransaction"]

    mongo.append_multiple([{"stream_id": sid, "value": i, "timestamp": T0 + seconds(i)}
                           for i in range(1000, 10_000)])
    commands.reset()
    page = [d for d in mongo.get_data(sid, G.Seconds, start=T0)[:10_000]]  # list() would count
    assert len(page) == 10_000 and page[-1]["v"] == 9999
    # The stream, then one snapshot: the chunk index, the chunks' bytes, the head.
    finds = [e.command["find"] for e in commands.events if e.command_name == "find"]
    assert finds.count("streams") <= 1 and finds.count("datapoints") <= 1
    assert "getMore" not in commands.names() and len(finds) <= 6, commands.names()


# Values and tags ------------------------------------------------------------------------------


ODD_VALUES = [
    2**70,
    -(2**64),
    {"a.b": 1, "$c": [2**100, "x"], "": None},
    ["\ud800 lone surrogate", {"k": 2**63}],
    {"nested": {"deep": [1, 2.5, True, None, "ß"]}},
    "plain string",
    True,
]


def test_values_bson_cannot_hold_round_trip_exactly(mongo):
    sid = mongo.ensure_stream({"name": "odd"}, {}, ["count"], G.Seconds, value_type="nominal")
    mongo.append_multiple([{"stream_id": sid, "value": v, "timestamp": T0 + seconds(i)}
                           for i, v in enumerate(ODD_VALUES)])
    assert [d["v"] for d in mongo.get_data(sid, G.Seconds, start=T0)] == ODD_VALUES
    tags = {"big": 2**80, "dotted.key": {"$x": 1}, "text": "\udfff"}
    mongo.update_tags(sid, tags)
    assert mongo.get_tags(sid)["big"] == 2**80
    assert len(mongo.find_streams({"big": 2**80})) == 1
    assert len(mongo.find_streams({"text": {"iexact": "\udfff"}})) == 1


def test_a_document_beyond_the_bson_limit_is_an_invalid_value_and_writes_nothing(mongo):
    # Below the library's own size check, as a last line: the storage's errors never escape.
    sid = mongo.ensure_stream({"name": "big"}, {}, ["count"], G.Seconds, value_type="nominal")
    mongo.append(sid, "small", T0)
    backend = mongo.backend
    with pytest.raises(exceptions.InvalidValue, match="16 MB"), backend.unit_of_work():
        record = backend.load_stream(sid)
        backend.insert_datapoints([(record, record["latest_datapoint"] + 1, "x" * 17_000_000)])
    assert [d["v"] for d in mongo.get_data(sid, G.Seconds, start=T0)] == ["small"]


def test_supported_timestamp_range_is_not_limited_to_1970_2038(mongo):
    sid = new_stream(mongo)
    stamps = [at(1, 1, 2), at(1900, 6, 1), at(1969, 12, 31, 23, 59, 59), at(2038, 1, 19, 3, 14, 8),
              at(9999, 12, 30, 23, 59, 59)]
    mongo.append_multiple([{"stream_id": sid, "value": i, "timestamp": t}
                           for i, t in enumerate(stamps)])
    assert [d["t"] for d in mongo.get_data(sid, G.Seconds, start=datetime.datetime.min)] == stamps
    with pytest.raises(exceptions.InvalidTimestamp):
        mongo.append(sid, 1, at(1, 1, 1))


TAGS = [
    {"title": "Stream 1", "n": 1, "flag": True, "list": ["mean", "min"]},
    {"title": "STRASSE", "n": 1.0, "flag": 1, "list": [True, 1]},
    {"title": "straße", "n": 2, "nested": {"list": [{"a": 1}]}, "list": [[1, 2], "x"]},
    {"title": "\u212aelvin", "n": "2", "odd.key": 1, "list": []},
    {"title": "a.b*c", "big": 2**70, "n": None},
    {"title": "line\n", "nested": {"deep": {"x": "y"}}, "list": "mean"},
]

QUERIES = [
    {"title": "Stream 1"},
    {"title": {"iexact": "stream 1"}},
    {"title": {"iexact": "strasse"}},
    {"title": {"icontains": "KELVIN"}},
    {"title": {"istartswith": "kel"}},
    {"title": {"contains": "."}},
    {"title": {"contains": "b*c"}},
    {"title": {"endswith": "line"}},
    {"title": {"startswith": "str"}},
    {"title": {"iendswith": "E"}},
    {"n": 1},
    {"n": {"gte": 1}},
    {"n": {"gt": 1}},
    {"n": {"lt": "3"}},
    {"n": None},
    {"n": {"in": [2, "2"]}},
    {"n": {"nin": [1]}},
    {"n": {"ne": 2}},
    {"flag": True},
    {"flag": 1},
    {"list": "mean"},
    {"list": {"all": ["mean", "min"]}},
    {"list": {"all": ["mean", "foobar"]}},
    {"list": [1, 2]},
    {"list": [True, 1]},
    {"list": {"size": 0}},
    {"list": {"in": [1]}},
    {"nested": {"list": {"a": 1}}},
    {"nested": {"deep": {"x": "y"}}},
    {"nested": {"exists": True}},
    {"nested": {"exists": False}},
    {"big": 2**70},
    {"big": {"gt": 2**69}},
    {"title": {"exact": "STRASSE"}, "n": {"lte": 1}},
]


def test_server_side_tag_filtering_equals_the_engine_semantics(mongo):
    ids = [mongo.ensure_stream({"i": i}, tags, ALL_VALUE, G.Seconds) for i, tags in
           enumerate(TAGS)]
    backend = mongo.backend
    everything = list(backend.list_streams([]))
    for query in QUERIES:
        conditions = parse_query(query)
        expected = [r["stream_id"] for r in everything if matches(conditions, r["tags"])]
        got = [r["stream_id"] for r in backend.list_streams(conditions)]
        assert got == expected, query
    # The server really narrows: an equality on a tag returns the matching document, plus
    # the two whose tags BSON cannot hold (a dotted key, a 70-bit integer), checked locally.
    server = backend.database().streams.find(tags_filter(parse_query({"title": "Stream 1"})))
    assert [d["sid"] for d in server] == [ids[0], ids[3], ids[4]]


def test_a_filter_the_server_refuses_is_an_invalid_tag_query(mongo, monkeypatch):
    # Patterns are kept short enough for servers (query.MAX_PATTERN); past that the server's
    # refusal (OperationFailure) still comes out as a datastream exception.
    monkeypatch.setattr(mongodb_query, "MAX_PATTERN", 10**6)
    mongo.ensure_stream({"title": "x"}, {}, ALL_VALUE, G.Seconds)
    conditions = [Condition(("title",), "contains", "y" * 40_000)]
    with pytest.raises(exceptions.InvalidTagQuery, match="MongoDB refused the tag query"):
        mongo.backend.list_streams(conditions)


# Databases and processes ----------------------------------------------------------------------


def test_database_switch(mongo):
    sid = mongo.ensure_stream({"name": "xyz"}, {}, ALL_VALUE, G.Seconds)
    assert mongo.append(sid, 42)["datapoint"]["v"] == 42
    original = mongo.backend.database_name
    mongo._switch_database(original + "_switch")
    assert len(mongo.find_streams()) == 0
    other = mongo.ensure_stream({"name": "xyz"}, {}, ALL_VALUE, G.Seconds)
    mongo.append(other, 1)
    assert len(mongo.find_streams()) == 1
    mongo.delete_streams()
    assert len(mongo.find_streams()) == 0
    mongo._switch_database(original)
    assert [s["stream_id"] for s in mongo.find_streams()] == [sid]
    assert [d["v"] for d in mongo.get_data(sid, G.Seconds, start=EPOCH)] == [42]


def _append_in_child(ds, sid, queue):
    try:
        ds.append(sid, 7, T0 + seconds(1))
        queue.put(("ok", os.getpid()))
    except BaseException as error:  # pragma: no cover - reported to the parent
        queue.put(("error", repr(error)))


def test_a_forked_child_gets_its_own_client(mongo):
    sid = new_stream(mongo)
    mongo.append(sid, 6, T0)
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_append_in_child, args=(mongo, sid, queue))
    child.start()
    outcome = queue.get(timeout=60)
    child.join(timeout=60)
    assert outcome[0] == "ok", outcome
    assert child.exitcode == 0
    assert [d["v"] for d in mongo.get_data(sid, G.Seconds, start=T0)] == [6, 7]
