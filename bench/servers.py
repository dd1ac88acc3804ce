"""The test project served by uvicorn for the benchmarks, and a process's memory figures."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    """A loopback TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def serve(database: str, source: Path) -> Iterator[tuple[int, subprocess.Popen]]:
    """The test project under uvicorn (code of ``source``) on a free loopback port."""
    port = free_port()
    environment = dict(os.environ, DATASTREAM_SQLITE_PATH=database)
    environment.pop("DATASTREAM_MONGODB_URI", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "test_project.asgi:application",
         "--app-dir", str(source / "tests"), "--port", str(port), "--log-level", "warning",
         "--backlog", "4096"],
        cwd=source, env=environment,
    )  # fmt: skip
    try:
        for _ in range(150):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield port, server
    finally:
        server.terminate()
        server.wait(10)


def status_memory(pid: int | str = "self") -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` (peak) of a process, in bytes (Linux ``/proc``)."""
    figures = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "VmHWM"):
                figures[name] = int(value.split()[0]) * 1024
    return figures
