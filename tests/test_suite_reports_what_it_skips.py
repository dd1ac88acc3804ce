"""The suite never goes green with its MongoDB half silently not run.

Without a MongoDB-wire server (no ``secantusdb``, no ``DATASTREAM_MONGODB_URI``) the MongoDB
tests fail, naming the way out; ``--no-mongodb`` skips them explicitly and the summary counts
them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent
#: A pytest run in which ``import secantus`` fails, as on a machine without the test extra.
_WITHOUT_SECANTUS = (
    "import sys; sys.modules['secantus'] = None; import pytest; "
    "sys.exit(pytest.main(sys.argv[1:]))"
)


def _run_without_secantus(*arguments: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "DATASTREAM_MONGODB_URI"}
    environment.pop("PYTEST_XDIST_WORKER", None)
    command = [sys.executable, "-c", _WITHOUT_SECANTUS, "-p", "no:cacheprovider", "-n", "0"]
    command += [str(TESTS / "test_mongodb_restart.py"), *arguments]
    return subprocess.run(
        command, capture_output=True, text=True, cwd=TESTS.parent, env=environment, timeout=120
    )


def test_mongodb_tests_fail_without_a_server():
    result = _run_without_secantus()
    assert result.returncode != 0, result.stdout
    assert "No MongoDB-wire server for the MongoDB tests" in result.stdout
    assert "--no-mongodb" in result.stdout


def test_mongodb_tests_opted_out_are_skipped_and_counted():
    result = _run_without_secantus("--no-mongodb")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "MongoDB tests NOT RUN (--no-mongodb)" in result.stdout
    assert "1 skipped" in result.stdout


def test_the_openapi_document_tests_run_without_the_validator_and_say_what_they_skip():
    # openapi-spec-validator's import fails, as where the test extra is not installed
    # (test_openapi_fuzz.py likewise skips itself without schemathesis, naming the extra).
    program = (
        "import sys\n"
        "class Absent:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.partition('.')[0] == 'openapi_spec_validator':\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Absent())\n"
        "import pytest\n"
        "sys.exit(pytest.main(sys.argv[1:]))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program, "-p", "no:cacheprovider", "-n", "0", "-q", "-rs",
         str(TESTS / "test_openapi.py")],
        capture_output=True, text=True, cwd=TESTS.parent, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "openapi-spec-validator comes with the test extra" in result.stdout
    assert " passed" in result.stdout  # what needs no validator still runs
