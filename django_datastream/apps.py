"""The Django application configuration of django_datastream."""

from django.apps import AppConfig
from django.core.signals import request_started


class DatastreamConfig(AppConfig):
    """Registers the ``datastream.*`` system checks, the settings-change hook, and the start
    of the downsampling worker on the first request a process serves (never before: checks
    and management commands that serve nothing start no thread)."""

    name = "django_datastream"
    verbose_name = "Datastream"

    def ready(self) -> None:
        from . import checks, conf  # noqa: F401  (importing registers checks and signals)
        from .worker.process import ensure_worker

        request_started.connect(ensure_worker, dispatch_uid="django_datastream.worker")
