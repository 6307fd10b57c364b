"""`tiers backfill`: the analysis as of each date of a range, so history starts on day one.

Each date is one ordinary `tiers run --as-of DATE` (run_pipeline), oldest first: the account
assignment of a date reads the latest earlier date's assignment, so the chain has to be built in
order. Every run publishes atomically, so after a failure (or Ctrl-C) the published warehouse
holds the history up to the last date that succeeded, and the backfill stops there.

Rerunning a backfill over the same range is idempotent: each date replaces its own rows in
`tier_history` and in the assignment history (delete+insert on as_of), and `tier_migration` is
rebuilt from the history. Dates of the history outside the plan are left as they are.
"""

from __future__ import annotations

import calendar
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Literal, get_args

import duckdb

from customer_tiers.orchestration.config import load_config
from customer_tiers.orchestration.errors import EXIT_OK, EXIT_USAGE, UsageError
from customer_tiers.orchestration.gates import after_latest_order
from customer_tiers.orchestration.pipeline import run_pipeline

Every = Literal["month", "week"]
EVERY_CHOICES: tuple[str, ...] = get_args(Every)


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def backfill_dates(start: date, end: date, every: Every) -> list[date]:
    """The analysis dates of a backfill, oldest first, all within [start, end].

    month: the last day of every month from start's month to end's month that falls in
        [start, end], then `end` itself when it is not a month end. start is a date only when
        it is a month end: 2025-01-15..2025-03-10 gives 01-31, 02-28, 03-10.
    week: start, start + 7, start + 14, ... up to end, then `end` itself when it is not on that
        grid: 2025-01-01..2025-01-20 gives 01-01, 01-08, 01-15, 01-20.
    Either way the last date is `end`, so the latest snapshot (and the current marts) are as of
    the end of the range. start == end gives [end]; start after end is a ValueError.
    """
    if start > end:
        raise ValueError(f"--from {start} is after --to {end}")
    dates: list[date] = []
    if every == "month":
        month_end = _month_end(start)
        while month_end <= end:
            dates.append(month_end)
            month_end = _month_end(month_end + timedelta(days=1))
    elif every == "week":
        day = start
        while day <= end:
            dates.append(day)
            day += timedelta(days=7)
    else:
        raise ValueError(f"--every {every!r}: expected one of {', '.join(EVERY_CHOICES)}")
    if not dates or dates[-1] != end:
        dates.append(end)
    return dates


@dataclass(frozen=True)
class DateOutcome:
    """One date's run: exit code 0 means it was published."""

    as_of: date
    exit_code: int
    seconds: float
    messages: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass
class BackfillOutcome:
    warehouse: Path
    dates: list[date]  # the plan, oldest first
    runs: list[DateOutcome] = field(default_factory=list)  # in order; stops at the first failure
    notes: list[str] = field(default_factory=list)  # things to know that did not stop anything

    @property
    def exit_code(self) -> int:
        """0 when every date was published, else the exit code of the date that failed."""
        return next((run.exit_code for run in self.runs if run.exit_code != EXIT_OK), EXIT_OK)

    @property
    def exit_codes(self) -> dict[date, int]:
        return {run.as_of: run.exit_code for run in self.runs}

    @property
    def published(self) -> list[date]:
        return [run.as_of for run in self.runs if run.exit_code == EXIT_OK]

    @property
    def not_run(self) -> list[date]:
        return self.dates[len(self.runs) :]

    @property
    def messages(self) -> list[str]:
        """For stderr: why the failing date failed, and where the backfill stopped."""
        failed = next((run for run in self.runs if run.exit_code != EXIT_OK), None)
        if failed is None:
            return []
        lines = [f"as of {failed.as_of}: {message}" for message in failed.messages]
        published = _date_list(self.published) or "none"
        lines.append(f"backfill stopped at {failed.as_of}; published: {published}")
        if self.not_run:
            lines.append(f"not run: {_date_list(self.not_run)}")
        return lines


def _date_list(dates: list[date]) -> str:
    if len(dates) <= 4:
        return ", ".join(map(str, dates))
    return f"{dates[0]}, {dates[1]}, ..., {dates[-1]} ({len(dates)} dates)"


def _print_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _read(warehouse: Path, sql: str) -> list[tuple]:
    """Rows of a query on the published warehouse; none when it or the table is not there yet."""
    if not warehouse.exists():
        return []
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.Error:
        return []
    try:
        return con.execute(sql).fetchall()
    except duckdb.Error:  # only for notes and the report: never fail a backfill over them
        return []
    finally:
        con.close()


def _later_history_note(warehouse: Path, end: date) -> str | None:
    """A history already past the range: the backfill leaves those dates, but the current marts
    (customer_tiers and the others that hold one date) end up as of `end`, which is older."""
    rows = _read(warehouse, "select distinct as_of from marts.tier_history order by 1")
    later = [as_of for (as_of,) in rows if as_of > end]
    if not later:
        return None
    return (
        f"{warehouse} already has history after {end} ({_date_list(later)}): those dates stay, "
        f"but the marts that hold one date will show {end} after the backfill; run "
        f"`tiers run --as-of {later[-1]}` again afterwards to bring them back (it replaces that "
        "date's history, nothing is duplicated)"
    )


