"""``manage.py upgrade_datastream``: convert the configured database from an earlier layout."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from datastream.exceptions import DatastreamException
from django_datastream.conf import datastream_settings, import_backend
from django_datastream.management.support import NO_BACKEND, ProgressBar


class Command(BaseCommand):
    help = (
        "Convert the configured datastream database from the layout of an earlier release "
        "(one row per datapoint and bucket) to column chunks, with a progress bar. Nothing is "
        "lost; a database already converted is left alone. Stop the servers using it first."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        backend = datastream_settings.BACKEND
        if backend is None:
            raise CommandError(NO_BACKEND)
        backend_class = import_backend(backend) if isinstance(backend, str) else type(backend)
        settings = dict(datastream_settings.BACKEND_SETTINGS)
        bar: ProgressBar | None = None

        def progress(done: int, total: int) -> None:
            nonlocal bar
            if bar is None:
                bar = ProgressBar(self.stdout, total, "Converting streams",
                                  enabled=options["verbosity"] > 0)
            bar.update(done)

        try:
            converted = backend_class.upgrade(settings, progress)
        except DatastreamException as error:
            raise CommandError(
                f"The conversion stopped: {error}. Run the command again: an SQLite file was left "
                "as it was (one transaction), a MongoDB database resumes where it stopped."
            ) from None
        if bar is not None:
            bar.finish()
        if converted:
            self.stdout.write(self.style.SUCCESS("The database now stores column chunks."))
        else:
            self.stdout.write("Nothing to convert: the database already uses this layout.")
