"""``manage.py downsample``: downsample all pending streams (run it from cron)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import QueryDict

from datastream.exceptions import DatastreamException, DownsamplingFailed
from django_datastream.management.support import (
    ProgressBar,
    TimeFormatError,
    configured_datastream,
    counted,
    parse_timestamp,
)
from django_datastream.params.parse import QueryError, parse_tag_filters


def parse_tags(texts: Iterable[str]) -> dict[str, Any] | None:
    """The ``find_streams`` query of ``--tag`` arguments, by the HTTP API's rule.

    ``KEY=VALUE`` reads as the API's ``tags__KEY=VALUE`` filter (see
    :func:`django_datastream.params.parse.parse_tag_filters`): ``a__b=1`` addresses a nested tag, a
    last segment may be an operator (``size__gte=10``), and values are coerced the same way.
    ``None`` when there are no tags.
    """
    params = QueryDict(mutable=True)
    for text in texts:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise CommandError(
                f"Invalid --tag {text!r}: use KEY=VALUE, e.g. --tag 'title=Stream 1' "
                "(nested tags as in the API: group__name=even)."
            )
        params.appendlist(f"tags__{key}", value)
    try:
        return parse_tag_filters(params)
    except QueryError as error:
        raise CommandError(f"Invalid --tag: {error}") from None


class Command(BaseCommand):
    help = "Downsample all pending streams (or those matching --tag) up to now or --until."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-u",
            "--until",
            default="",
            help="Downsample only buckets that end before this ISO 8601 time, e.g. "
            "'2007-03-04T21:08:12' (UTC unless an offset such as '+02:00' is given). "
            "Default: now. The bucket holding a stream's latest datapoint is never closed.",
        )
        parser.add_argument(
            "--tag",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="Only streams whose tag KEY matches VALUE, written as the API's "
            "tags__KEY=VALUE filter: 'group__name=even' for nested tags, "
            "'stream_number__gte=2' with an operator; numbers, true/false and null are "
            "read as such. Repeat for several tags (all must match).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        until = None
        if options["until"]:
            try:
                until = parse_timestamp(options["until"])
            except TimeFormatError as error:
                raise CommandError(f"--until: {error}") from None
        query = parse_tags(options["tag"])
        verbosity = options["verbosity"]
        datastream = configured_datastream()
        try:
            streams = list(datastream.find_streams(query))
        except DatastreamException as error:
            raise CommandError(f"Finding the streams failed: {error}") from None
        if not streams:
            if verbosity >= 1:
                self.stdout.write("No streams to downsample.")
            return
        if verbosity >= 2:
            self.stdout.write("Downsampling.")
        started = time.monotonic()
        bar = ProgressBar(self.stderr, len(streams), "Downsampling", enabled=verbosity >= 1)
        new = 0
        failures: dict[str, str] = {}
        for done, stream in enumerate(streams, start=1):
            try:
                produced = datastream.downsample_streams(
                    query_tags={"stream_id": stream["stream_id"]},
                    until=until,
                    return_datapoints=True,
                )
            except DownsamplingFailed as error:
                failures.update(error.failures)
            except DatastreamException as error:
                bar.finish()
                raise CommandError(f"Downsampling failed: {error}") from None
            else:
                new += len(produced or ())
            bar.update(done)
        bar.finish()
        if failures:
            for stream_id, message in failures.items():
                self.stderr.write(f"Downsampling stream {stream_id} failed: {message}")
            raise CommandError(
                f"Downsampling failed for {counted(len(failures), 'stream')} "
                f"({', '.join(failures)}); the other streams were downsampled."
            )
        if verbosity >= 1:
            self.stdout.write(
                f"Done. Downsampled {counted(len(streams), 'stream')}: "
                f"{counted(new, 'new downsampled datapoint')} "
                f"in {time.monotonic() - started:.1f} s."
            )
