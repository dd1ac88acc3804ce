"""Fixtures for the demo tests: management commands, the demo page and headless Chromium.

* ``demo_store`` points ``DATASTREAM_BACKEND(_SETTINGS)`` at a fresh SQLite file for one test
  and gives the configured ``Datastream``;
* ``run_command`` runs a management command and returns its output;
* ``demo_streams`` fills ``demo_store`` with the three demo streams (one hour, downsampled);
* ``chromium`` is Debian's Chromium driven by Playwright (skipped when it is not installed).
"""

from __future__ import annotations

import dataclasses
import io
import random
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings

CHROMIUM = "/usr/bin/chromium"
#: How Chromium runs here as root, on a closed network.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_TYPES = "int(0,10),float(-2,2),float(0,100)"


@dataclasses.dataclass
class CommandResult:
    """Output of a management command run by ``run_command``."""

    stdout: str
    stderr: str


@pytest.fixture
def demo_store(tmp_path: Path) -> Iterator[Any]:
    """The configured ``django_datastream.datastream``, on a new SQLite file of this test."""
    import django_datastream

    path = tmp_path / "datastream.sqlite3"
    with override_settings(
        DATASTREAM_BACKEND="datastream.backends.sqlite.Backend",
        DATASTREAM_BACKEND_SETTINGS={"database_name": str(path)},
    ):
        store = django_datastream.datastream
        assert store is not None
        yield store
        close = getattr(store.backend, "close", None)
        if close is not None:
            close()


@pytest.fixture
def run_command(demo_store: Any) -> Callable[..., CommandResult]:
    """Run a management command against ``demo_store``: ``run_command('dummystream', ...)``."""

    def run(name: str, *args: str, **options: Any) -> CommandResult:
        stdout, stderr = io.StringIO(), io.StringIO()
        call_command(name, *args, stdout=stdout, stderr=stderr, **options)
        return CommandResult(stdout.getvalue(), stderr.getvalue())

    return run


@pytest.fixture
def demo_streams(demo_store: Any) -> list[str]:
    """The three demo streams with one hour of data every 5 s, downsampled; their ids."""
    from django_datastream.demo.generator import DummyStreams
    from django_datastream.demo.streamtypes import parse_types
    from django_datastream.demo.timespan import parse_span

    dummy = DummyStreams(demo_store, parse_types(DEMO_TYPES), 5, rng=random.Random(5))
    dummy.ensure()
    dummy.backfill(dummy.plan(parse_span("1h")))
    return dummy.stream_ids


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Any]:
    """A headless Chromium browser (Playwright, the system browser: nothing is downloaded).

    Function-scoped on purpose: Playwright's sync API keeps an event loop running while it is
    open, and Django refuses database work (such as ``live_server``'s set-up) under a running
    loop, so the browser starts after, and stops before, the test's database fixtures.
    """
    if not Path(CHROMIUM).exists():
        pytest.skip(f"Debian chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    profile = tmp_path / "chromium-profile"
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 1200},
        )
        try:
            yield browser
        finally:
            browser.close()
