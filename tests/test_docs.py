"""The Sphinx documentation builds without a warning and covers what it must."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
         str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    html = tmp_path / "html"
    for page in ("index", "installation", "settings", "http_api", "library", "backends", "demo"):
        assert (html / f"{page}.html").exists(), page
    library = (html / "library.html").read_text()
    names = ["ensure_stream", "append_multiple", "get_data", "downsample_streams"]
    names += ["delete_streams", "Granularity", "StreamNotFound", "InvalidTimestamp"]
    for name in names:
        assert name in library, name


def test_settings_page_lists_every_setting():
    from django_datastream.conf import SETTINGS

    text = (DOCS / "settings.rst").read_text()
    for setting, _default in SETTINGS.values():
        assert f"``{setting}``" in text, setting
    for setting in ("TASTYPIE_DATETIME_FORMATTING", "USE_TZ", "STATICFILES_FINDERS"):
        assert setting in text, setting


@pytest.mark.parametrize(
    ("app", "command"),
    [
        ("django_datastream.demo", "dummystream"),
        ("django_datastream", "downsample"),
        ("django_datastream.demo", "datastream_demo"),
    ],
)
def test_demo_page_documents_every_command_option(app, command):
    from django.core.management import load_command_class

    parser = load_command_class(app, command).create_parser("manage.py", command)
    text = (DOCS / "demo.rst").read_text()
    base = {"--help", "--version", "--verbosity", "--settings", "--pythonpath", "--traceback",
            "--no-color", "--force-color", "--skip-checks", "--no-input"}  # fmt: skip
    for action in parser._actions:
        for option in action.option_strings:
            if option.startswith("--") and option not in base:
                assert option in text, f"{command} {option}"
