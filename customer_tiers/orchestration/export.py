"""`tiers export`: every mart of the published warehouse as Parquet or CSV files.

One file per table of schema `marts`, `<out>/<mart>.parquet` or `<out>/<mart>.csv`, rows ordered
by every column so two exports of the same warehouse are identical. DuckDB does the work
(`COPY ... TO`), so a mart of millions of rows never passes through Python.

CSV is for spreadsheets: UTF-8 with a BOM (Excel otherwise reads UTF-8 as the local code page and
garbles Chinese), a header row, RFC 4180 quoting, ISO dates, NULL as an empty field and the empty
string as `""`. Text cells that a spreadsheet would run as a formula (first character `=`, `+`,
`-`, `@`, tab or carriage return; OWASP "CSV injection") get a leading `'`, which spreadsheets
show as text. Numbers are never touched, so negative amounts stay numbers. Parquet keeps the
values and types exactly as they are in the warehouse.

Files are written into a staging folder next to `--out` and renamed into place, so a failed
export leaves the earlier files as they were and never a half-written one.
"""

from __future__ import annotations

import codecs
import errno
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb

from customer_tiers.orchestration.config import MEMORY_LIMIT, WORK_SUFFIX

ExportFormat = Literal["parquet", "csv"]
FORMATS: tuple[ExportFormat, ...] = ("parquet", "csv")
MARTS_SCHEMA = "marts"
# First characters that make Excel, LibreOffice or Google Sheets evaluate a cell (OWASP).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


class ExportError(Exception):
    """The export could not run (bad warehouse, no marts, unwritable folder): exit 2."""


class WarehouseNotFoundError(ExportError, FileNotFoundError):
    """The warehouse file does not exist."""


@dataclass(frozen=True)
class MartExport:
    mart: str
    path: Path
    rows: int
    bytes: int


@dataclass(frozen=True)
class ExportSummary:
    warehouse: Path
    out_dir: Path
    fmt: ExportFormat
    marts: list[MartExport]

    @property
    def rows(self) -> int:
        return sum(mart.rows for mart in self.marts)

    @property
    def bytes(self) -> int:
        return sum(mart.bytes for mart in self.marts)


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _is_text(data_type: str) -> bool:
    # ENUM and JSON are text too: their values can start with a formula character.
    return data_type.startswith(("VARCHAR", "ENUM(")) or data_type == "JSON"


def _neutralised(column: str) -> str:
    """SQL for a text column with a `'` in front of values a spreadsheet would evaluate."""
    value = f"CAST(src.{_ident(column)} AS VARCHAR)"
    triggers = ", ".join(f"chr({ord(c)})" for c in FORMULA_TRIGGERS)
    return (
        f"CASE WHEN left({value}, 1) IN ({triggers}) THEN '''' || {value} ELSE {value} END "
        f"AS {_ident(column)}"
    )


def _select(mart: str, columns: list[tuple[str, str]], fmt: ExportFormat) -> str:
    if fmt == "csv":
        select = ", ".join(
            _neutralised(name) if _is_text(data_type) else f"src.{_ident(name)}"
            for name, data_type in columns
        )
    else:
        select = "src.*"
    # Order by the warehouse values (src.), not by the neutralised text, for both formats.
    order = ", ".join(f"src.{_ident(name)}" for name, _ in columns)
    return f"SELECT {select} FROM {MARTS_SCHEMA}.{_ident(mart)} AS src ORDER BY {order}"


def _copy_options(fmt: ExportFormat) -> str:
    if fmt == "parquet":
        # snappy: the codec every BI tool's Parquet reader supports.
        return "FORMAT parquet, COMPRESSION snappy"
    # DuckDB's CSV writer quotes only where needed (delimiter, quote, newline) and doubles quotes.
    return "FORMAT csv, HEADER true, DELIMITER ',', QUOTE '\"', ESCAPE '\"', DATEFORMAT '%Y-%m-%d'"


def _check_warehouse(warehouse: Path) -> None:
    if warehouse.name.endswith(WORK_SUFFIX):
        raise ExportError(
            f"--warehouse {warehouse}: this is a run's work copy; "
            "export the published file instead (without the suffix)"
        )
    if not warehouse.is_file():
        raise WarehouseNotFoundError(f"--warehouse {warehouse}: no such file")


def _open(warehouse: Path, spill_dir: Path) -> duckdb.DuckDBPyConnection:
    try:
        # read_only: a run replaces the file with os.replace, and this export must never write it
        # (no WAL, no checkpoint). Spill next to the export, not next to the warehouse.
        return duckdb.connect(
            str(warehouse),
            read_only=True,
            config={"memory_limit": MEMORY_LIMIT, "temp_directory": str(spill_dir)},
        )
    except duckdb.Error as err:
        raise ExportError(f"--warehouse {warehouse}: not a readable DuckDB file: {err}") from err


