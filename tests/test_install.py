"""A plain ``pip install`` gives a working Django app: the README's integration section, verbatim.

The wheel is built from a copy of the sources, installed into a fresh virtualenv (its
dependencies come from the package index, through pip's cache), and a project made by
``django-admin startproject`` gets the README's settings and URL blocks. ``runserver`` then
serves ``/api/v1/stream/?format=json``, fetched over real HTTP.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["pyproject.toml", "setup.py", "README.rst", "LICENSE", "MANIFEST.in"]
PACKAGES = ["datastream", "django_datastream"]
README_SHELL = [
    "python -m pip install django-datastream",
    "django-admin startproject mysite",
    "python manage.py migrate",
    "python manage.py runserver",
    'curl "http://127.0.0.1:8000/api/v1/stream/?format=json"',
]


def readme_blocks() -> dict[str, str]:
    """The README's ``.. code-block:: python`` blocks, by the file named on their first line."""
    text = (ROOT / "README.rst").read_text()
    section = text.split("Using the Django app\n", 1)[1].split("\nBenchmarks\n", 1)[0]
    blocks = {}
    for match in re.finditer(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", section):
        lines = [line[4:] for line in match.group(1).rstrip().splitlines()]
        name = lines[0].removeprefix("# ").strip()
        blocks[name] = "\n".join(lines[1:]).strip() + "\n"
    return blocks


def run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 600) -> str:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{args}\n{result.stdout}\n{result.stderr}"
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get(url: str, deadline: float) -> tuple[int, bytes]:
    """GET ``url``, retrying while the server is starting."""
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            with error:
                return error.code, error.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def test_the_readme_blocks_are_what_this_test_uses():
    text = (ROOT / "README.rst").read_text()
    for line in README_SHELL:
        assert f"    {line}\n" in text, line
    assert set(readme_blocks()) == {"mysite/settings.py", "mysite/urls.py"}


def test_pip_install_gives_the_app_that_the_readme_describes(tmp_path):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(tmp_path)),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_ROOT_USER_ACTION": "ignore",
        "PIP_PREFER_BINARY": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    # The wheel, built from a clean copy of what the distribution ships.
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCES:
        shutil.copy(ROOT / name, source / name)
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    dist = tmp_path / "dist"
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), "."],
        source, env)  # fmt: skip
    (wheel,) = dist.glob("django_datastream-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        files = set(archive.namelist())
    demo = "django_datastream/demo/"
    assert {f"{demo}templates/datastream/demo.html", f"{demo}static/datastream/js/demo.js"} <= files
    assert "django_datastream/management/commands/downsample.py" in files

    # A fresh virtualenv: `pip install django-datastream` (this wheel) and nothing else.
    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    bin_dir = venv / "bin"
    env["PATH"] = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env["VIRTUAL_ENV"] = str(venv)
    run(["python", "-m", "pip", "install", "-q", str(wheel)], tmp_path, env)
    installed = run(["python", "-m", "pip", "list", "--format=json"], tmp_path, env)
    names = {item["name"].lower() for item in json.loads(installed)}
    assert {"django", "django-tastypie", "pymongo", "python-dateutil", "pytz", "orjson"} <= names
    assert "plotly" not in names

    # The README's project.
    run(["django-admin", "startproject", "mysite"], tmp_path, env)
    project = tmp_path / "mysite"
    for name, block in readme_blocks().items():
        with open(project / name, "a") as file:
            file.write("\n" + block)
    manage = ["python", "manage.py"]
    run([*manage, "migrate", "-v", "0"], project, env)
    run([*manage, "check", "--database", "default", "--fail-level", "WARNING"], project, env)
    commands = run([*manage, "help", "--commands"], project, env).split()
    assert "downsample" in commands and "dummystream" in commands
    assert "datastream_demo" not in commands
    assert "No streams to downsample." in run([*manage, "downsample"], project, env)
    # plotly is not installed: the original's dummystream runs without it.
    filled = run([*manage, "dummystream", "--demo", "--span=1m", "--no-real-time"], project, env)
    assert "Done. Appended 39 datapoints to 3 streams." in filled

    port = free_port()
    server = subprocess.Popen(
        [*manage, "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        status, body = get(f"http://127.0.0.1:{port}/api/v1/stream/?format=json", deadline)
        assert status == 200, body
        page = json.loads(body)
        titles = [stream["tags"]["title"] for stream in page["objects"]]
        assert titles == ["Stream 0", "Stream 1", "Stream 2"], page
        status, _ = get(f"http://127.0.0.1:{port}/api/v1/stream/nope/?format=json", deadline)
        assert status == 404
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=30)
    assert "Traceback" not in errors, errors
    assert (project / "datastream.sqlite3").exists()
