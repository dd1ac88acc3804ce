"""``manage.py downsample``: downsample all pending streams, once or (``--watch``) on and on.

Server processes downsample by themselves (:mod:`django_datastream.worker`); this command is
for one-off runs (``--until``, ``--tag``) and, with ``--watch``, for a separate worker process
running the same passes as the in-process worker's sweeps.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.http import QueryDict

from datastream.exceptions import DatastreamException, DownsamplingFailed
from django_datastream.conf import datastream_settings
from django_datastream.management.support import (
    ProgressBar,
    TimeFormatError,
    configured_datastream,
    counted,
    parse_timestamp,
)
from django_datastream.params.parse import QueryError, parse_tag_filters
from django_datastream.worker import DownsamplingWorker, PassResult
from django_datastream.worker.passes import enforce_retention


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
    help = (
        "Downsample all pending streams (or those matching --tag) up to now or --until; "
        "with --watch, keep doing so every --interval seconds until stopped (Ctrl-C)."
    )

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
        parser.add_argument(
            "--watch",
            action="store_true",
            help="Keep running: downsample every stream with new complete buckets every "
            "--interval seconds, until interrupted (Ctrl-C or SIGTERM ends it after the "
            "current pass). The same passes as the worker in each server process "
            "(DATASTREAM_DOWNSAMPLE_WORKER), for those who prefer a separate process.",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=None,
            metavar="SECONDS",
            help="With --watch: seconds between two passes. Default: "
            "DATASTREAM_DOWNSAMPLE_INTERVAL (5), or 5 when that is 0.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["watch"]:
            self.watch(options)
            return
        if options["interval"] is not None:
            raise CommandError("--interval goes with --watch.")
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
        try:
            dropped = enforce_retention(datastream)
        except DatastreamException as error:
            raise CommandError(f"Retention failed: {error}") from None
        if dropped and verbosity >= 1:
            self.stdout.write(f"Retention dropped {dropped:,} datapoints and buckets.")
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

    # --watch ------------------------------------------------------------------------------

    def watch(self, options: dict[str, Any]) -> None:
        """Sweep every ``--interval`` seconds until interrupted; report each pass."""
        if options["until"]:
            raise CommandError("--until cannot be used with --watch (it downsamples up to now).")
        interval = options["interval"]
        if interval is None:
            interval = float(datastream_settings.DOWNSAMPLE_INTERVAL or 0) or 5.0
        if not interval > 0:
            raise CommandError(f"--interval must be a positive number of seconds, not {interval}.")
        query = parse_tags(options["tag"])
        datastream = configured_datastream()
        verbosity = options["verbosity"]
        worker = DownsamplingWorker(
            lambda: datastream,
            interval=interval,
            count=True,
            report=lambda result: self.report(result, verbosity),
            query_tags=query,
            jitter=False,
        )
        if verbosity >= 1:
            self.stdout.write(
                f"Watching: downsampling {'matching' if query else 'all'} streams every "
                f"{interval:g} s. Stop with Ctrl-C."
            )
        worker.start()
        stopping = _on_sigterm(worker)
        try:
            while worker.alive:
                worker.wait(0.5)
        except KeyboardInterrupt:
            if verbosity >= 1:
                self.stdout.write("Stopping after the current pass.")
        finally:
            worker.stop(timeout=None)
            stopping()
        if verbosity >= 1:
            passes = worker.passes["sweep"]
            self.stdout.write(f"Stopped after {counted(passes, 'sweep')}.")

    def report(self, result: PassResult, verbosity: int) -> None:
        """One line per pass that did something (every pass at ``--verbosity 2``)."""
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if result.error is not None:
            self.stderr.write(f"{now} Downsampling failed: {result.error}")
        for stream_id, message in result.failures.items():
            self.stderr.write(f"{now} Downsampling stream {stream_id} failed: {message}")
        if verbosity >= 2 or (verbosity >= 1 and result.datapoints):
            self.stdout.write(
                f"{now} Downsampled {counted(len(result.streams), 'stream')}: "
                f"{counted(result.datapoints, 'new downsampled datapoint')} "
                f"in {result.seconds:.2f} s."
            )


def _on_sigterm(worker: DownsamplingWorker) -> Callable[[], Any]:
    """Make SIGTERM stop ``worker`` as Ctrl-C does (main thread only); returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, lambda *_: worker.stop(timeout=0))
    return lambda: signal.signal(signal.SIGTERM, previous)
