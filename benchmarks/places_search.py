"""Benchmark of the free-place search on SQLite and PostgreSQL (prints figures; not a test).

    .venv/bin/python benchmarks/places_search.py [--locations 10000] [--searches 500]
                                                 [--seed 1] [--backend sqlite|postgresql|all]

For each backend: a fresh database (a temp SQLite file; a throwaway PostgreSQL server started
like tests/pg.py does), the demo import timed, ``--locations`` synthetic locations with a year
of availability generated, then ``--searches`` varied searches run in-process, each in its own
session as the assistant does. Prints p50/p95/max in milliseconds. Target: p95 <= 20 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bot import db  # noqa: E402
from bot.places import geo  # noqa: E402
from bot.places.generate import generate, load_demo  # noqa: E402
from bot.places.models import CARE_TYPES  # noqa: E402
from bot.places.search import search  # noqa: E402

TARGET_P95_MS = 20.0
DEMO_REGION = ["Mechelen", "Bonheiden", "Sint-Katelijne-Waver", "Duffel", "Rumst", "Willebroek",
               "Zemst", "Boortmeerbeek", "Putte", "Lier", "Kampenhout"]
BIG_CITIES = ["Antwerpen", "Gent", "Brussel", "Leuven", "Brugge", "Hasselt", "Kortrijk",
              "Aalst", "Sint-Niklaas", "Genk", "Oostende"]


def queries(count: int, seed: int, today: date) -> list[dict]:
    """Varied searches as parents and toeleiders ask them (always with a place)."""
    rng = random.Random(seed)
    everywhere = geo.municipalities()
    result = []
    for _ in range(count):
        pick = rng.random()
        municipality = rng.choice(DEMO_REGION if pick < 0.4 else BIG_CITIES if pick < 0.7
                                  else everywhere)
        query: dict = {"today": today, "start": today + timedelta(days=rng.randint(0, 300))}
        if rng.random() < 0.5:
            query["postcode"] = rng.choice(geo.postcodes_of(municipality))
        else:
            query["municipality"] = municipality
        if rng.random() < 0.8:
            query["child_birth_date"] = query["start"] - timedelta(days=rng.randint(0, 1200))
        if rng.random() < 0.6:
            query["days_per_week"] = rng.randint(2, 5)
        if rng.random() < 0.35:
            query["care_type"] = rng.choice(CARE_TYPES[:2] * 3 + CARE_TYPES[2:])
        if rng.random() < 0.3:
            query["income_related"] = True
        if rng.random() < 0.2:
            query["prefer_pricing"] = "income_related"
        query["occasional"] = rng.random() < 0.05
        query["urgent"] = rng.random() < 0.08
        query["needs_early"] = rng.random() < 0.1
        query["needs_late"] = rng.random() < 0.1
        if rng.random() < 0.2:
            query["language"] = rng.choice(["fr", "en", "ar", "tr", "uk"])
        query["limit"] = rng.choice([5, 10, 10, 20])
        result.append(query)
    return result


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def run_backend(name: str, url: str, args: argparse.Namespace, today: date) -> dict:
    db.upgrade(url)
    started = time.perf_counter()
    with db.session_scope(url) as session:
        demo = load_demo(session, today=today)
    demo_seconds = time.perf_counter() - started
    started = time.perf_counter()
    with db.session_scope(url) as session:
        stats = generate(session, locations=args.locations, seed=args.seed, today=today)
    generate_seconds = time.perf_counter() - started
    work = queries(args.searches, args.seed, today)
    for query in work[:20]:  # warm-up: connection pool, statement caches
        with db.session_scope(url) as session:
            search(session, **query)
    timings, empty, found = [], 0, 0
    for query in work:
        started = time.perf_counter()
        with db.session_scope(url) as session:
            results = search(session, **query)
        timings.append((time.perf_counter() - started) * 1000)
        empty += not results
        found += len(results)
    wide = []
    for query in work[:50]:  # no place given: the whole region, for information
        query = {k: v for k, v in query.items() if k not in ("postcode", "municipality")}
        started = time.perf_counter()
        with db.session_scope(url) as session:
            search(session, **query)
        wide.append((time.perf_counter() - started) * 1000)
    return {
        "backend": name,
        "demo_locations": demo.locations_created,
        "demo_import_ms": demo_seconds * 1000,
        "locations": stats["locations"],
        "availability_rows": stats["availability"],
        "generate_s": generate_seconds,
        "searches": len(timings),
        "empty": empty,
        "mean_results": found / len(timings),
        "p50": percentile(timings, 0.50),
        "p95": percentile(timings, 0.95),
        "max": max(timings),
        "mean": statistics.fmean(timings),
        "wide_p50": percentile(wide, 0.50),
        "wide_p95": percentile(wide, 0.95),
    }


def report(figures: dict) -> None:
    verdict = "OK" if figures["p95"] <= TARGET_P95_MS else "ABOVE TARGET"
    print(f"\n== {figures['backend']} ==")
    print(f"demo import      : {figures['demo_locations']} locations in "
          f"{figures['demo_import_ms']:.0f} ms")
    print(f"generated        : {figures['locations']} locations, "
          f"{figures['availability_rows']} availability rows in {figures['generate_s']:.1f} s")
    print(f"searches         : {figures['searches']} ({figures['empty']} without results, "
          f"{figures['mean_results']:.1f} results on average)")
    print(f"search latency   : p50 {figures['p50']:.2f} ms  p95 {figures['p95']:.2f} ms  "
          f"max {figures['max']:.2f} ms  mean {figures['mean']:.2f} ms  "
          f"[target p95 <= {TARGET_P95_MS:.0f} ms: {verdict}]")
    print(f"no place given   : p50 {figures['wide_p50']:.2f} ms  p95 {figures['wide_p95']:.2f} ms"
          "  (whole region, 50 searches, for information)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--locations", type=int, default=10_000)
    parser.add_argument("--searches", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "all"], default="all")
    args = parser.parse_args()
    today = date.today()
    results = []
    if args.backend in ("sqlite", "all"):
        with tempfile.TemporaryDirectory(prefix="bot-bench-") as tmp:
            url = f"sqlite:///{tmp}/places.db"
            results.append(run_backend("SQLite", url, args, today))
            db.dispose_engine(url)
    if args.backend in ("postgresql", "all"):
        from pg import running_postgres

        with running_postgres() as server:
            url = server.create_database("bench")
            version = server.bin_dir.parent.name
            results.append(run_backend(f"PostgreSQL {version}", url, args, today))
            db.dispose_engine(url)
    for figures in results:
        report(figures)
    return 0 if all(f["p95"] <= TARGET_P95_MS for f in results) else 1


if __name__ == "__main__":
    sys.exit(main())
