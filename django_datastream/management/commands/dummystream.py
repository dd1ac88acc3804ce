"""``manage.py dummystream``: regularly append dummy datapoints to streams."""

from __future__ import annotations

import random
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from django_datastream.management import runner
from django_datastream.management.generator import DummyStreams
from django_datastream.management.streamtypes import StreamType, StreamTypeError, parse_types
from django_datastream.management.timespan import Span, SpanError, parse_span

DEMO_TYPES = "int(0,10),float(-2,2),float(0,100)"
DEMO_SPAN = "2d"

FLUSH_ALONE = (
    "Do you really want to remove all datastream data from the database? "
    "Use only '--flush' parameter."
)
DEMO_FIXED = "In demo mode other parameters are fixed."
COUNT_MISMATCH = "Number of stream types does not match number of streams."
NOTHING_TO_DO = (
    "Nothing to do: with --no-real-time, give a --span (e.g. '--span=1h') or use --demo."
)


class Command(BaseCommand):
    help = (
        "Regularly append dummy datapoints to streams: create streams of random values, "
        "optionally back-fill a time span, then append in real time until interrupted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "-n",
            "--streams",
            type=int,
            default=None,
            help="Number of streams (default 3 when --types is not given; all of type 'int').",
        )
        parser.add_argument(
            "-i",
            "--interval",
            type=int,
            default=5,
            help="Seconds between generated datapoints, in the back-fill and in real time "
            "(default 5).",
        )
        parser.add_argument(
            "-t",
            "--types",
            default=None,
            help="Comma-separated stream types: int, float, enum or graph, each optionally "
            "with a domain, e.g. 'int(0,10),float(-2,2),enum(a,b,c),graph(6,13)'.",
        )
        parser.add_argument(
            "--flush",
            action="store_true",
            help="Remove all datastream data (every stream and datapoint, nothing else) and "
            "exit. Must be used alone.",
        )
        parser.add_argument(
            "--demo",
            action="store_true",
            help=f"Demo preset: streams {DEMO_TYPES} over a {DEMO_SPAN} span "
            "(unless --span is given).",
        )
        parser.add_argument(
            "-s",
            "--span",
            default=[],
            nargs="+",
            metavar="SPAN",
            help="Back-fill history first: '<N><unit>' with unit d, h, m or s (that much time "
            "up to now, resuming after existing data), or two space-separated times "
            "'yyyy-mm-ddThh:mm:ss yyyy-mm-ddThh:mm:ss' (UTC). Default: no back-fill.",
        )
        parser.add_argument(
            "--no-real-time",
            action="store_true",
            dest="no_real_time",
            help="Only back-fill the span, then exit instead of appending in real time.",
        )
        parser.add_argument(
            "--stop-after",
            type=float,
            default=None,
            metavar="SECONDS",
            help="Stop appending in real time after this many seconds (default: run until "
            "interrupted with Ctrl-C).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=5000,
            help="Datapoints written per append_multiple() call while back-filling (default 5000).",
        )
        parser.add_argument(
            "--seed",
            type=int,
            default=None,
            help="Seed of the random values, for reproducible data.",
        )
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_false",
            dest="interactive",
            help="Do not ask for confirmation (of --flush).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        types, span = self.check_options(options)
        datastream = runner.configured_datastream()
        verbosity = options["verbosity"]
        if options["flush"]:
            if runner.flush_datastream(self, datastream, options["interactive"]) and verbosity >= 1:
                self.stdout.write("Removed all datastream data.")
            return

        dummy = DummyStreams(
            datastream, types, options["interval"], rng=random.Random(options["seed"])
        )
        run_dummy_streams(
            self,
            dummy,
            span,
            real_time=not options["no_real_time"],
            stop_after=options["stop_after"],
            batch_size=options["batch_size"],
            verbosity=verbosity,
        )

    def check_options(self, options: dict[str, Any]) -> tuple[list[StreamType], Span | None]:
        """Validate the option combination; returns ``(stream types, span or None)``."""
        streams, types_text = options["streams"], options["types"]
        if options["flush"]:
            if streams is not None or types_text is not None or options["demo"]:
                raise CommandError(FLUSH_ALONE)
            return [], None
        if options["interval"] < 1:
            raise CommandError("The interval must be a positive number of seconds.")
        if options["batch_size"] < 1:
            raise CommandError("The batch size must be a positive number of datapoints.")
        if options["stop_after"] is not None and options["stop_after"] < 0:
            raise CommandError("--stop-after must not be negative.")
        span_text = " ".join(options["span"] or [])
        if options["demo"]:
            if streams is not None or types_text is not None:
                raise CommandError(DEMO_FIXED)
            types_text = DEMO_TYPES
            span_text = span_text or DEMO_SPAN
        if streams is not None and streams < 1:
            raise CommandError("The number of streams must be at least 1.")
        if types_text is None:
            types_text = ",".join(["int"] * (streams if streams is not None else 3))
        try:
            types = parse_types(types_text)
        except StreamTypeError as error:
            raise CommandError(str(error)) from None
        if streams is not None and streams != len(types):
            raise CommandError(COUNT_MISMATCH)
        span = None
        if span_text:
            try:
                span = parse_span(span_text)
            except SpanError as error:
                raise CommandError(str(error)) from None
        elif options["no_real_time"]:
            raise CommandError(NOTHING_TO_DO)
        return types, span


def run_dummy_streams(
    command: BaseCommand,
    dummy: DummyStreams,
    span: Span | None,
    real_time: bool,
    stop_after: float | None,
    batch_size: int,
    verbosity: int,
) -> None:
    """Create the streams, back-fill ``span``, then append in real time (unless told not to).

    Ctrl-C ends it cleanly with a summary line.
    """
    runner.create_streams(command, dummy, verbosity)
    try:
        if span is not None:
            runner.backfill(command, dummy, span, batch_size, verbosity, catch_up=real_time)
        if real_time:
            runner.real_time(command, dummy, stop_after, verbosity)
    except KeyboardInterrupt:
        runner.summary(command, dummy, True, verbosity)
        return
    runner.summary(command, dummy, False, verbosity)
