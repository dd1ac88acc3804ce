"""The MongoDB storage: ``datastream.backends.mongodb.Backend``.

Modules, each importing only those listed after it::

    storage   Backend: the storage protocol on pymongo
    upgrade   converting a database of the previous layout (bucket documents) to chunks
    checks    the connection settings checked offline, or with a ping (Backend.check)
    journal   the unit of work without transactions (leases and a journal)
    units     the unit-of-work protocol; transactions; autocommit
    writes    write operations and the one function applying them
    server    errors translated, indexes, deployment detection
    backoff   the back-off of every wait
    query     tag queries as server filters
    codec     values to BSON and back
"""

from .storage import SERVER_SELECTION_TIMEOUT_MS, Backend

__all__ = ["SERVER_SELECTION_TIMEOUT_MS", "Backend"]
