"""The datastream engine: every semantic rule, written once, on top of a storage.

One job per module:

* :mod:`.units` — the unit of work (records and datapoints buffered, flushed at the end);
* :mod:`.catalog` — creating streams, tags, finding and deleting streams;
* :mod:`.writes` — appending datapoints;
* :mod:`.derived` — derived streams: configuration, feeding, backprocessing;
* :mod:`.reads` — ``get_data``: raw and bucket result sources;
* :mod:`.downsampling` — closing buckets;
* :mod:`.buckets`, :mod:`.records` — helpers shared by the above;
* :mod:`.core` — :class:`Engine`, which puts them together.

The engine holds a :class:`~datastream.storage.Storage`; the storage never sees the engine.
"""

from .catalog import StreamSpec
from .core import Engine
from .reads import DataQuery
from .units import Observer

__all__ = ["DataQuery", "Engine", "Observer", "StreamSpec"]
