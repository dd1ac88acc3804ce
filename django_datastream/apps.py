"""The Django application configuration of django_datastream."""

from django.apps import AppConfig


class DatastreamConfig(AppConfig):
    """Registers the ``datastream.*`` system checks and the settings-change hook."""

    name = "django_datastream"
    verbose_name = "Datastream"

    def ready(self) -> None:
        from . import checks, conf  # noqa: F401  (importing registers checks and signals)
