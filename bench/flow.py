"""How a detail request walks the code: modules entered, re-entries, calls back up.

Run ``python -m bench.flow [--source DIR]``. It makes a small SQLite datastream (one stream of
a day of minute data), sends one detail GET (``?g=h&l=10``) through Django's test client with
a profile function (:func:`sys.setprofile`) watching every Python call and return, and prints:

* *stops*: each time the running code moves from one module of ``datastream`` or
  ``django_datastream`` to another one of them (calls and returns alike; modules outside the
  two packages are walked through, not counted);
* *entries*: calls into a module from another one (the nearest caller in the two packages);
  *modules entered* is how many distinct modules were entered, *re-entries* the entries
  beyond the first of each module; the same for ``django_datastream`` alone;
* *calls up*: calls from ``datastream`` (the library) into ``django_datastream`` (the app);
* the entries of each module, and the methods of ``StreamResource`` that override tastypie's
  ``Resource``.

``--source`` measures another checkout (a ``git worktree`` of an earlier commit, say). The
figures are printed, never asserted; a warm-up request runs first, so that imports are not
counted.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import os
import sys
import tempfile
from pathlib import Path
from types import FrameType
from typing import Any

PACKAGES = ("django_datastream", "datastream")


def _module_of(filename: str, roots: tuple[str, ...]) -> str | None:
    """The dotted module of ``filename`` if it is in one of the two packages, else ``None``."""
    for root in roots:
        if filename.startswith(root):
            relative = filename[len(root) :].lstrip(os.sep)
            if relative.split(os.sep, 1)[0] not in PACKAGES or "/tests/" in filename:
                return None
            dotted = relative[: -len(".py")].replace(os.sep, ".")
            return dotted.removesuffix(".__init__")
    return None


def measure(source: Path) -> dict[str, Any]:
    """Send the detail request in ``source`` and return the figures."""
    sys.path[:0] = [str(source / "tests"), str(source)]
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "test_project.settings")
    import django
    from django.conf import settings

    directory = tempfile.mkdtemp()
    settings.DATASTREAM_BACKEND = "datastream.backends.sqlite.Backend"
    settings.DATASTREAM_BACKEND_SETTINGS = {"database_name": f"{directory}/flow.sqlite3"}
    django.setup()
    from django.test import Client
    from django.test.utils import setup_test_environment

    from datastream import Granularity
    from django_datastream.conf import get_datastream

    setup_test_environment()
    datastream = get_datastream()
    assert datastream is not None
    stream_id = datastream.ensure_stream(
        {"flow": 1}, {}, ["mean", "min", "max"], Granularity.Minutes
    )
    start = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    datastream.append_multiple(
        [
            {
                "stream_id": stream_id,
                "value": float(minute % 97),
                "timestamp": start + datetime.timedelta(minutes=minute),
            }
            for minute in range(24 * 60)
        ]
    )
    datastream.downsample_streams(until=start + datetime.timedelta(days=1))
    client = Client()
    url = f"/api/v1/stream/{stream_id}/?g=h&l=10"
    assert client.get(url).status_code == 200  # warm-up: imports, caches

    roots = tuple(str(Path(p).resolve()) for p in (source,))
    modules: dict[str, str | None] = {}
    stack: list[str | None] = []
    walk: list[str] = []
    entries: collections.Counter[str] = collections.Counter()
    calls_up = 0

    def module(frame: FrameType) -> str | None:
        filename = frame.f_code.co_filename
        if filename not in modules:
            modules[filename] = _module_of(str(Path(filename).resolve()), roots)
        return modules[filename]

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal calls_up
        if event == "call":
            here = module(frame)
            if here is not None:
                caller = next((m for m in reversed(stack) if m is not None), None)
                if caller != here:
                    entries[here] += 1
                    if caller is not None and _package(caller) + _package(here) == (
                        "datastreamdjango_datastream"
                    ):
                        calls_up += 1
                if not walk or walk[-1] != here:
                    walk.append(here)
            stack.append(here)
        elif event == "return":
            if stack:
                stack.pop()
            back = next((m for m in reversed(stack) if m is not None), None)
            if back is not None and walk and walk[-1] != back:
                walk.append(back)

    sys.setprofile(profile)
    try:
        response = client.get(url)
    finally:
        sys.setprofile(None)
    assert response.status_code == 200, response.content
    app = {m: n for m, n in entries.items() if _package(m) == "django_datastream"}
    return {
        "stops": len(walk),
        "modules": len(entries),
        "reentries": sum(entries.values()) - len(entries),
        "app_modules": len(app),
        "app_reentries": sum(app.values()) - len(app),
        "calls_up": calls_up,
        "entries": dict(entries.most_common()),
    }


def overrides() -> list[str]:
    """The methods ``StreamResource`` defines that override tastypie's ``Resource``."""
    from tastypie.resources import Resource

    from django_datastream.resources import StreamResource

    # Every class of the app's resource before tastypie's (its mixins included).
    classes = [c for c in StreamResource.__mro__ if c.__module__.startswith("django_datastream")]
    return sorted(
        {
            name
            for cls in classes
            for name, value in vars(cls).items()
            if callable(value) and not name.startswith("__") and hasattr(Resource, name)
        }
    )


def _package(module: str) -> str:
    return module.split(".", 1)[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--source",
        type=Path,
        default=Path(__file__).resolve().parent.parent,
        help="the checkout to measure (default: this one)",
    )
    arguments = parser.parse_args(argv)
    figures = measure(arguments.source.resolve())
    print(f"stops (module changes, calls and returns): {figures['stops']}")
    print(f"modules entered: {figures['modules']}, re-entries: {figures['reentries']}")
    print(
        f"django_datastream modules entered: {figures['app_modules']}, "
        f"re-entries: {figures['app_reentries']}"
    )
    print(f"calls from datastream up into django_datastream: {figures['calls_up']}")
    names = overrides()
    print(f"StreamResource overrides of tastypie's Resource: {len(names)}: {', '.join(names)}")
    print("entries per module (calls from another module):")
    for name, count in figures["entries"].items():
        print(f"  {name}: {count}")


if __name__ == "__main__":
    main()
