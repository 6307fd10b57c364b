"""`tiers check`: validate the source files with the run's own loader and suites, change nothing.

Each present source is loaded by `ingest.landing.sync_source` (its file, and the files dropped
into its landing folder, as a first run loads them) into a throw-away DuckDB file in a temporary
directory, then validated by `expectations.runner.validate_source`, so the verdict is exactly
what `tiers run` would decide for the same files on a new warehouse. Nothing is written into the
sources folder or any warehouse; the temporary directory (the DuckDB file, its WAL and spill
files, and the loader's transcoded copies) is removed on exit.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import duckdb

from customer_tiers.expectations.runner import (
    ExpectationOutcome,
    Severity,
    SuiteOutcome,
    validate_source,
)
from customer_tiers.ingest.landing import source_files, sync_source
from customer_tiers.ingest.loader import QUARANTINE_SCHEMA, LoadResult, SourceError
from customer_tiers.ingest.sources import SOURCES, SourceSpec
from customer_tiers.orchestration.config import MEMORY_LIMIT, load_config
from customer_tiers.orchestration.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE
from customer_tiers.orchestration.gates import QuarantineShare, quarantine_share

CHECK_RUN_ID = "tiers-check"  # the lineage run id of the throw-away tables
EXAMPLE_ROWS = 5  # quarantined rows quoted per file

Status = Literal["loaded", "absent", "error"]

# What a run does without an optional file (docs/contract.md).
_ABSENT_NOTE = {
    "customers": "customers will be derived from the orders, with empty profiles",
}
_ABSENT_DEFAULT = "the marts that need it will be empty"


@dataclass(frozen=True)
class FileReport:
    """What the check found for one source."""

    source: str
    label: str  # the file name when one was found, else the source name
    status: Status
    load: LoadResult | None = None  # None when the file could not be loaded
    examples: tuple[tuple[int, str], ...] = ()  # (data row, reason) of the first quarantined
    suite: SuiteOutcome | None = None  # None when the file could not be loaded
    error: str | None = None
    gate: QuarantineShare | None = None  # its quarantined share against the threshold
    # files of the source not loaded, with why: duplicates, non-data files (SourceSync.skipped)
    not_loaded: tuple[tuple[str, str], ...] = ()

    @property
    def blocked_by_quarantine(self) -> bool:
        return self.gate is not None and self.gate.blocks

    def failures(self, severity: Severity) -> list[ExpectationOutcome]:
        return self.suite.failures(severity) if self.suite else []


@dataclass(frozen=True)
class CheckReport:
    sources_dir: Path
    files: tuple[FileReport, ...]

    @property
    def exit_code(self) -> int:
        # Unreadable input first: a blocking verdict on a partial load would mislead.
        if any(f.status == "error" for f in self.files):
            return EXIT_USAGE
        if any(f.failures("error") or f.blocked_by_quarantine for f in self.files):
            return EXIT_CHECK_FAILED
        return EXIT_OK


# --- checking ----------------------------------------------------------------------------------


def _label(sources_dir: Path, spec: SourceSpec) -> str:
    """The file's name, or e.g. `orders.csv + 3 files in orders/`."""
    try:
        files = source_files(sources_dir, spec)
    except SourceError:
        return spec.name  # e.g. ambiguous; loading raises the same error with its message
    names = [p.relative_to(sources_dir).as_posix() for p in files]
    landed = [n for n in names if "/" in n]
    if not landed:
        return names[0] if names else spec.name
    folder = f"{len(landed)} file{'s' if len(landed) > 1 else ''} in {spec.name}/"
    return f"{names[0]} + {folder}" if len(names) > len(landed) else folder


def _quarantine_examples(
    con: duckdb.DuckDBPyConnection, source: str, several_files: bool
) -> tuple[tuple[int, str], ...]:
    rows = con.execute(
        f"SELECT _row_number, _reason, regexp_extract(_source_file, '[^/]*$') "
        f"FROM {QUARANTINE_SCHEMA}.{source} "
        f"ORDER BY _source_file, _row_number LIMIT {EXAMPLE_ROWS}"
    ).fetchall()
    # With several files a row number alone does not say where: name the file.
    return tuple(
        (int(n), f"({file}) {reason}" if several_files else str(reason)) for n, reason, file in rows
    )


def _load_all(
    db_path: Path, sources_dir: Path, progress: Callable[[str], None]
) -> list[FileReport]:
    """Load every source as a run does, one SourceError per file rather than for the lot."""
    reports: list[FileReport] = []
    loaded_at = datetime.now(UTC)
    config = load_config()
    privacy = config.privacy.settings()  # loaded as a run would load it
    con = duckdb.connect(str(db_path), config={"memory_limit": MEMORY_LIMIT})
    try:
        for spec in SOURCES.values():
            label = _label(sources_dir, spec)
            progress(f"checking {label} ...")
            try:
                sync = sync_source(con, spec, sources_dir, CHECK_RUN_ID, loaded_at, privacy)
            except SourceError as err:
                reports.append(FileReport(spec.name, label, "error", error=str(err)))
                continue
            result = replace(sync.totals(), file=label)
            examples = ()
            if result.rows_quarantined:
                examples = _quarantine_examples(con, spec.name, len(sync.loaded) > 1)
            status = "absent" if result.status == "absent" else "loaded"
            gate = quarantine_share(config, spec.name, result.rows_read, result.rows_quarantined)
            reports.append(
                FileReport(
                    spec.name, label, status, result, examples, gate=gate,
                    not_loaded=tuple(sync.skipped),
                )
            )  # fmt: skip
    finally:
        # validate_source opens the file with its own connection, and DuckDB refuses a second
        # open of a file with a different configuration (our memory limit) in one process.
        con.close()
    return reports


