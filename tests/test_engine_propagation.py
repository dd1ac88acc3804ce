"""The engine's write path, on the reference storage: every stored datapoint reaches the
streams derived from it through one worklist (no recursion, however deep the chain of derived
streams), in the order a depth-first walk gives, live and when backprocessing; and the
engine's modules import each other without a cycle."""

from __future__ import annotations

import ast
import graphlib
import pathlib
import sys

import pytest
from helpers import ALL_VALUE, G, at, seconds, values

import datastream.engine
from datastream import Datastream
from datastream.backends.memory import Backend

T0 = at(2020, 1, 1)


@pytest.fixture
def ds(clock) -> Datastream:
    return Datastream(Backend(clock=clock))


def _source(ds: Datastream, name: str = "source") -> str:
    return ds.ensure_stream({"name": name}, {}, ALL_VALUE, G.Seconds)


def _sum(ds: Datastream, name: str, *sources: str, backprocess: bool = True) -> str:
    return ds.ensure_stream(
        {"name": name}, {}, ALL_VALUE, G.Seconds, derive_from=list(sources), derive_op="sum",
        derive_backprocess=backprocess,
    )


def test_a_chain_of_derived_streams_deeper_than_the_recursion_limit_is_fed(ds):
    depth = sys.getrecursionlimit() // 2  # a recursive walk needs three frames a level
    chain = [_source(ds)]
    for level in range(depth):
        chain.append(_sum(ds, f"level{level}", chain[-1]))
    ds.append_multiple([{"stream_id": chain[0], "value": v, "timestamp": T0 + seconds(v)}
                        for v in range(3)])
    assert values(ds.get_data(chain[-1], G.Seconds, start=T0)) == [0, 1, 2]


def test_a_diamond_of_derived_streams_sees_each_input_once(ds):
    a = _source(ds, "a")
    b = _sum(ds, "b", a)  # b = a
    c = ds.ensure_stream({"name": "c"}, {}, ALL_VALUE, G.Seconds, derive_from=[b],
                         derive_op="derivative")
    d = _sum(ds, "d", a, b, c)  # a + a + derivative
    for offset, value in enumerate((1, 3, 7, 15)):
        ds.append(a, value, T0 + seconds(2 * offset))
    assert values(ds.get_data(c, G.Seconds, start=T0)) == [1, 2, 4]
    # The first second has no derivative yet: its bucket waits for all three sources.
    assert values(ds.get_data(d, G.Seconds, start=T0)) == [3 + 3 + 1, 7 + 7 + 2, 15 + 15 + 4]


def test_backprocessing_feeds_through_the_same_worklist_as_live_appends(ds):
    live_source = _source(ds, "live source")
    live = _sum(ds, "live top", _sum(ds, "live middle", live_source))
    source = _source(ds, "late source")
    points = [(i, i * i) for i in range(10)]
    for offset, value in points:
        ds.append(live_source, value, T0 + seconds(offset))
        ds.append(source, value, T0 + seconds(offset))
    middle = _sum(ds, "late middle", source)
    late = _sum(ds, "late top", middle)
    assert ds.get_tags(middle)["pending_backprocess"]
    ds.backprocess_streams()
    assert not ds.get_tags(middle)["pending_backprocess"]
    assert list(ds.get_data(late, G.Seconds, start=T0)) == list(
        ds.get_data(live, G.Seconds, start=T0))
    assert values(ds.get_data(late, G.Seconds, start=T0)) == [value for _t, value in points]


def test_downsampled_buckets_feed_streams_derived_at_a_lower_granularity(ds):
    source = _source(ds)
    minutes = ds.ensure_stream(
        {"name": "minutes"}, {}, ALL_VALUE, G.Minutes,
        derive_from=[{"stream": source, "granularity": G.Minutes}], derive_op="sum",
    )
    for offset in range(0, 180, 10):
        ds.append(source, 2, T0 + seconds(offset))
    ds.downsample_streams(until=T0 + seconds(180))
    assert values(ds.get_data(minutes, G.Minutes, start=T0)) == [2, 2]


def _engine_imports() -> dict[str, set[str]]:
    """Each module of datastream.engine and the engine modules it imports at run time."""
    folder = pathlib.Path(datastream.engine.__file__).parent
    names = {path.stem for path in folder.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in folder.glob("*.py"):
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module is None:
                    imported.update(alias.name for alias in node.names if alias.name in names)
                else:
                    imported.add(node.module.split(".")[0])
        graph[path.stem] = imported & names - {path.stem}
    return graph


def test_the_engine_modules_import_each_other_without_a_cycle():
    graph = _engine_imports()
    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises on a cycle
    assert order.index("units") < order.index("catalog") < order.index("core")
    assert order.index("reads") < order.index("writes") < order.index("downsampling")
    assert "derived" not in graph
    assert not graph["catalog"] & {"writes", "reads", "downsampling"}
