"""``manage.py downsample``: downsample all pending streams (run it from cron)."""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_datastream.demo import runner
from django_datastream.demo.progress import ProgressBar
from django_datastream.demo.timespan import SpanError, parse_timestamp


def parse_tag(text: str) -> dict[str, Any]:
    """``key=value`` (``a.b=value`` for nested tags) as a query dict.

    The value is read as JSON when it is valid JSON (``1``, ``true``, ``null``, ``"1"``),
    otherwise it is the string itself.
    """
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise CommandError(f"Invalid tag query '{text}'. Use key=value, e.g. title=Stream 1.")
    try:
        value = json.loads(raw)
    except ValueError:
        value = raw
    query: dict[str, Any] = {}
    node = query
    path = [part.strip() for part in key.split(".")]
    if any(not part for part in path):
        raise CommandError(f"Invalid tag name '{key}'.")
    for part in path[:-1]:
        node = node.setdefault(part, {})
    node[path[-1]] = value
    return query


def merge_queries(queries: list[dict[str, Any]]) -> dict[str, Any]:
    """Combine several tag queries into one (all must match)."""
    merged: dict[str, Any] = {}
    for query in queries:
        _merge(merged, query)
    return merged


def _merge(target: dict[str, Any], source: dict[str, Any]) -> None:
    for key, value in source.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


class Command(BaseCommand):
    help = "Downsample all pending streams (or those matching --tag) up to now or --until."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-u",
            "--until",
            default="",
            help="Downsample only buckets that end before this time, 'yyyy-mm-ddThh:mm:ss' "
            "(UTC). Default: now. The bucket holding a stream's latest datapoint is never "
            "closed.",
        )
        parser.add_argument(
            "--tag",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="Only streams whose tag KEY equals VALUE (repeat for several tags; "
            "'a.b=VALUE' for nested tags; VALUE is read as JSON when possible, so "
            "stream_number=1 matches the number 1).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        until = None
        if options["until"]:
            try:
                until = parse_timestamp(options["until"])
            except SpanError as error:
                raise CommandError(str(error)) from None
        query = merge_queries([parse_tag(text) for text in options["tag"]]) or None
        verbosity = options["verbosity"]
        datastream = runner.configured_datastream()
        streams = list(datastream.find_streams(query))
        if not streams:
            if verbosity >= 1:
                self.stdout.write("No streams to downsample.")
            return
        if verbosity >= 2:
            self.stdout.write("Downsampling.")
        started = time.monotonic()
        bar = ProgressBar(self.stderr, len(streams), "Downsampling", enabled=verbosity >= 1)
        new = 0
        for done, stream in enumerate(streams, start=1):
            produced = datastream.downsample_streams(
                query_tags={"stream_id": stream["stream_id"]},
                until=until,
                return_datapoints=True,
            )
            new += len(produced or ())
            bar.update(done)
        bar.finish()
        if verbosity >= 1:
            self.stdout.write(
                f"Done. Downsampled {len(streams)} streams: {new} new downsampled datapoints "
                f"in {time.monotonic() - started:.1f} s."
            )