def _validated(db_path: Path, report: FileReport) -> FileReport:
    if report.status == "error":
        return report
    return replace(report, suite=validate_source(db_path, report.source))


def check_sources(
    sources_dir: Path, progress: Callable[[str], None] = lambda _: None
) -> CheckReport:
    """Load and validate every source in sources_dir in a throw-away DuckDB file.

    Raises SourceError when sources_dir is not a folder; every per-file problem is reported in
    the result instead, so one bad file does not hide the others.
    """
    sources_dir = Path(sources_dir).resolve()
    if not sources_dir.is_dir():
        raise SourceError(f"--sources {sources_dir}: not a folder")
    with tempfile.TemporaryDirectory(prefix="tiers-check-") as tmp:
        db_path = Path(tmp) / "check.duckdb"
        reports = _load_all(db_path, sources_dir, progress)
        # Absent sources are validated too (as empty tables), exactly as a run does.
        files = tuple(_validated(db_path, r) for r in reports)
    return CheckReport(sources_dir, files)


# --- the report --------------------------------------------------------------------------------


def _load_lines(
    load: LoadResult, examples: tuple[tuple[int, str], ...], gate: QuarantineShare | None
) -> list[str]:
    lines = [f"  encoding: {load.encoding or 'n/a (parquet)'}"]
    lines.append(
        f"  rows: {load.rows_read:,} read, {load.rows_loaded:,} loaded, "
        f"{load.rows_quarantined:,} quarantined"
    )
    if gate is not None and gate.quarantined:
        lines.append(f"  quarantined share: {gate.describe()}")
    if load.quarantine_reasons:
        reasons = ", ".join(f"{reason} {n:,}" for reason, n in load.quarantine_reasons.items())
        lines.append(f"  quarantined by reason: {reasons}")
        lines += [f"    data row {row}: {reason}" for row, reason in examples]
    if load.missing_columns:
        lines.append(f"  optional columns absent (left empty): {', '.join(load.missing_columns)}")
    if load.extra_columns:
        lines.append(f"  extra columns (ignored): {', '.join(load.extra_columns)}")
    return lines


def _suite_lines(suite: SuiteOutcome) -> list[str]:
    failed = suite.failures()
    if not failed:
        return [f"  expectations: {len(suite.outcomes)} checked, all passed"]
    lines = [f"  expectations: {len(suite.outcomes)} checked, {len(failed)} failed"]
    for o in sorted(failed, key=lambda o: o.severity != "error"):  # blocking ones first
        kind = "ERROR (blocks)" if o.severity == "error" else "warning (reported)"
        column = f" on {o.column}" if o.column else ""
        count = "" if o.unexpected_count is None else f", {o.unexpected_count:,} unexpected"
        lines.append(f"    {kind}: {o.expectation}{column}{count}: {o.details}")
    return lines


def _file_lines(report: FileReport) -> list[str]:
    if report.status == "error":
        return [f"{report.label}: error", f"  {report.error}"]
    if report.status == "absent":
        note = _ABSENT_NOTE.get(report.source, _ABSENT_DEFAULT)
        lines = [f"{report.label}: absent (optional; {note})"]
    else:
        assert report.load is not None
        lines = [f"{report.label}: loaded", *_load_lines(report.load, report.examples, report.gate)]
    lines += [f"  not loaded: {name}: {why}" for name, why in report.not_loaded]
    if report.suite is not None:
        lines += _suite_lines(report.suite)
    return lines


def _verdict(report: CheckReport) -> str:
    errors = [f.label for f in report.files if f.status == "error"]
    blocked = [f.label for f in report.files if f.failures("error")]
    over = [f.label for f in report.files if f.blocked_by_quarantine]
    warnings = sum(len(f.failures("warning")) for f in report.files)
    quarantined = sum(f.load.rows_quarantined for f in report.files if f.load)
    tail = f"{warnings} warning(s), {quarantined:,} row(s) quarantined"
    if skipped := sum(len(f.not_loaded) for f in report.files):
        tail += f", {skipped} file(s) not loaded"
    if errors:
        return f"verdict: UNUSABLE INPUT in {', '.join(errors)} (exit {EXIT_USAGE}); {tail}"
    if blocked or over:
        why = [f"failed expectations in {', '.join(blocked)}"] if blocked else []
        why += [f"a quarantined share above its threshold in {', '.join(over)}"] if over else []
        return (
            f"verdict: BLOCKED by {' and '.join(why)} "
            f"(exit {EXIT_CHECK_FAILED}); a run would publish nothing; {tail}"
        )
    return f"verdict: OK (exit {EXIT_OK}); {tail}"


def format_report(report: CheckReport) -> str:
    lines = [f"tiers check: {report.sources_dir} (nothing was changed)", ""]
    for file in report.files:
        lines += [*_file_lines(file), ""]
    lines.append(_verdict(report))
    return "\n".join(lines)
