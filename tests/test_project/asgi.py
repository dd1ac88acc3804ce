"""ASGI entry point of the demo and test project (``uvicorn test_project.asgi:application``)."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "test_project.settings")

application = get_asgi_application()
