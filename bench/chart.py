"""Chart queries benchmark: ``max_points``, ``thin`` and ``shape=columns`` over a year of minutes.

Run ``python -m bench.chart [--database PATH] [--repeat N]``. It uses the data of
``bench.http`` (one stream holding a year of minute data, 525,600 datapoints, downsampled;
built on first use, or reused with ``--database``) and times detail requests through Django's
test client (the whole view and serialisation, no network). It prints, for each case, the
granularity the server chose, the datapoints and bytes of the answer and the time per request,
then the size of the same datapoints as ``rows`` and as ``columns``. Figures are printed,
never asserted.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.http import _setup_django, build, report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="SQLite file to build or reuse (default: temporary)")
    parser.add_argument("--repeat", type=int, default=20, help="requests per measurement")
    args = parser.parse_args(argv)
    _setup_django()
    import orjson
    from django.test import Client, override_settings

    with tempfile.TemporaryDirectory() as directory:
        path = Path(args.database) if args.database else Path(directory) / "bench.sqlite3"
        stream_id = build(path)
        settings = {
            "DATASTREAM_BACKEND": "datastream.backends.sqlite.Backend",
            "DATASTREAM_BACKEND_SETTINGS": {"database_name": str(path)},
            "DEBUG": False,
        }
        with override_settings(**settings):
            client = Client()
            detail = f"/api/v1/stream/{stream_id}/"
            week = "s=1688169600&e=1688774399"  # 2023-07-01 .. 07-07, 10,080 minutes
            cases = [
                ("max_points=1000, whole year", "mp=1000"),
                ("max_points=1000, year, columns, epoch_ms",
                 "mp=1000&sh=columns&tf=epoch_ms&v=mean,min,max&t=mean"),
                ("max_points=1000, one week", f"mp=1000&{week}&v=mean,min,max&t=mean"),
                ("max_points=1000, thin=minmaxlttb, whole year (raw)",
                 "mp=1000&th=minmaxlttb&sh=columns&tf=epoch_ms"),
                ("max_points=1000, thin=m4, whole year (raw)",
                 "mp=1000&th=m4&sh=columns&tf=epoch_ms"),
                ("max_points=1000, thin=minmaxlttb, one week (raw)",
                 f"mp=1000&th=minmaxlttb&{week}&sh=columns&tf=epoch_ms"),
                ("max_points=1000, open_bucket, year, columns",
                 "mp=1000&ob=1&sh=columns&tf=epoch_ms&v=mean,min,max&t=mean"),
            ]  # fmt: skip
            print(f"{args.repeat} requests each, Django test client, SQLite file backend")
            import time

            for name, query in cases:
                uri = f"{detail}?{query}"
                response = client.get(uri)
                assert response.status_code == 200, response.content[:300]
                body = orjson.loads(response.content)
                data = body["datapoints"]
                items = len(data) if isinstance(data, list) else len(
                    data["t"] if isinstance(data["t"], list) else next(iter(data["t"].values()))
                )
                times = []
                for _ in range(args.repeat):
                    begin = time.perf_counter()
                    client.get(uri)
                    times.append(time.perf_counter() - begin)
                chosen = body["query_params"]["granularity"]
                raw = body["meta"].get("raw_count")
                label = f"{name} → {chosen}" + (f" ({raw:,} raw)" if raw else "")
                report(label, times, items, len(response.content), None)

            print("\nthe same datapoints as rows and as columns (JSON bytes):")
            for name, query in [
                ("10minutes, mean/min/max + t mean, 10,000", "g=M&v=mean,min,max&t=mean&l=10000"),
                ("hours, mean/min/max + t mean, whole year", "g=h&v=mean,min,max&t=mean&l=10000"),
                ("raw minutes, 10,000", "l=10000"),
            ]:
                sizes = {}
                for shape, extra in [
                    ("rows", ""),
                    ("rows, epoch_ms", "&tf=epoch_ms"),
                    ("columns", "&sh=columns"),
                    ("columns, epoch_ms", "&sh=columns&tf=epoch_ms"),
                ]:
                    response = client.get(f"{detail}?{query}{extra}")
                    assert response.status_code == 200, response.content[:300]
                    sizes[shape] = len(response.content)
                base = sizes["rows"]
                parts = "  ".join(
                    f"{shape} {size / 1024:,.0f} KiB ({size / base:.0%})"
                    for shape, size in sizes.items()
                )
                print(f"{name:<44} {parts}")


if __name__ == "__main__":
    main()
