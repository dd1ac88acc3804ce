"""The datastream engine: every semantic rule, written once, on top of a storage.

One job per module, each importing only modules listed before it:

* :mod:`.records`, :mod:`.buckets`, :mod:`.rawjson` — helpers: reading a stream record,
  bucket summaries, raw datapoints as JSON;
* :mod:`.chunks`, :mod:`.chunkstore` — the chunk format, and datapoints and buckets on a
  storage's chunks and write heads (appends, sealing, reads, counts);
* :mod:`.units` — the unit of work (records loaded once, datapoints buffered and flushed at
  the end); every record the engine reads is loaded here;
* :mod:`.catalog` — creating streams (derived streams configured at creation), tags, finding
  and deleting streams;
* :mod:`.reads` — ``get_data``: raw and bucket result sources; the open buckets;
* :mod:`.writes` — appending and storing datapoints, propagating them to derived streams
  through one worklist, backprocessing;
* :mod:`.downsampling` — closing buckets (and feeding them to derived streams);
* :mod:`.core` — :class:`Engine`, which puts them together.

The engine holds a :class:`~datastream.storage.BaseStorage`; the storage never sees the engine.
"""

from .catalog import StreamSpec
from .core import Engine
from .reads import DataQuery
from .units import Observer

__all__ = ["DataQuery", "Engine", "Observer", "StreamSpec"]
