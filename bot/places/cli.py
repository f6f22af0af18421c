"""``python -m bot places …``: search, import/export, demo and synthetic data, updates.

Reads the database from env BOT_DB_URL (default: the embedded SQLite file) and migrates it to
the newest schema first.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date, datetime

from bot.cli import CliError, print_json
from bot.places.models import CARE_TYPES, PRICINGS


def _date(text: str) -> date:
    try:
        return datetime.strptime(text, "%Y-%m-%d").date()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0: {text!r}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="action")

    find = sub.add_parser("search", help="locations with free places, best first")
    find.add_argument("--json", action="store_true", help="print a JSON list")
    find.add_argument("--postcode")
    find.add_argument("--municipality")
    find.add_argument("--start", type=_date, help="wanted start date (default today)")
    find.add_argument("--child-birth-date", type=_date)
    find.add_argument("--days-per-week", type=_positive)
    find.add_argument("--care-type", help=" | ".join(CARE_TYPES))
    find.add_argument("--income-related", action="store_true",
                      help="only places with income-related price")
    find.add_argument("--free-price", action="store_true", help="only free-price places")
    find.add_argument("--prefer-pricing", choices=PRICINGS, help="rank, do not filter")
    find.add_argument("--occasional", action="store_true")
    find.add_argument("--urgent", action="store_true")
    find.add_argument("--inclusive", action="store_true")
    find.add_argument("--early", action="store_true", help="prefer opening before 07:00")
    find.add_argument("--late", action="store_true", help="prefer closing after 18:30")
    find.add_argument("--weekend", action="store_true", help="prefer weekend opening")
    find.add_argument("--language", help="prefer locations speaking this ISO 639-1 language")
    find.add_argument("--no-neighbours", action="store_true",
                      help="only the municipality itself")
    find.add_argument("--limit", type=_positive, default=10)
    find.add_argument("--offset", type=_positive, default=0)
    find.add_argument("--today", type=_date, help=argparse.SUPPRESS)

    imp = sub.add_parser("import", help="import a CSV file (format: data/places/README.md)")
    imp.add_argument("file")
    imp.add_argument("--today", type=_date, help="base of relative dates (default today)")
    imp.add_argument("--json", action="store_true")

    exp = sub.add_parser("export", help="export all locations and availability as CSV")
    exp.add_argument("file", nargs="?", help="default: standard output")
    exp.add_argument("--json", action="store_true", help="print a summary as JSON")

    demo = sub.add_parser("load-demo", help="load the fictional demo region (idempotent)")
    demo.add_argument("--today", type=_date, help="base of relative dates (default today)")
    demo.add_argument("--json", action="store_true")

    gen = sub.add_parser("generate", help="fill the database with a synthetic region")
    gen.add_argument("--locations", type=_positive, required=True)
    gen.add_argument("--seed", type=int, default=1)
    gen.add_argument("--today", type=_date, help=argparse.SUPPRESS)
    gen.add_argument("--json", action="store_true")

    upd = sub.add_parser("update", help="set the free places of an availability row")
    upd.add_argument("availability_id", type=_positive)
    upd.add_argument("--places", type=_positive, required=True)
    upd.add_argument("--version", type=_positive, dest="expected_version",
                     help="the version you saw; refused when the row changed since")
    upd.add_argument("--by", dest="updated_by")
    upd.add_argument("--json", action="store_true")

    unmet = sub.add_parser("unmet", help="recorded unmet needs per municipality and type")
    unmet.add_argument("--since", type=_date)
    unmet.add_argument("--json", action="store_true")

    mig = sub.add_parser("migrate", help="bring the database schema up to date")
    mig.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from bot import db

    db.upgrade()
    handler = {
        "search": _search,
        "import": _import,
        "export": _export,
        "load-demo": _load_demo,
        "generate": _generate,
        "update": _update,
        "unmet": _unmet,
        "migrate": _migrate,
    }[args.action]
    return handler(args)


def _search(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.places.search import SearchError, search

    if args.care_type is not None and args.care_type not in CARE_TYPES:
        raise CliError(f"unknown care type {args.care_type!r} (one of: {', '.join(CARE_TYPES)})")
    if args.income_related and args.free_price:
        raise CliError("--income-related and --free-price exclude each other")
    income_related = True if args.income_related else (False if args.free_price else None)
    try:
        with session_scope() as session:
            results = search(
                session,
                postcode=args.postcode,
                municipality=args.municipality,
                start=args.start,
                child_birth_date=args.child_birth_date,
                days_per_week=args.days_per_week or None,
                care_type=args.care_type,
                income_related=income_related,
                prefer_pricing=args.prefer_pricing,
                occasional=args.occasional,
                urgent=args.urgent,
                inclusive=args.inclusive,
                needs_early=args.early,
                needs_late=args.late,
                needs_weekend=args.weekend,
                language=args.language,
                include_neighbours=not args.no_neighbours,
                limit=args.limit,
                offset=args.offset,
                today=args.today,
            )
    except SearchError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print_json(results)
        return 0
    for item in results:
        print(f"{item['available_from']}  {item['free_places']:>2}  {item['municipality']:<22}"
              f"{item['care_type']:<22}{item['pricing']:<15}{item['name']}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.places.csv_io import CsvImportError, import_csv
    from bot.places.generate import analyze

    started = time.perf_counter()
    try:
        with session_scope() as session:
            result = import_csv(session, args.file, today=args.today)
            analyze(session)
    except FileNotFoundError:
        raise CliError(f"no such file: {args.file}") from None
    except UnicodeDecodeError:
        raise CliError(f"{args.file} is not UTF-8 text") from None
    except CsvImportError as exc:
        if args.json:
            print_json({"ok": False, "errors": [e.as_dict() for e in exc.errors]})
        raise CliError(str(exc)) from None
    summary = {"ok": True, **result.as_dict(),
               "seconds": round(time.perf_counter() - started, 3)}
    _report(args, summary)
    return 0


def _export(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.places.csv_io import export_csv

    with session_scope() as session:
        if args.file:
            with open(args.file, "w", encoding="utf-8", newline="") as handle:
                count = export_csv(session, handle)
        else:
            try:
                count = export_csv(session, sys.stdout)
            except BrokenPipeError:  # e.g. piped into `head`: not an error
                sys.stderr.close()
                return 0
    if args.file:
        _report(args, {"ok": True, "rows": count, "file": args.file})
    return 0


def _load_demo(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.places.generate import load_demo

    started = time.perf_counter()
    with session_scope() as session:
        result = load_demo(session, today=args.today)
    _report(args, {"ok": True, **result.as_dict(),
                   "seconds": round(time.perf_counter() - started, 3)})
    return 0


def _generate(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.places.generate import generate

    started = time.perf_counter()
    with session_scope() as session:
        result = generate(session, locations=args.locations, seed=args.seed, today=args.today)
    _report(args, {"ok": True, **result, "seconds": round(time.perf_counter() - started, 3)})
    return 0


def _update(args: argparse.Namespace) -> int:
    from bot.places.store import (
        ConcurrentUpdateError,
        UnknownAvailabilityError,
        set_free_places,
    )

    try:
        version = set_free_places(args.availability_id, args.places,
                                  expected_version=args.expected_version,
                                  updated_by=args.updated_by)
    except UnknownAvailabilityError:
        raise CliError(f"no availability with id {args.availability_id}") from None
    except ConcurrentUpdateError as exc:
        raise CliError(str(exc)) from None
    _report(args, {"ok": True, "availability_id": args.availability_id, "places": args.places,
                   "version": version})
    return 0


def _unmet(args: argparse.Namespace) -> int:
    from bot.db import session_scope
    from bot.places.unmet import unmet_summary

    since = datetime.combine(args.since, datetime.min.time()) if args.since else None
    with session_scope() as session:
        rows = unmet_summary(session, since=since)
    if args.json:
        print_json(rows)
        return 0
    for row in rows:
        print(f"{row['needs']:>5}  {row['municipality'] or '-':<24}{row['care_type'] or '-'}")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    _report(args, {"ok": True})
    return 0


def _report(args: argparse.Namespace, summary: dict) -> None:
    if getattr(args, "json", False):
        print_json(summary)
    else:
        print(" ".join(f"{k}={v}" for k, v in summary.items()))