def _outside_orders_note(warehouse: Path, dates: list[date], config: Path | None) -> str | None:
    """Dates too long after the latest order (gates.after_latest_order, the rule `tiers run`
    applies to its one date)."""
    rows = _read(warehouse, "select max(cast(ordered_at as date)) from raw.orders")
    latest = rows[0][0] if rows else None
    max_days = load_config(config).time.max_days_after_latest_order
    return after_latest_order(dates, latest, max_days, backfill=True)


def run_backfill(
    sources: Path,
    warehouse: Path,
    start: date,
    end: date,
    every: Every,
    config: Path | None = None,
    progress: Callable[[str], None] = _print_stderr,
    *,
    log_level: str = "WARNING",
) -> BackfillOutcome:
    """Run the pipeline as of each date of backfill_dates(start, end, every), oldest first,
    stopping at the first date that does not exit 0. Raises UsageError, before running
    anything, for --from after --to or an unknown --every; a date whose run is unusable (bad
    sources, the warehouse locked by another run) is recorded with exit code 2 and stops the
    backfill like a failed check.

    log_level is the Dagster console level of each run: WARNING drops Dagster's per-step INFO
    lines, so the progress lines stand out (dbt's own progress still goes to stderr).
    """
    try:
        dates = backfill_dates(start, end, every)
    except ValueError as err:
        raise UsageError(str(err)) from err
    warehouse = warehouse.resolve()
    outcome = BackfillOutcome(warehouse, dates)

    def note(text: str | None) -> None:
        if text and text not in outcome.notes:
            outcome.notes.append(text)
            progress(f"note: {text}")

    note(_later_history_note(warehouse, end))
    total = len(dates)
    plural = "date" if total == 1 else "dates"
    progress(f"backfill of {total} {plural} ({_date_list(dates)}) into {warehouse}")
    for number, as_of in enumerate(dates, start=1):
        label = f"[{number}/{total}] as of {as_of}"
        progress(f"{label} ...")
        began = time.monotonic()
        try:
            result = run_pipeline(sources, warehouse, as_of, config, log_level=log_level)
            code, messages, warnings = result.exit_code, result.messages, result.warnings
        except UsageError as err:
            code, messages, warnings = EXIT_USAGE, [str(err)], []
        seconds = time.monotonic() - began
        outcome.runs.append(DateOutcome(as_of, code, seconds, messages, warnings))
        status = "ok" if code == EXIT_OK else f"failed, exit {code}"
        progress(f"{label} ... {status} ({seconds:.0f} s)")
        if code != EXIT_OK:
            break
        if number == 1:
            # raw.orders holds every order of the sources (as_of only filters the models)
            note(_outside_orders_note(warehouse, dates, config))
    return outcome


def format_backfill(outcome: BackfillOutcome) -> str:
    """For stdout: each date's result, then what tier_history holds now (customers per tier and
    date, tiers best first), i.e. the history a BI tool sees."""
    lines = ["Backfill"]
    for run in outcome.runs:
        status = "published" if run.exit_code == EXIT_OK else f"failed (exit {run.exit_code})"
        lines.append(f"  {run.as_of}  {status:<18} {run.seconds:>6.0f} s")
        lines += [f"    warning: {warning}" for warning in run.warnings]
    lines += [f"  {as_of}  not run" for as_of in outcome.not_run]
    rows = _read(
        outcome.warehouse,
        "select as_of, tier, min(tier_rank), count(*) from marts.tier_history "
        "group by as_of, tier order by as_of",
    )
    if rows:
        ranks: dict[str, int] = {}
        for _, tier, rank, _ in rows:
            rank = 99 if rank is None else rank  # a tier no longer configured goes last
            ranks[tier] = min(ranks.get(tier, rank), rank)
        tiers = sorted(ranks, key=lambda tier: (ranks[tier], tier))
        counts = {(as_of, tier): n for as_of, tier, _, n in rows}
        history_dates = sorted({as_of for as_of, *_ in rows})
        width = max(8, *(len(tier) + 1 for tier in tiers))
        lines += ["", f"tier_history ({len(history_dates)} dates): customers per tier"]
        lines.append("  as_of       " + "".join(f"{t:>{width}}" for t in tiers) + "     total")
        for as_of in history_dates:
            cells = [counts.get((as_of, tier), 0) for tier in tiers]
            row = "".join(f"{n:>{width},}" for n in cells)
            lines.append(f"  {as_of}  {row}{sum(cells):>10,}")
    lines += [f"note: {text}" for text in outcome.notes]
    lines += ["", f"Warehouse: {outcome.warehouse} (marts.tier_history, marts.tier_migration)"]
    return "\n".join(lines)
