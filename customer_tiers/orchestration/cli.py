"""`tiers`: the command line of customer-tiers (see docs/contract.md).

Exit codes: 0 success, 1 a blocking data-quality check failed (published marts left as they
were), 2 bad usage or unreadable input.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import NoReturn

from customer_tiers.orchestration.config_file import ConfigError
from customer_tiers.orchestration.errors import EXIT_OK, EXIT_USAGE, UsageError


def _parse_date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from err


def _cmd_run(args: argparse.Namespace) -> int:
    from customer_tiers.orchestration.definitions import engine_for
    from customer_tiers.orchestration.pipeline import run_pipeline
    from customer_tiers.orchestration.summary import format_summary, read_summary

    spark_options = {
        ("--spark-master", "master"): args.spark_master,
        ("--marts-out", "marts_out"): args.marts_out,
    }
    given = {key: str(value) for key, value in spark_options.items() if value is not None}
    if given and args.engine != "spark":
        raise UsageError(f"{', '.join(flag for flag, _ in given)}: options of --engine spark")
    engine = engine_for(args.engine, **{name: value for (_, name), value in given.items()})
    outcome = run_pipeline(
        args.sources,
        args.warehouse,
        args.as_of,
        args.config,
        full_reload=args.full_reload,
        log_level="DEBUG" if args.verbose else "INFO",
        engine=engine,
        dbt_exclude=args.dbt_exclude,
    )
    if outcome.exit_code == EXIT_OK and outcome.run_id:
        print(format_summary(read_summary(args.warehouse.resolve(), outcome.run_id)))
        for line in engine.published_notes(args.warehouse.resolve()):
            print(line)
        for warning in outcome.warnings:
            print(f"warning: {warning}")
    for message in outcome.messages:
        print(message, file=sys.stderr)
    return outcome.exit_code


def _cmd_check(args: argparse.Namespace) -> int:
    from customer_tiers.ingest.encoding import SourceError
    from customer_tiers.orchestration.check import check_sources, format_report
    from customer_tiers.orchestration.config import ConfigError
    from customer_tiers.orchestration.warehouse_file import check_sources as check_folder

    check_folder(args.sources)
    try:
        report = check_sources(args.sources, progress=lambda line: print(line, file=sys.stderr))
    except (SourceError, ConfigError) as err:
        raise UsageError(str(err)) from err
    print(format_report(report))
    for file in report.files:
        if file.error:
            print(f"error: {file.error}", file=sys.stderr)
    return report.exit_code


def _cmd_backfill(args: argparse.Namespace) -> int:
    from customer_tiers.orchestration.backfill import format_backfill, run_backfill
    from customer_tiers.orchestration.warehouse_file import check_for_run, check_sources

    check_sources(args.sources)  # both before the first date
    check_for_run(args.warehouse)
    outcome = run_backfill(
        args.sources,
        args.warehouse,
        args.start,
        args.end,
        args.every,
        args.config,
        progress=lambda line: print(line, file=sys.stderr, flush=True),
    )
    print(format_backfill(outcome))
    for message in outcome.messages:
        print(message, file=sys.stderr)
    return outcome.exit_code


def _cmd_report(args: argparse.Namespace) -> int:
    from customer_tiers.orchestration.report import ReportError, format_summary, write_report
    from customer_tiers.orchestration.warehouse_file import check_readable

    check_readable(args.warehouse)
    try:
        summary = write_report(args.warehouse, args.out, args.lang)
    except ReportError as err:
        raise UsageError(str(err)) from err
    print(format_summary(summary))
    return EXIT_OK


def _cmd_export(args: argparse.Namespace) -> int:
    from customer_tiers.orchestration.export import ExportError, export_marts, format_summary
    from customer_tiers.orchestration.warehouse_file import check_readable

    check_readable(args.warehouse)
    try:
        summary = export_marts(
            args.warehouse, args.out, args.format, lambda line: print(line, file=sys.stderr)
        )
    except ExportError as err:
        raise UsageError(str(err)) from err
    print(format_summary(summary))
    return EXIT_OK


def _cmd_worklists(args: argparse.Namespace) -> int:
    from customer_tiers.orchestration.export import ExportError
    from customer_tiers.orchestration.warehouse_file import check_readable
    from customer_tiers.orchestration.worklists import (
        WorklistError,
        format_summary,
        write_worklists,
    )

    warehouse = check_readable(args.warehouse)
    try:
        summary = write_worklists(
            warehouse, args.out, args.lang, lambda line: print(line, file=sys.stderr)
        )
    except (WorklistError, ExportError) as err:
        raise UsageError(str(err)) from err
    print(format_summary(summary))
    return EXIT_OK


def _cmd_demo_data(args: argparse.Namespace) -> int:
    from customer_tiers.ingest.demo_data import write_demo_data

    summary = write_demo_data(
        args.out,
        customers=args.customers,
        seed=args.seed,
        encoding=args.encoding,
        progress=lambda line: print(line, file=sys.stderr),
    )
    for name, rows in summary.rows.items():
        print(f"{args.out / (name + '.csv')}: {rows:,} rows")
    return EXIT_OK


def _cmd_demo_responses(args: argparse.Namespace) -> int:
    from customer_tiers.ingest.demo_responses import ResponsesError, write_demo_responses
    from customer_tiers.orchestration.config import load_config
    from customer_tiers.orchestration.warehouse_file import check_readable, check_sources

    warehouse = check_readable(args.warehouse)
    sources = check_sources(args.sources)
    window_days = load_config(args.config).actions.experiments.window_days
    try:
        written = write_demo_responses(
            warehouse,
            sources,
            lift=args.lift,
            base_rate=args.base_rate,
            seed=args.seed,
            window_days=window_days,
        )
    except ResponsesError as err:
        raise UsageError(str(err)) from err
    print(f"cohort of {written.as_of}: buying in the {window_days} days after it with "
          f"{written.base_rate:.0%} when held out, {written.base_rate + written.lift:.0%} when "
          f"contacted (planted lift {written.lift:+.2f}, seed {written.seed})")  # fmt: skip
    for c in written.cohorts:
        print(f"  {c.experiment_id}: contacted {c.buyers_treatment:,} of {c.n_treatment:,} "
              f"bought, held out {c.buyers_control:,} of {c.n_control:,}")  # fmt: skip
    print(f"{written.path}: {written.order_lines:,} order lines")
    print(f"next: tiers run --sources {args.sources} --warehouse {args.warehouse} "
          f"--as-of {written.run_next}")  # fmt: skip
    return EXIT_OK


def _cmd_dbt(args: argparse.Namespace) -> int:
    """dbt with this project's profile and configuration vars, for analysts extending models."""
    # Not orchestration.project: importing dagster_dbt costs seconds and dbt needs none of it.
    from customer_tiers.orchestration.config import DBT_PROJECT_DIR, dbt_environment, load_config
    from customer_tiers.orchestration.warehouse_file import check_database, check_path

    warehouse = check_path(args.warehouse)
    if warehouse.exists():  # dbt builds <warehouse>.building; the file itself may be absent
        check_database(warehouse)
    os.environ["TIERS_WAREHOUSE"] = str(warehouse)
    os.environ.update(dbt_environment(args.as_of))
    from customer_tiers.orchestration.paths import dbt_artifacts_environment

    os.environ.update(dbt_artifacts_environment())  # never into an installed package's folder
    dbt_args = list(args.dbt_args)
    if dbt_args and dbt_args[0] == "--":
        dbt_args = dbt_args[1:]
    dbt_vars = load_config(args.config).dbt_vars_json(None)
    dbt = shutil.which("dbt") or str(Path(sys.executable).with_name("dbt"))
    command = [dbt, *dbt_args, "--vars", dbt_vars, "--profiles-dir", str(DBT_PROJECT_DIR)]
    return subprocess.call(command, cwd=DBT_PROJECT_DIR)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tiers", description="customer-tiers: customer tiering pipeline on DuckDB."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo-data", help="write a deterministic demo source set")
    demo.add_argument("--out", type=Path, required=True, help="folder to write the files to")
    demo.add_argument("--customers", type=int, default=2000, help="number of customers")
    demo.add_argument("--seed", type=int, default=42, help="random seed")
    demo.add_argument(
        "--encoding",
        choices=["utf-8", "utf-8-sig", "gb18030"],
        default="utf-8",
        help="file encoding of the CSV files",
    )
    demo.set_defaults(handler=_cmd_demo_data)

    responses = commands.add_parser(
        "demo-responses",
        help="write the orders that follow the latest experiment cohort of a demo warehouse, "
        "contacted customers buying with a planted lift over held-out ones",
    )
    responses.add_argument("--warehouse", type=Path, required=True, help="published DuckDB file")
    responses.add_argument(
        "--sources", type=Path, required=True, help="the sources folder it was run on"
    )
    responses.add_argument(
        "--lift", type=float, required=True, help="planted lift of the buying rate, e.g. 0.15"
    )
    responses.add_argument(
        "--base-rate", type=float, default=0.2, help="buying rate of held-out customers"
    )
    responses.add_argument("--seed", type=int, default=42, help="random seed")
    responses.add_argument(
        "--config", type=Path, help="configuration of the runs (its measurement window)"
    )
    responses.set_defaults(handler=_cmd_demo_responses)

    run = commands.add_parser("run", help="ingest, check, build and publish the marts")
    run.add_argument("--sources", type=Path, required=True, help="folder with the source files")
    run.add_argument("--warehouse", type=Path, required=True, help="DuckDB file to publish")
    run.add_argument("--as-of", type=_parse_date, help="last day of the analysis (YYYY-MM-DD)")
    run.add_argument("--config", type=Path, help="configuration overriding config/tiers.yml")
    run.add_argument(
        "--full-reload",
        action="store_true",
        help="load every source file again (by default a file loaded before unchanged is "
        "skipped and its rows kept)",
    )
    run.add_argument(
        "--engine",
        choices=["duckdb", "spark"],
        default="duckdb",
        help="where dbt builds the models: DuckDB (the warehouse file) or Spark (tables under "
        "TIERS_SPARK_DIR, the marts also as Parquet; needs the spark extra and Java 17)",
    )
    run.add_argument(
        "--spark-master",
        metavar="URL",
        help="--engine spark: the Spark master, e.g. spark://host:7077 for a standalone "
        "cluster (default: TIERS_SPARK_MASTER, else local[*])",
    )
    run.add_argument(
        "--marts-out",
        type=Path,
        metavar="DIR",
        help="--engine spark: the Parquet copy of the marts (default: <warehouse dir>/"
        "<warehouse name without extension>_marts)",
    )
    run.add_argument(
        "--dbt-exclude",
        metavar="SELECTOR",
        help="dbt nodes to leave out of the build, e.g. test_type:data (tests and debugging: "
        "a production run builds and tests everything)",
    )
    run.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="also show each step's detail on stderr (every dbt node's result)",
    )
    run.set_defaults(handler=_cmd_run)

    check = commands.add_parser(
        "check", help="validate the source files and print a per-file report; changes nothing"
    )
    check.add_argument("--sources", type=Path, required=True, help="folder with the source files")
    check.set_defaults(handler=_cmd_check)

    backfill = commands.add_parser(
        "backfill",
        help="run the analysis as of each date of a range, oldest first, to fill tier_history",
    )
    backfill.add_argument(
        "--sources", type=Path, required=True, help="folder with the source files"
    )
    backfill.add_argument("--warehouse", type=Path, required=True, help="DuckDB file to publish")
    backfill.add_argument(
        "--from", dest="start", metavar="DATE", type=_parse_date, required=True,
        help="start of the range (YYYY-MM-DD)",
    )  # fmt: skip
    backfill.add_argument(
        "--to", dest="end", metavar="DATE", type=_parse_date, required=True,
        help="end of the range, always the last date (YYYY-MM-DD)",
    )  # fmt: skip
    backfill.add_argument(
        "--every", choices=["month", "week"], required=True,
        help="month: each month end, week: every 7 days from --from; then --to",
    )  # fmt: skip
    backfill.add_argument("--config", type=Path, help="configuration overriding config/tiers.yml")
    backfill.set_defaults(handler=_cmd_backfill)

    export = commands.add_parser(
        "export", help="write every mart to Parquet or CSV (UTF-8 with BOM, formulas neutralised)"
    )
    export.add_argument("--warehouse", type=Path, required=True, help="published DuckDB file")
    export.add_argument("--out", type=Path, required=True, help="folder for one file per mart")
    export.add_argument("--format", choices=["parquet", "csv"], required=True, help="file format")
    export.set_defaults(handler=_cmd_export)

    worklists = commands.add_parser(
        "worklists",
        help="write each account manager's call list (CSV and printable HTML) from "
        "marts.customer_actions; held-out customers are never listed",
    )
    worklists.add_argument("--warehouse", type=Path, required=True, help="published DuckDB file")
    worklists.add_argument("--out", type=Path, required=True, help="folder for the worklists")
    worklists.add_argument("--lang", choices=["en", "zh"], default="en", help="language")
    worklists.set_defaults(handler=_cmd_worklists)

    report = commands.add_parser(
        "report", help="write one self-contained HTML page of charts that works offline"
    )
    report.add_argument("--warehouse", type=Path, required=True, help="published DuckDB file")
    report.add_argument("--out", type=Path, required=True, help="HTML file to write")
    report.add_argument("--lang", choices=["en", "zh"], default="en", help="page language")
    report.set_defaults(handler=_cmd_report)

    dbt = commands.add_parser(
        "dbt", help="run dbt on the work copy of a warehouse with the project's vars"
    )
    dbt.add_argument("--warehouse", type=Path, required=True)
    dbt.add_argument("--as-of", type=_parse_date)
    dbt.add_argument("--config", type=Path)
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER, help="dbt arguments, e.g. -- build")
    dbt.set_defaults(handler=_cmd_dbt)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (UsageError, ConfigError) as err:  # a configuration error met outside prepare_run
        print(f"error: {err}", file=sys.stderr)
        return EXIT_USAGE


def entry() -> NoReturn:
    """The `tiers` script: main(), then exit without the interpreter's module teardown.

    At that teardown DuckDB 2.0's bindings report every DuckDB type object other libraries'
    module globals still hold (dozens of "nanobind: leaked ..." lines after each run once Great
    Expectations is imported). Everything else a normal exit does still happens: the exit
    handlers run (logging's flush, multiprocessing's clean-up), then the streams are flushed.
    """
    code = main()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    # `python -m customer_tiers.orchestration.cli`: run the package's module, not this __main__
    # copy, so the UsageError other modules raise is the one main() catches.
    from customer_tiers.orchestration.cli import entry as package_entry

    package_entry()
