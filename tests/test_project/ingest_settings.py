"""The test project with the writable API of ``tests/ingest_urls.py`` and a file database
for its users and API keys (``DATASTREAM_USERS_DB``), for real servers in the ingest tests
(``DATASTREAM_URLCONF`` names other URLs: ``bench.ingest_urls``, without a throttle)."""

import os

from .settings import *  # noqa: F403

ROOT_URLCONF = os.environ.get("DATASTREAM_URLCONF", "ingest_urls")
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DATASTREAM_USERS_DB", ":memory:"),
    }
}
