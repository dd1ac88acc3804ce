"""What ``dummystream`` and ``datastream_demo`` share: create, back-fill, real time, summary.

Output goes through a management command's ``stdout``/``stderr``; errors are ``CommandError``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from datastream.exceptions import DatastreamException
from django_datastream.management.support import ProgressBar, configured_datastream, counted

from .generator import BackfillPlan, DummyStreams, OverlapError
from .timespan import Span

__all__ = [
    "backfill",
    "configured_datastream",
    "create_streams",
    "flush_datastream",
    "real_time",
    "summary",
]


def flush_datastream(command: BaseCommand, datastream: Any, interactive: bool) -> bool:
    """Delete every stream (only datastream data), asking first when ``interactive``.

    Returns ``False`` if the user declined.
    """
    if interactive:
        try:
            answer = input(
                "This removes ALL streams and datapoints from the datastream backend "
                "(nothing else).\nType 'yes' to continue, or 'no' to cancel: "
            )
        except (EOFError, KeyboardInterrupt):
            answer = ""  # no terminal to ask (use --noinput there), or Ctrl-C: cancel
        if answer.strip().lower() != "yes":
            command.stdout.write("Flush cancelled.")
            return False
    datastream.delete_streams()
    return True


def create_streams(command: BaseCommand, dummy: DummyStreams, verbosity: int) -> None:
    """Create (or find) the dummy streams; a conflicting existing stream is a CommandError."""
    try:
        dummy.ensure()
    except DatastreamException as error:
        raise CommandError(
            f"Could not create the dummy streams: {error} Streams titled 'Stream <n>' "
            "already exist with other types; remove them with 'dummystream --flush' first."
        ) from None
    if verbosity >= 2:
        for stream_id, stream_type in zip(dummy.stream_ids, dummy.types):
            command.stdout.write(f"Stream {stream_id}: {stream_type.kind}({stream_type.domain})")


def backfill(
    command: BaseCommand,
    dummy: DummyStreams,
    span: Span,
    batch_size: int,
    verbosity: int,
    catch_up: bool = False,
) -> BackfillPlan:
    """Back-fill ``span`` with a progress bar on stderr (verbosity >= 1).

    With ``catch_up`` (before appending in real time), the time the back-fill took is filled
    in as well, so the history joins the real-time data without a gap.
    """
    out = command.stdout
    try:
        plan = dummy.plan(span)
    except OverlapError as error:
        raise CommandError(str(error)) from None
    if not plan.datapoints:
        if verbosity >= 1:
            out.write("The streams already have data for the whole span; nothing to back-fill.")
        return plan
    if verbosity >= 1:
        out.write(
            f"Appending {counted(plan.datapoints, 'value')} ({plan.timestamps} per stream) from "
            f"{plan.start:%Y-%m-%dT%H:%M:%S} to {plan.end:%Y-%m-%dT%H:%M:%S} UTC."
        )
    bar = ProgressBar(command.stderr, plan.datapoints, "Back-filling", enabled=verbosity >= 1)
    bar.update(0)
    try:
        dummy.backfill(plan, batch_size=batch_size, progress=bar.update)
        bar.finish()
        if catch_up and span.is_relative:
            gap = dummy.plan(span)
            if gap.datapoints:
                dummy.backfill(gap, batch_size=batch_size)
    except DatastreamException as error:
        raise CommandError(f"Back-filling failed: {error}") from None
    if verbosity >= 2:
        out.write("Done. Downsampled.")
    return plan


def real_time(
    command: BaseCommand, dummy: DummyStreams, stop_after: float | None, verbosity: int
) -> int:
    """Append every interval until Ctrl-C (which propagates) or ``stop_after`` seconds.

    A datastream error (e.g. streams that already have data in the future) is a CommandError.
    """
    out = command.stdout
    if verbosity >= 1:
        how_long = f" for {stop_after:g} s." if stop_after is not None else " (Ctrl-C to stop)."
        out.write(
            f"Appending to {counted(len(dummy.stream_ids), 'stream')} every {dummy.interval} s "
            f"in real time{how_long}"
        )

    def report(appended: list) -> None:
        if verbosity >= 2:
            out.write("Appended " + ", ".join(f"{value!r}" for _, value in appended))

    try:
        return dummy.run_real_time(stop_after=stop_after, on_round=report)
    except DatastreamException as error:
        raise CommandError(f"Appending in real time failed: {error}") from None


def summary(command: BaseCommand, dummy: DummyStreams, interrupted: bool, verbosity: int) -> None:
    """The closing line: how many datapoints went into how many streams."""
    if verbosity < 1:
        return
    if interrupted:
        command.stdout.write("")
    how = "Interrupted" if interrupted else "Done"
    command.stdout.write(
        f"{how}. Appended {counted(dummy.appended, 'datapoint')} to "
        f"{counted(len(dummy.stream_ids), 'stream')}."
    )
