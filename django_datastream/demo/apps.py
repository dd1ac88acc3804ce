"""The demo sub-app: add ``"django_datastream.demo"`` to ``INSTALLED_APPS`` to get it."""

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo page, its static files and the ``datastream_demo`` command; it needs
    ``django_datastream`` (the API and ``dummystream``) installed as well."""

    name = "django_datastream.demo"
    label = "datastream_demo"
    verbose_name = "Datastream demo"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (importing registers the checks)
