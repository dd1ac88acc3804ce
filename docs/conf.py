"""Sphinx configuration of the django-datastream documentation.

Build: ``python -m sphinx -W -b html docs docs/_build/html`` (warnings are errors in the tests).
Nothing needs to be set up first: autodoc imports ``django_datastream``, whose modules need
Django settings, so this file configures minimal ones itself (``DJANGO_SETTINGS_MODULE`` is not
read: the build is the same in every environment).
"""

import os
import sys

import django
from django.conf import settings

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests"))

if not settings.configured:
    settings.configure(
        INSTALLED_APPS=[
            "django.contrib.contenttypes",
            "django.contrib.auth",
            "tastypie",
            "django_datastream",
        ],
        USE_TZ=True,
    )
    django.setup()

project = "django-datastream"
author = "django-datastream developers"
copyright = "django-datastream developers"
release = "1.0.0"
version = "1.0"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.viewcode",
]

source_suffix = {".rst": "restructuredtext"}
root_doc = "index"
exclude_patterns = ["_build"]
language = "en"

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_default_options = {"members": True, "show-inheritance": True}

html_theme = "alabaster"
html_title = "django-datastream"
html_static_path: list[str] = []
