"""The demo is an opt-in sub-app: without it a project gets the API, ``downsample`` and
``dummystream`` (the original's two commands), and needs no plotly."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.test import override_settings
from django.urls import NoReverseMatch, reverse

ROOT = Path(__file__).resolve().parent.parent
API_ONLY = ["django.contrib.staticfiles", "tastypie", "django_datastream"]


def test_the_test_project_lists_the_demo_sub_app():
    commands = get_commands()
    assert commands["downsample"] == "django_datastream"
    assert commands["dummystream"] == "django_datastream"
    assert commands["datastream_demo"] == "django_datastream.demo"


def test_without_the_demo_app_there_is_no_demo_command_but_dummystream_stays():
    with override_settings(INSTALLED_APPS=API_ONLY):
        commands = get_commands()
        assert commands["downsample"] == "django_datastream"
        assert commands["dummystream"] == "django_datastream"
        assert "datastream_demo" not in commands
        with pytest.raises(CommandError, match="Unknown command: 'datastream_demo'"):
            call_command("datastream_demo")
        with override_settings(ROOT_URLCONF="django_datastream.urls"):
            with pytest.raises(NoReverseMatch):
                reverse("datastream-demo")
    assert "datastream_demo" in get_commands()


def test_the_api_and_downsample_import_nothing_of_the_demo(tmp_path):
    """A fresh interpreter with a project that lists only the API app: the API answers,
    ``downsample`` runs, and no module of the demo sub-app was imported."""
    script = textwrap.dedent(
        f"""
        import sys
        import django
        from django.conf import settings

        settings.configure(
            INSTALLED_APPS={API_ONLY!r},
            ROOT_URLCONF="api_urls",
            ALLOWED_HOSTS=["testserver"],
            USE_TZ=True,
            DATABASES={{}},
            DATASTREAM_BACKEND="datastream.backends.sqlite.Backend",
            DATASTREAM_BACKEND_SETTINGS={{"database_name": {str(tmp_path / "ds.sqlite3")!r}}},
        )
        django.setup()
        from django.core.management import call_command, get_commands
        from django.test import Client

        call_command("check")
        call_command("downsample")
        response = Client().get("/api/v1/stream/", {{"format": "json"}})
        assert response.status_code == 200, response.content
        assert Client().get("/").status_code == 404
        commands = sorted(name for name, app in get_commands().items() if "datastream" in app)
        demo = sorted(name for name in sys.modules if name.startswith("django_datastream.demo"))
        print(commands, demo)
        """
    )
    (tmp_path / "api_urls.py").write_text(
        "from django.urls import include, path\n"
        "urlpatterns = [path('api/', include('django_datastream.urls'))]\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={"PYTHONPATH": f"{tmp_path}:{ROOT}", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == (
        "['downsample', 'dummystream', 'upgrade_datastream'] []"
    )
    assert "No streams to downsample." in result.stdout


@pytest.mark.parametrize(
    ("installed", "expected"),
    [
        (API_ONLY + ["django_datastream.demo"], set()),
        (["django.contrib.staticfiles", "django_datastream.demo"], {"datastream.E102"}),
        (["tastypie", "django_datastream", "django_datastream.demo"], {"datastream.W102"}),
    ],
)
def test_the_demo_checks_the_apps_it_needs(installed, expected):
    from django.core import checks

    from django_datastream.demo.checks import check_demo_dependencies

    with override_settings(INSTALLED_APPS=installed):
        assert {message.id for message in check_demo_dependencies()} == expected
        assert expected <= {message.id for message in checks.run_checks(tags=["datastream"])}


def test_the_demo_checks_are_silent_without_the_demo():
    from django_datastream.demo.checks import check_demo_dependencies

    with override_settings(INSTALLED_APPS=["tastypie", "django_datastream"]):
        assert check_demo_dependencies() == []


def test_dummystream_demo_runs_with_only_tastypie_and_django_datastream_and_no_plotly(tmp_path):
    """``manage.py dummystream --demo`` in a fresh interpreter whose settings list only
    ``tastypie`` and ``django_datastream``, with ``plotly`` unimportable: any attempt to import
    or even look for it is recorded (and fails), and there must be none."""
    (tmp_path / "only_api_settings.py").write_text(
        textwrap.dedent(
            f"""
            INSTALLED_APPS = ["tastypie", "django_datastream"]
            USE_TZ = True
            DATASTREAM_BACKEND = "datastream.backends.sqlite.Backend"
            DATASTREAM_BACKEND_SETTINGS = {{"database_name": {str(tmp_path / "ds.sqlite3")!r}}}
            """
        )
    )
    script = textwrap.dedent(
        """
        import json
        import sys

        attempts = []

        class NoPlotly:
            def find_spec(self, name, path=None, target=None):
                if name == "plotly" or name.startswith("plotly."):
                    attempts.append(name)
                    raise ModuleNotFoundError(f"No module named {name!r} (hidden)", name=name)
                return None

        sys.meta_path.insert(0, NoPlotly())
        from django.core.management import execute_from_command_line

        execute_from_command_line(
            ["manage.py", "dummystream", "--demo", "--span=10m", "--no-real-time"]
        )
        import datetime

        from django_datastream import datastream
        from datastream import Granularity

        start = datetime.datetime.min
        counts = {
            stream["title"]: datastream.get_data(stream["stream_id"], Granularity.Seconds, start)
            .count()
            for stream in datastream.find_streams()
        }
        demo = sorted(name for name in sys.modules if name.startswith("django_datastream.demo"))
        print(json.dumps({"attempts": attempts, "counts": counts, "demo": demo}))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env={
            "PYTHONPATH": f"{tmp_path}:{ROOT}",
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "only_api_settings",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report == {
        "attempts": [],
        # --demo: three streams; ten minutes every 5 s, both ends included.
        "counts": {"Stream 0": 121, "Stream 1": 121, "Stream 2": 121},
        "demo": [],
    }
    assert "Done. Appended 363 datapoints to 3 streams." in result.stdout
