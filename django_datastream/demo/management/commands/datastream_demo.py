"""``manage.py datastream_demo``: the whole demo in one command.

Creates the three demo streams (realistic signals; ``--random``: uniform random values),
back-fills their history with a progress bar, serves the demo
page and the API, and appends new datapoints in real time until Ctrl-C (or ``--stop-after``).
"""

from __future__ import annotations

import json
import random
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_datastream.demo.server import DemoServer
from django_datastream.demo.signals import DEMO_SIGNALS
from django_datastream.management import runner
from django_datastream.management.commands.dummystream import DEMO_SPAN, DEMO_TYPES
from django_datastream.management.generator import DummyStreams
from django_datastream.management.streamtypes import parse_types
from django_datastream.management.support import counted
from django_datastream.management.timespan import SpanError, parse_span


class Command(BaseCommand):
    help = (
        "Run the demo: create three demo streams, back-fill their history, serve the "
        "interactive page and the API, and append new datapoints in real time until Ctrl-C."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-s",
            "--span",
            default=[DEMO_SPAN],
            nargs="+",
            metavar="SPAN",
            help=f"History to back-fill, as for dummystream (default {DEMO_SPAN}); a later run "
            "resumes after the data already there.",
        )
        parser.add_argument(
            "-i",
            "--interval",
            type=int,
            default=5,
            help="Seconds between datapoints, in the history and in real time (default 5).",
        )
        parser.add_argument(
            "--host",
            default="127.0.0.1",
            help="Address to serve on (default 127.0.0.1; 0.0.0.0 for every interface).",
        )
        parser.add_argument(
            "-p",
            "--port",
            type=int,
            default=8000,
            help="Port to serve on (default 8000; 0 picks a free port).",
        )
        parser.add_argument(
            "--stop-after",
            type=float,
            default=None,
            metavar="SECONDS",
            help="Stop after serving and appending for this many seconds (for CI); default: "
            "run until Ctrl-C.",
        )
        parser.add_argument(
            "--self-check",
            action="store_true",
            help="Once serving, fetch the page, plotly.js and the stream list from the server "
            "and fail unless they answer correctly.",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=5000,
            help="Datapoints written per append_multiple() call while back-filling.",
        )
        parser.add_argument(
            "--random",
            action="store_true",
            help="Fill the streams Stream 0-2 with uniform random values (those of dummystream "
            "--demo) instead of realistic signals (daily cycles, trends, noise, gaps, spikes).",
        )
        parser.add_argument("--seed", type=int, default=None, help="Seed of the random values.")
        parser.add_argument(
            "--access-log", action="store_true", help="Log every HTTP request to stderr."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["interval"] < 1:
            raise CommandError("The interval must be a positive number of seconds.")
        if options["batch_size"] < 1:
            raise CommandError("The batch size must be a positive number of datapoints.")
        if options["stop_after"] is not None and options["stop_after"] < 0:
            raise CommandError("--stop-after must not be negative.")
        if not 0 <= options["port"] <= 65535:
            raise CommandError("The port must be between 0 and 65535.")
        try:
            span = parse_span(" ".join(options["span"]))
        except SpanError as error:
            raise CommandError(str(error)) from None
        verbosity = options["verbosity"]
        dummy = DummyStreams(
            runner.configured_datastream(),
            parse_types(DEMO_TYPES) if options["random"] else list(DEMO_SIGNALS),
            options["interval"],
            rng=random.Random(options["seed"]),
        )
        runner.create_streams(self, dummy, verbosity)
        interrupted = False
        server = None
        try:
            runner.backfill(self, dummy, span, options["batch_size"], verbosity, catch_up=True)
            try:
                server = DemoServer(
                    options["host"], options["port"], quiet=not options["access_log"]
                ).start()
            except OSError as error:
                raise CommandError(
                    f"Cannot serve on {options['host']}:{options['port']}: {error}. "
                    "Choose another --port."
                ) from None
            if verbosity >= 1:
                self.stdout.write(
                    f"Demo page: {server.url}  (API: {server.url}api/v1/stream/)",
                    self.style.SUCCESS,
                )
            if options["self_check"]:
                self.self_check(server, len(dummy.stream_ids), verbosity)
            runner.real_time(self, dummy, options["stop_after"], verbosity)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            if server is not None:
                server.stop()
        runner.summary(self, dummy, interrupted, verbosity)

    def self_check(self, server: DemoServer, streams: int, verbosity: int) -> None:
        """Fetch the page, plotly.js and the stream list; raise CommandError on a problem."""
        checks = [
            ("", b"datastream-config"),
            ("static/datastream/vendor/plotly.min.js", b"plotly"),
            ("static/datastream/js/demo.js", b"DemoPage"),
        ]
        for path, needle in checks:
            try:
                status, body = server.get(path)
            except OSError as error:
                raise CommandError(f"Self-check: GET /{path} failed: {error}") from None
            if status != 200 or needle not in body:
                raise CommandError(f"Self-check: GET /{path} answered {status} without {needle!r}.")
        try:
            status, body = server.get("api/v1/stream/?format=json&limit=0")
            found = json.loads(body)["meta"]["total_count"]
        except (OSError, ValueError, KeyError) as error:
            raise CommandError(f"Self-check: the stream list failed: {error}") from None
        if found < streams:
            raise CommandError(
                f"Self-check: the API lists {counted(found, 'stream')}, expected {streams}."
            )
        if verbosity >= 1:
            self.stdout.write(
                f"Self-check passed: page, plotly.js and API ({counted(found, 'stream')})."
            )
