"""The Sphinx documentation builds without a warning and covers what it must."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def test_docs_build_without_warnings_as_docs_conf_says(tmp_path):
    """The build that ``docs/conf.py`` documents, in a clean environment: nothing of this test
    process (pytest-django's ``DJANGO_SETTINGS_MODULE``, ``sys.path``) is inherited."""
    pytest.importorskip("sphinx")
    assert "python -m sphinx -W -b html docs docs/_build/html" in (DOCS / "conf.py").read_text()
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-E", "-q", "-b", "html",
         "docs", str(tmp_path / "html")],
        cwd=ROOT, env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path)},
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
        ("django_datastream", "dummystream"),
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


def _section(text: str, title: str, next_title: str) -> str:
    return text.split(f"{title}\n", 1)[1].split(f"\n{next_title}\n", 1)[0]


def _mentions(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", text, re.IGNORECASE) is not None


def test_every_dependency_is_named_in_the_readme_and_the_installation_page():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = [re.match(r"[A-Za-z0-9._-]+", spec).group() for spec in project["dependencies"]]
    readme = _section((ROOT / "README.rst").read_text(), "Using the Django app", "Benchmarks")
    requirements = _section((DOCS / "installation.rst").read_text(), "Requirements", "::")
    assert {"numpy", "tsdownsample", "django-tastypie"} <= set(names)
    for name in names:
        assert _mentions(readme, name), f"README's 'Using the Django app' does not name {name}"
        assert _mentions(requirements, name), f"installation.rst does not name {name}"


def test_every_extra_is_documented():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    readme = _section((ROOT / "README.rst").read_text(), "Using the Django app", "Benchmarks")
    requirements = _section((DOCS / "installation.rst").read_text(), "Requirements", "::")
    assert {"demo", "asgi", "test"} <= set(extras)
    for extra in extras:
        assert f"``{extra}``" in readme, f"README's 'Using the Django app' omits the {extra} extra"
        assert f"``{extra}``" in requirements, f"installation.rst omits the {extra} extra"
