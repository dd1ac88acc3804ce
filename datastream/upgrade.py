"""``python -m datastream.upgrade PATH``: convert an SQLite file of an earlier layout.

Files of an earlier release (one row per datapoint and per bucket) are converted to column
chunks: small ones on open, larger ones by this command (or ``manage.py upgrade_datastream``,
which converts whatever database the Django settings name, MongoDB included). It prints its
progress; the conversion is one transaction.
"""

from __future__ import annotations

import argparse
import sys

from .backends.sqlite import Backend


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m datastream.upgrade", description=__doc__)
    parser.add_argument("path", help="the SQLite database file")
    arguments = parser.parse_args(argv)

    def progress(done: int, total: int) -> None:
        if done == total or done % max(total // 10, 1) == 0:
            print(f"{done:,} of {total:,} streams converted", flush=True)

    if Backend.upgrade({"database_name": arguments.path}, progress):
        print(f"{arguments.path} now stores column chunks.")
    else:
        print(f"Nothing to convert: {arguments.path} already uses this layout (or is missing).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