def _marts(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple[str, str]]]:
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_catalog = current_database() AND table_schema = ? "
        "ORDER BY table_name, ordinal_position",
        [MARTS_SCHEMA],
    ).fetchall()
    marts: dict[str, list[tuple[str, str]]] = {}
    for table, column, data_type in rows:
        marts.setdefault(table, []).append((column, data_type))
    return marts


def _add_bom(body: Path, target: Path) -> None:
    # DuckDB's CSV writer has no BOM option, so the BOM goes first and DuckDB's bytes follow.
    with target.open("wb") as out, body.open("rb") as src:
        out.write(codecs.BOM_UTF8)
        shutil.copyfileobj(src, out, 1 << 20)
    body.unlink()


def _staging_dir(out_dir: Path) -> Path:
    """A private folder on the same file system as --out, so files can be renamed into it."""
    try:
        # Next to --out, not inside it: a BI tool reading the folder must not see partial files.
        return Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.export-", dir=out_dir.parent))
    except OSError:
        return Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir))


def _move_into(src: Path, dest: Path) -> None:
    try:
        os.replace(src, dest)
    except OSError as err:
        if err.errno != errno.EXDEV:
            raise
        # --out is a mount point of its own: copy beside the target, then rename over it.
        partial = dest.with_name(f".{dest.name}.tmp")
        shutil.copyfile(src, partial)
        os.replace(partial, dest)


def export_marts(
    warehouse: Path,
    out_dir: Path,
    fmt: ExportFormat,
    progress: Callable[[str], None] | None = None,
) -> ExportSummary:
    """Write every mart of `warehouse` to `out_dir/<mart>.<fmt>` and say what was written."""
    if fmt not in FORMATS:
        raise ExportError(f"--format {fmt}: not one of {', '.join(FORMATS)}")
    report = progress or (lambda _line: None)
    warehouse, out_dir = warehouse.expanduser().resolve(), out_dir.expanduser().resolve()
    _check_warehouse(warehouse)  # before creating --out: a typo must leave nothing behind
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ExportError(f"--out {out_dir}: cannot create the folder: {err}") from err
    try:
        stage = _staging_dir(out_dir)
    except OSError as err:
        raise ExportError(f"--out {out_dir}: cannot write there: {err}") from err
    try:
        con = _open(warehouse, stage / "spill")
        try:
            marts = _marts(con)
            if not marts:
                raise ExportError(
                    f"--warehouse {warehouse}: no tables in schema {MARTS_SCHEMA} "
                    "(is this a published warehouse of `tiers run`?)"
                )
            report(f"exporting {len(marts)} marts from {warehouse} as {fmt} to {out_dir}")
            written: list[tuple[str, int]] = []
            for mart, columns in marts.items():
                if Path(mart).name != mart or mart.startswith("."):
                    raise ExportError(f"mart {mart!r}: not usable as a file name")
                report(f"  {MARTS_SCHEMA}.{mart} ...")
                target = stage / f"{mart}.{fmt}"
                copy_to = target.with_name(target.name + ".body") if fmt == "csv" else target
                copied = con.execute(
                    f"COPY ({_select(mart, columns, fmt)}) TO {_literal(str(copy_to))} "
                    f"({_copy_options(fmt)})"
                ).fetchone()
                rows = int(copied[0]) if copied else 0  # COPY answers with the rows written
                if fmt == "csv":
                    _add_bom(copy_to, target)
                written.append((mart, rows))
        finally:
            con.close()
        exported: list[MartExport] = []
        for mart, rows in written:
            staged, dest = stage / f"{mart}.{fmt}", out_dir / f"{mart}.{fmt}"
            size = staged.stat().st_size
            _move_into(staged, dest)
            exported.append(MartExport(mart, dest, rows, size))
    except duckdb.Error as err:
        raise ExportError(f"export from {warehouse} failed: {err}") from err
    except OSError as err:
        if isinstance(err, ExportError):
            raise
        raise ExportError(f"export to {out_dir} failed: {err}") from err
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return ExportSummary(warehouse, out_dir, fmt, exported)


def _size(n: int) -> str:
    if n < 1000:
        return f"{n:,} B"
    value = float(n)
    for unit in ("kB", "MB", "GB"):
        value /= 1000
        if value < 1000 or unit == "GB":
            break
    return f"{value:,.1f} {unit}"


def format_summary(summary: ExportSummary) -> str:
    width = max([len("total"), *(len(mart.mart) for mart in summary.marts)])
    count = f"{len(summary.marts)} mart{'' if len(summary.marts) == 1 else 's'}"
    lines = [f"Exported {count} from {summary.warehouse} to {summary.out_dir}"]
    for mart in summary.marts:
        size = _size(mart.bytes)
        lines.append(f"  {mart.mart:<{width}} {mart.rows:>12,} rows {size:>10}  {mart.path.name}")
    lines.append(f"  {'total':<{width}} {summary.rows:>12,} rows {_size(summary.bytes):>10}")
    return "\n".join(lines)
