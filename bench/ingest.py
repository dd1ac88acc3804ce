"""Line protocol ingest over HTTP: datapoints per second through ``/api/ingest/api/v2/write``.

Run ``python -m bench.ingest [--batches N] [--clients N] [--workers N]``. It starts the test
project (``test_project.ingest_settings`` with ``bench/ingest_urls.py``: the writable API of
``tests/ingest_urls.py`` without its throttle, API keys in a temporary users database) under
uvicorn with ``--workers`` processes (default 2) on a fresh SQLite datastream, then posts
batches of 5,000 lines from ``--clients`` threads (keep-alive connections), first spread over
1,000 series ("many streams", each client its own), then each client on one series of its own
("one stream"). The first batch of each case (which creates the streams) is not timed.
Figures are printed, never asserted; the target is 250,000 datapoints/s.
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
LINES = 5_000
SERIES = 1_000
T0 = 1_700_000_000
TOKEN = "Token alice:alice-key"
PATH = "/api/ingest/api/v2/write?bucket=b&org=o&precision=s"
_SETUP = (
    "import django; django.setup()\n"
    "from django.core.management import call_command\n"
    "call_command('migrate', run_syncdb=True, verbosity=0)\n"
    "from plugins.django_api import create_users; create_users()\n"
)


def batch(number: int, series: int, prefix: str) -> bytes:
    """Batch ``number``: 5,000 lines over ``series`` series named after ``prefix``, times
    after the previous batch's."""
    start = T0 + number * LINES
    return "\n".join(
        f"{prefix},host=h{i % series} value={i * 0.5} {start + i}" for i in range(LINES)
    ).encode()


def post(port: int, bodies: list[bytes], errors: list[str]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    for body in bodies:
        connection.request("POST", PATH, body, {"Authorization": TOKEN})
        response = connection.getresponse()
        payload = response.read()
        if response.status != 204:
            errors.append(f"{response.status} {payload[:200]!r}")
    connection.close()


def run_case(port: int, name: str, series: int, batches: int, clients: int) -> None:
    """Each client writes series of its own (appends stay in time order per stream)."""
    errors: list[str] = []
    prefixes = [f"{name.split()[0]}{c}" for c in range(clients)]
    for prefix in prefixes:
        post(port, [batch(0, series, prefix)], errors)  # creates the streams, not timed
    plans = [[batch(1 + b, series, prefix) for b in range(batches)] for prefix in prefixes]
    threads = [threading.Thread(target=post, args=(port, plan, errors)) for plan in plans]
    begin = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - begin
    points = batches * clients * LINES
    print(f"{name:<40} {points:>9,} datapoints in {elapsed:6.2f} s: "
          f"{points / elapsed:>10,.0f} datapoints/s  (target 250,000)"
          + (f"  ERRORS: {len(errors)} e.g. {errors[0]}" if errors else ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=10, help="timed batches per client")
    parser.add_argument("--clients", type=int, default=4, help="concurrent client connections")
    parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        environment = dict(
            os.environ,
            DJANGO_SETTINGS_MODULE="test_project.ingest_settings",
            DATASTREAM_URLCONF="bench.ingest_urls",
            DATASTREAM_USERS_DB=str(Path(directory) / "users.sqlite3"),
            DATASTREAM_SQLITE_PATH=str(Path(directory) / "datastream.sqlite3"),
            PYTHONPATH=os.pathsep.join([str(ROOT / "tests"), str(ROOT)]),
        )
        environment.pop("DATASTREAM_MONGODB_URI", None)
        subprocess.run([sys.executable, "-c", _SETUP], cwd=ROOT / "tests", env=environment,
                       check=True)
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "test_project.asgi:application", "--app-dir",
             str(ROOT / "tests"), "--port", str(port), "--workers", str(options.workers),
             "--log-level", "warning", "--no-access-log"],
            cwd=ROOT, env=environment,
        )  # fmt: skip
        try:
            for _ in range(300):
                try:
                    socket.create_connection(("127.0.0.1", port), 0.2).close()
                    break
                except OSError:
                    time.sleep(0.1)
            time.sleep(1.0)  # every worker up
            print(f"uvicorn, {options.workers} workers, {options.clients} clients, "
                  f"batches of {LINES:,} lines, SQLite")
            per_client = SERIES // options.clients
            run_case(port, f"many streams ({per_client:,} series per client)", per_client,
                     options.batches, options.clients)
            run_case(port, "one stream (one per client)", 1, options.batches, options.clients)
        finally:
            server.terminate()
            server.wait(10)


if __name__ == "__main__":
    main()
