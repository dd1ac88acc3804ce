"""Settings of the demo and test project.

The embedded SQLite backend is used by default (file ``tests/datastream.sqlite3``, or the path
in ``DATASTREAM_SQLITE_PATH``); set ``DATASTREAM_MONGODB_URI`` to use MongoDB instead.
"""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "demo-and-tests-only-not-secret")
# Off unless asked for: a mistyped URL must not show the URL configuration and a traceback.
# (datastream_demo serves the static files itself, DEBUG or not.)
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = ["*"]
USE_TZ = True
TIME_ZONE = "UTC"

INSTALLED_APPS = [
    # users and API keys of the access-control tests (tests/private_api_urls.py)
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.staticfiles",
    "tastypie",
    "django_datastream",
    "django_datastream.demo",  # the opt-in demo: page, dummystream, datastream_demo
]

MIDDLEWARE = [
    "django.middleware.common.CommonMiddleware",
]

ROOT_URLCONF = "test_project.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]

# Django needs a relational database setting; datastream does not use it.
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
# tastypie's migrations depend on django.contrib.auth, which the project does not need; its
# only model then is created without migrations (test databases, e.g. for live servers).
MIGRATION_MODULES = {"tastypie": None}

STATIC_URL = "/static/"
# The demo page's plotly.js is served from the installed ``plotly`` package (never copied here).
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "django_datastream.demo.staticfinders.PlotlyFinder",
]

if os.environ.get("DATASTREAM_MONGODB_URI"):
    DATASTREAM_BACKEND = "datastream.backends.mongodb.Backend"
    DATASTREAM_BACKEND_SETTINGS = {
        "database_name": os.environ.get("DATASTREAM_MONGODB_DATABASE", "test_project"),
        "host": os.environ["DATASTREAM_MONGODB_URI"],
        "tz_aware": True,
    }
else:
    DATASTREAM_BACKEND = "datastream.backends.sqlite.Backend"
    DATASTREAM_BACKEND_SETTINGS = {
        "database_name": os.environ.get(
            "DATASTREAM_SQLITE_PATH", str(BASE_DIR / "datastream.sqlite3")
        ),
    }

# The API formats (tastypie's own TASTYPIE_DEFAULT_FORMATS must not list "csv": tastypie's
# serializer would refuse to load).
DATASTREAM_API_FORMATS = ["json", "jsonp", "xml", "csv", "ndjson"]

# Downsampling runs itself in each serving process (django_datastream.worker). The test suite
# turns it off (tests/conftest.py), for itself and the servers it starts, so that tests decide
# when downsampling happens; the worker's own tests turn it on.
DATASTREAM_DOWNSAMPLE_WORKER = os.environ.get("DATASTREAM_DOWNSAMPLE_WORKER", "1") != "0"
DATASTREAM_DOWNSAMPLE_DELAY = float(os.environ.get("DATASTREAM_DOWNSAMPLE_DELAY", "1.0"))
DATASTREAM_DOWNSAMPLE_INTERVAL = float(os.environ.get("DATASTREAM_DOWNSAMPLE_INTERVAL", "5.0"))
