"""Load one source file into DuckDB schema `raw`, quarantining the rows that break the contract.

For each source (ingest/sources.py) the loader finds `<stem>.csv` or `<stem>.parquet`, reads it
with DuckDB's own readers (every CSV value as text, so reading never fails on a bad value),
parses each value into its contract type inside DuckDB, and writes

* `raw.<name>`: the rows whose every value parsed, typed, plus the lineage columns;
* `quarantine.<name>`: the other rows with their original text and the reasons.

All per-row work is SQL over the whole file, so a 10-million-line export streams through in
bounded memory; Python only touches the file as bytes (encoding check, sha256).
"""

from __future__ import annotations

import dataclasses
import re
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Literal

import duckdb

from customer_tiers.ingest.encoding import (
    CHUNK_SIZE,
    UTF8_BOM,
    Encoding,
    SourceError,
    detect_encoding,
    open_source_bytes,
    transcode_to_utf8,
)
from customer_tiers.ingest.files import (
    blank_out_whitespace_lines,
    check_link,
    is_csv,
    scan,
    stem,
    suffix,
)
from customer_tiers.ingest.privacy import PersonalKind, Privacy, personal_kind
from customer_tiers.ingest.sources import (
    DUCKDB_TYPES,
    FAR_FUTURE_GAP_DAYS,
    LINEAGE_COLUMNS,
    Bound,
    Column,
    SourceSpec,
)

__all__ = [
    "FileFacts",
    "LoadResult",
    "SourceError",
    "absent_result",
    "create_empty_tables",
    "find_source_file",
    "inspect_file",
    "load_file",
    "load_source",
    "snake_case",
    "write_load_audit",
]

RAW_SCHEMA = "raw"
QUARANTINE_SCHEMA = "quarantine"
DEFAULT_PRIVACY = Privacy()  # mask: no clear personal data unless configured
AUDIT_TABLE = f"{RAW_SCHEMA}.load_audit"
EXTENSIONS = (".csv", ".csv.gz", ".parquet")  # ingest/files.py SUFFIXES

# Characters trimmed from every value: ASCII whitespace plus the no-break and ideographic
# (full-width) spaces that Excel and Chinese input methods leave behind.
TRIM_CHARS = " \t\r\n\u00a0\u3000"
CURRENCY_SYMBOLS = "¥￥$€£"
TRUE_WORDS = ("true", "t", "1", "yes", "y", "是")
FALSE_WORDS = ("false", "f", "0", "no", "n", "否")
PREVIEW_CHARS = 60  # longest value quoted in a quarantine reason
MAX_LINE_BYTES = 2_000_000  # DuckDB read_csv's default max_line_size
_ORIGINAL_LINE_CHARS = 120  # of DuckDB's "Original Line: ..." in an error

# Accepted date/timestamp shapes: YYYY-MM-DD or YYYY/MM/DD, optionally followed by
# ` HH:MM[:SS[.fff]]` or `THH:MM[:SS[.fff]]`, and YYYYMMDD. The shape is checked first because
# DuckDB's cast alone also takes 'infinity' and silently drops '+08' offsets; regex + cast is
# ~6x faster than try_strptime with a list of formats.
_DATETIME_RE = r"\d{4}(-\d{1,2}-\d{1,2}|/\d{1,2}/\d{1,2})([ T]\d{1,2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?"
_COMPACT_DATE_RE = r"\d{8}"

# Parquet column types read natively (no detour through text) into numeric contract columns.
_NUMERIC_TYPES = frozenset(
    {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "FLOAT", "DOUBLE"}
    | {"UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"}
)
_MAX_ERROR_CHARS = 400
# What DuckDB raises for a malformed file while scanning it; anything else is a bug here and
# propagates unchanged rather than being blamed on the file.
_READ_ERRORS = (duckdb.InvalidInputException, duckdb.IOException, duckdb.ConversionException)


@dataclass(frozen=True)
class LoadResult:
    """What one `load_source` call did; one row of `raw.load_audit`."""

    source: str
    file: str | None
    sha256: str | None
    bytes: int | None
    encoding: str | None
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    missing_columns: tuple[str, ...]  # optional contract columns absent from the file (NULL)
    extra_columns: tuple[str, ...]  # file columns outside the contract (ignored), as in the file
    # Reason category -> rows. A row counts under its first reason's category (the full list is
    # in quarantine.<name>._reason), so the counts add up to rows_quarantined.
    quarantine_reasons: dict[str, int] = field(default_factory=dict)
    # loaded: read this run; unchanged: the same file (name, size, sha256) was loaded before and
    # its rows are kept; absent: no file; duplicate: the same bytes as another file of the
    # source, not loaded; skipped: a file of a landing folder that is not a data file.
    status: Literal["loaded", "unchanged", "absent", "duplicate", "skipped"] = "loaded"
    note: str | None = None  # why a file was not loaded (duplicate, skipped)


@dataclass(frozen=True)
class _FileColumn:
    """A column as DuckDB's reader exposes it."""

    name: str  # name given by the reader (DuckDB renames a repeated header `amount_1`)
    type: str  # DuckDB type as read: VARCHAR for CSV, the stored type for Parquet
    snake: str  # lower snake case of the header, used for matching and quarantine names
    header: str = ""  # the header as written in the file, for messages
    zone: str | None = None  # a Parquet timestamp's own time zone (TIMESTAMP WITH TIME ZONE)

    @property
    def label(self) -> str:
        return self.header or self.name


# ---------------------------------------------------------------------------------------------
# Small helpers


def _lit(value: str) -> str:
    """SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    """SQL quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def snake_case(name: str) -> str:
    """' Order ID ' -> 'order_id', '客户 ID' -> '客户_id': the form headers are matched in."""
    return re.sub(r"\W+", "_", name.strip().lower()).strip("_")


def _short_error(err: Exception) -> str:
    """DuckDB's message without its 'Possible fixes' advice, on one line."""
    lines: list[str] = []
    for line in str(err).splitlines():
        if line.startswith(("Possible fixes", "LINE ", "Possible Solution")):
            break
        if line.startswith("Original Line:"):
            line = line[:_ORIGINAL_LINE_CHARS] + ("..." if len(line) > _ORIGINAL_LINE_CHARS else "")
        if line.strip():
            lines.append(line.strip())
    text = " | ".join(lines) or type(err).__name__
    return text if len(text) <= _MAX_ERROR_CHARS else text[: _MAX_ERROR_CHARS - 3] + "..."


def _line_too_long(path: Path) -> str | None:
    """For DuckDB's 'Maximum line size exceeded' (which names a wrong line): the real one."""
    line_number, length = 1, 0
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_SIZE), b""):
            start = 0
            while (end := chunk.find(b"\n", start)) != -1:
                if length + end - start > MAX_LINE_BYTES:
                    return _too_long_message(line_number, length + end - start)
                line_number, length, start = line_number + 1, 0, end + 1
            length += len(chunk) - start
    return _too_long_message(line_number, length) if length > MAX_LINE_BYTES else None


def _too_long_message(line_number: int, length: int) -> str:
    return (
        f"line {line_number} is over {length:,} bytes, more than the maximum line size of "
        f"{MAX_LINE_BYTES:,} bytes the CSV reader takes; shorten that field"
    )


def _read_error(err: Exception, path: Path) -> str:
    if "Maximum line size" in str(err) and (where := _line_too_long(path)):
        return where
    return _short_error(err)


def _has_content(path: Path) -> bool:
    """True when the file holds anything but a BOM and whitespace (i.e. at least a header)."""
    with open_source_bytes(path) as f:
        first = True
        while chunk := f.read(CHUNK_SIZE):
            if first and chunk.startswith(UTF8_BOM):
                chunk = chunk[len(UTF8_BOM) :]
            first = False
            if chunk.strip():
                return True
    return False


def _fetchall(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


# ---------------------------------------------------------------------------------------------
# Finding and reading the file


def find_source_file(sources_dir: Path, spec: SourceSpec) -> Path | None:
    """`<name>.csv`, `<name>.csv.gz` or `<name>.parquet` in sources_dir (any case, so
    ORDERS.CSV too; spaces around the name ignored). A link is followed only to a file inside
    sources_dir (ingest/files.py check_link): a broken one or one leading out is an error."""
    sources_dir = Path(sources_dir)
    if not sources_dir.is_dir():
        raise SourceError(f"{sources_dir}: sources directory does not exist")
    named = [p for p in sources_dir.iterdir() if suffix(p) and stem(p) == spec.name]
    for p in named:
        check_link(sources_dir, p)
    found = sorted(p for p in named if p.is_file())
    if len(found) > 1:
        names = ", ".join(p.name for p in found)
        raise SourceError(f"{sources_dir}: ambiguous source {spec.name!r}: {names}; keep one")
    return found[0] if found else None


def _csv_reader(path: Path, delim: str | None = None, n_columns: int = 0) -> str:
    """read_csv over the whole file, every value as text.

    Quote and escape are fixed to RFC 4180 '"': the sniffer only samples the head of the file
    and, if no field there is quoted, picks "no quote" and later fails on a quoted comma. Comment
    and skip are fixed too, or the sniffer silently drops rows starting with '#' and leading
    lines it takes for a title. Only the delimiter is sniffed, unless `delim` is given (then
    nothing is, and `n_columns` VARCHAR columns are expected).
    """
    options = [
        _lit(str(path)),
        "header = true",
        "all_varchar = true",
        "quote = '\"'",
        "escape = '\"'",
        "comment = ''",
        "skip = 0",
    ]
    if path.name.strip().lower().endswith(".gz"):
        options.append("compression = 'gzip'")  # not left to the name: `day.csv.gz ` too
    if delim is not None:
        columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n_columns))
        options += ["auto_detect = false", f"delim = {_lit(delim)}", f"columns = {{{columns}}}"]
    return f"read_csv({', '.join(options)})"


def _parquet_reader(path: Path) -> str:
    return f"read_parquet({_lit(str(path))})"


def _describe(con: duckdb.DuckDBPyConnection, reader: str, path: Path) -> list[_FileColumn]:
    try:
        rows = _fetchall(con, f"DESCRIBE SELECT * FROM {reader}")
    except duckdb.Error as err:
        raise SourceError(f"{path}: cannot read the file: {_read_error(err, path)}") from err
    names = [str(r[0]) for r in rows]
    zones: list[str | None] = [None] * len(rows)
    if not is_csv(path):
        names, zones = _parquet_header(path, names)
    elif any(_RENAMED.search(n) for n in names):
        names = _csv_header(con, reader, names)
    return [
        _FileColumn(name=r[0], type=r[1], snake=snake_case(h), header=h, zone=z)
        for r, h, z in zip(rows, names, zones, strict=True)
    ]


# DuckDB names a repeated header `amount_1`, `Amount_2`; the file's own names are read back.
_RENAMED = re.compile(r"_\d+$")


def _csv_header(con: duckdb.DuckDBPyConnection, reader: str, names: list[str]) -> list[str]:
    """The header line as written (repeats kept), read as the first row of the same reader."""
    raw = reader.replace("header = true", "header = false", 1)
    row = con.execute(f"SELECT * FROM {raw} LIMIT 1").fetchone()
    return [str(v) for v in row] if row and len(row) == len(names) else names


def _parquet_header(path: Path, names: list[str]) -> tuple[list[str], list[str | None]]:
    """Column names as stored and each timestamp's own time zone, from the Parquet schema."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (OSError, pa.ArrowException):
        return names, [None] * len(names)
    if len(schema) != len(names):
        return names, [None] * len(names)
    zones = [
        (f.type.tz or "UTC") if pa.types.is_timestamp(f.type) and f.type.tz else None
        for f in schema
    ]
    return list(schema.names), zones


def _why_unsplit(con: duckdb.DuckDBPyConnection, read_path: Path, header: str) -> str | None:
    """Why the sniffer read the file as one column, when the header has a delimiter in it.

    That happens when rows in the sniffed sample have differing numbers of fields or a broken
    quote. Re-reading with the header's delimiter makes DuckDB name the offending line.
    """
    counts = {d: header.count(d) for d in (",", ";", "\t", "|")}
    delim = max(counts, key=lambda d: counts[d])
    if counts[delim] == 0:
        return None
    reader = _csv_reader(read_path, delim, n_columns=counts[delim] + 1)
    try:
        _fetchall(con, f"SELECT count(*) FROM {reader}")
    except duckdb.Error as err:
        return f"rows cannot be split into columns with delimiter {delim!r}: {_short_error(err)}"
    return None


# ---------------------------------------------------------------------------------------------
# Matching file columns to the contract


@dataclass(frozen=True)
class _Plan:
    """Which file column feeds each contract column, and what else the file has."""

    matched: dict[str, int]  # contract column -> index into file_columns
    missing: tuple[str, ...]
    extra: tuple[str, ...]  # file header names, as read
    quarantine_names: tuple[str, ...]  # per file column, unique snake-case names
    personal: dict[int, PersonalKind] = field(default_factory=dict)  # file column -> kind
    # event-time column -> the last day of its main body; later days are far-future typos
    main_body_ends: dict[str, date] = field(default_factory=dict)


def _plan_columns(spec: SourceSpec, file_columns: list[_FileColumn], path: Path) -> _Plan:
    by_snake: dict[str, int] = {}
    for i, col in enumerate(file_columns):
        if col.snake in by_snake and col.snake in spec.column_names:
            _ambiguous(path, file_columns, by_snake[col.snake], i, col.snake)
        by_snake.setdefault(col.snake, i)

    matched = {c: by_snake[c] for c in spec.column_names if c in by_snake}
    for column in spec.columns:  # a header spelled as one of the contract's aliases
        if column.name in matched:
            continue
        hits = [by_snake[a] for a in column.aliases if a in by_snake]
        if len(hits) > 1:
            _ambiguous(path, file_columns, hits[0], hits[1], column.name)
        if hits:
            matched[column.name] = hits[0]
    missing_required = [c for c in spec.required_columns if c not in matched]
    if missing_required:
        found = ", ".join(c.label for c in file_columns)
        raise SourceError(
            f"{path}: missing required column(s) {', '.join(missing_required)} "
            f"(header read as: {found})"
        )
    used = set(matched.values())
    return _Plan(
        matched=matched,
        missing=tuple(c for c in spec.column_names if c not in matched),
        extra=tuple(c.label for i, c in enumerate(file_columns) if i not in used),
        quarantine_names=_unique_names(file_columns, {i: c for c, i in matched.items()}),
        personal=_personal_columns(spec, file_columns, matched),
    )


def _ambiguous(path: Path, file_columns: list[_FileColumn], a: int, b: int, name: str) -> None:
    first, second = file_columns[a].label, file_columns[b].label
    raise SourceError(
        f"{path}: columns {first!r} and {second!r} both match contract column {name!r}; keep "
        f"one (header columns {a + 1} and {b + 1})"
    )


def _personal_columns(
    spec: SourceSpec, file_columns: list[_FileColumn], matched: dict[str, int]
) -> dict[int, PersonalKind]:
    """File column index -> the kind of personal data it holds: the contract's personal
    columns however spelled, and other columns whose header names a phone, e-mail or person's
    name (protected in quarantine, where every column of a rejected row is kept)."""
    kinds = {i: kind for i, col in enumerate(file_columns) if (kind := personal_kind(col.snake))}
    for col in spec.columns:
        if col.name in matched:
            kinds.pop(matched[col.name], None)
            if col.personal:
                kinds[matched[col.name]] = col.personal
    return kinds


def _unique_names(
    file_columns: list[_FileColumn], contract: dict[int, str] | None = None
) -> tuple[str, ...]:
    """Snake-case names for the quarantine table, made unique and never a lineage name; a
    column matched to the contract (by an alias too) takes the contract's name."""
    taken = {c.name for c in LINEAGE_COLUMNS} | {"_reason", "_reason_category"}
    names: list[str] = []
    contract = contract or {}
    for i, col in enumerate(file_columns):
        base = contract.get(i) or col.snake or f"column_{i + 1}"
        name, n = base, 2
        while name in taken:
            name, n = f"{base}_{n}", n + 1
        taken.add(name)
        names.append(name)
    return tuple(names)


# ---------------------------------------------------------------------------------------------
# SQL: parsing values into contract types


def _number_cast(v: str, duck_type: str) -> str:
    """TRY_CAST to a numeric type, retried with one leading currency symbol (after an optional
    sign) removed; the regex only runs for the few values the plain cast rejects."""
    stripped = rf"regexp_replace({v}, '^([+-]?)\s*[{CURRENCY_SYMBOLS}]\s*', '\1')"
    return f"COALESCE(TRY_CAST({v} AS {duck_type}), TRY_CAST({stripped} AS {duck_type}))"


# A parse is two SQL steps, computed in consecutive CTEs so no sub-expression is evaluated
# twice: `first` reads the value, `finish` (with _Q standing for first's result) validates it.
_Q = "@Q"


@dataclass(frozen=True)
class _Parse:
    first: str
    finish: str = _Q


def _parse_text(v: str, column: Column) -> _Parse:
    """Parse trimmed, non-empty text `v` into the column's type; NULL when it cannot."""
    if column.type == "varchar":
        return _Parse(v)
    if column.type in ("timestamp", "date"):
        ts = (
            f"CASE WHEN regexp_full_match({v}, '{_DATETIME_RE}') "
            f"THEN TRY_CAST(replace({v}, '/', '-') AS TIMESTAMP) "
            f"WHEN regexp_full_match({v}, '{_COMPACT_DATE_RE}') "
            f"THEN try_strptime({v}, '%Y%m%d') END"
        )
        return _Parse(f"CAST({ts} AS DATE)" if column.type == "date" else ts)
    if column.type == "decimal":
        # DECIMAL has no NaN or infinity, so the cast itself rejects them.
        return _Parse(_number_cast(v, DUCKDB_TYPES["decimal"]))
    if column.type == "double":
        return _Parse(_number_cast(v, "DOUBLE"), f"CASE WHEN isfinite({_Q}) THEN {_Q} END")
    if column.type == "integer":
        # Via DECIMAL: a plain cast to INTEGER rounds '3.5' to 4 and reads '0x10' as hex.
        return _Parse(_number_cast(v, "DECIMAL(38, 9)"), _WHOLE_TO_INTEGER)
    if column.type == "boolean":
        # CASE x WHEN ..., not IN (...): DuckDB plans a long IN list as a join.
        words = [(w, "true") for w in TRUE_WORDS] + [(w, "false") for w in FALSE_WORDS]
        whens = " ".join(f"WHEN {_lit(w)} THEN {b}" for w, b in words)
        return _Parse(f"(CASE lower({v}) {whens} END)")
    raise AssertionError(f"unhandled column type {column.type}")


_WHOLE_TO_INTEGER = f"CASE WHEN {_Q} = trunc({_Q}) THEN TRY_CAST({_Q} AS INTEGER) END"


def _parse_native(x: str, source_type: str, column: Column) -> _Parse | None:
    """Parse a Parquet value already stored in a compatible type, or None to go via text."""
    t = source_type.upper()
    temporal = t == "DATE" or t.startswith("TIMESTAMP")
    numeric = t in _NUMERIC_TYPES or t.startswith("DECIMAL")
    if column.type in ("timestamp", "date") and temporal:
        return _Parse(f"TRY_CAST({x} AS {DUCKDB_TYPES[column.type]})")
    if column.type == "decimal" and numeric:
        return _Parse(f"TRY_CAST({x} AS {DUCKDB_TYPES['decimal']})")
    if column.type == "double" and numeric:
        return _Parse(f"TRY_CAST({x} AS DOUBLE)", f"CASE WHEN isfinite({_Q}) THEN {_Q} END")
    if column.type == "integer" and numeric:
        return _Parse(f"TRY_CAST({x} AS DECIMAL(38, 9))", _WHOLE_TO_INTEGER)
    if column.type == "boolean" and t == "BOOLEAN":
        return _Parse(x)
    return None


def _trimmed(i: int) -> str:
    """File value __o<i> trimmed of TRIM_CHARS, NULL when nothing is left.

    trim() with a character list is several times slower than testing the end characters, and
    almost no values need it, so it only runs when the first (__a<i>) or last (__z<i>)
    character's code point is a candidate. '<= 32' over-approximates the ASCII blanks.
    """
    codes = sorted({ord(c) for c in TRIM_CHARS if ord(c) > 32})
    ends = " OR ".join(
        f"{end}{i} <= 32" + "".join(f" OR {end}{i} = {code}" for code in codes)
        for end in ("__a", "__z")
    )
    o = f"__o{i}"
    return f"NULLIF(CASE WHEN {ends} THEN trim({o}, {_lit(TRIM_CHARS)}) ELSE {o} END, '')"


def _preview(v: str) -> str:
    return (
        f"(CASE WHEN length({v}) > {PREVIEW_CHARS} "
        f"THEN left({v}, {PREVIEW_CHARS - 3}) || '...' ELSE {v} END)"
    )


# ---------------------------------------------------------------------------------------------
# SQL: the whole load


@dataclass(frozen=True)
class _Check:
    """One way a row can fail: a SQL condition (never NULL), its reason and its category."""

    condition: str
    reason: str  # SQL yielding the reason text
    category: str  # reason category, a constant


def _checks(spec: SourceSpec, plan: _Plan, appending: bool = False) -> list[_Check]:
    """The row checks; `appending` adds "key already loaded from another file" (__elsewhere)."""
    checks: list[_Check] = []
    for col in spec.columns:
        if col.name not in plan.matched:
            continue
        v = f"__v{plan.matched[col.name]}"
        if col.required:
            checks.append(
                _Check(f"{v} IS NULL", _lit(f"missing required value: {col.name}"),
                       f"missing {col.name}")
            )  # fmt: skip
        if col.type != "varchar":
            checks.append(
                _Check(
                    f"({v} IS NOT NULL AND {_ident('__p_' + col.name)} IS NULL)",
                    _lit(col.name + ": cannot parse '")
                    + f" || {_preview(v)} || "
                    + _lit("' as " + col.type),
                    f"unparseable {col.name}",
                )
            )
        checks += _value_checks(col, v, plan.main_body_ends.get(col.name))
    if spec.key and spec.key in plan.matched:
        kv = f"__v{plan.matched[spec.key]}"
        checks.append(
            _Check(
                f"({kv} IS NOT NULL AND __first < __row)",
                f"{_lit(f'duplicate {spec.key} (first at row ')} || __first || ')'",
                f"duplicate {spec.key}",
            )
        )
        if appending:
            checks.append(
                _Check(
                    "(__elsewhere IS NOT NULL)",
                    f"{_lit(f'duplicate {spec.key} (already loaded from ')} || __elsewhere || ')'",
                    f"duplicate {spec.key}",
                )
            )
    return checks


def _sql_literal(value: Bound) -> str:
    return f"DATE '{value.isoformat()}'" if isinstance(value, date) else repr(value)


def _value_checks(col: Column, v: str, main_body_end: date | None) -> list[_Check]:
    """The contract's range and domain rules on a parsed value (never on an unparseable one,
    which has its own reason): below min_value, above max_value, outside `allowed`, or an event
    dated after its main body (see _main_body_ends)."""
    p = _ident("__p_" + col.name)
    quoted = _lit(f"{col.name}: '") + f" || {_preview(v)} || "
    out_of_range = f"out-of-range {col.name}"
    checks: list[_Check] = []
    dated = col.type in ("date", "timestamp")
    if col.min_value is not None:
        low = _sql_literal(col.min_value)
        words = "' is before " if dated else "' is below the minimum "
        reason = quoted + _lit(f"{words}{col.min_value}")
        checks.append(_Check(f"coalesce({p} < {low}, false)", reason, out_of_range))
    if col.max_value is not None:
        high = _sql_literal(col.max_value)
        words = "' is after " if dated else "' is above the maximum "
        reason = quoted + _lit(f"{words}{col.max_value}")
        checks.append(_Check(f"coalesce({p} > {high}, false)", reason, out_of_range))
    if col.allowed is not None:
        values = ", ".join(_lit(a) for a in col.allowed)
        checks.append(
            _Check(
                f"coalesce(lower({p}) NOT IN ({values}), false)",
                quoted + _lit(f"' is not one of {', '.join(col.allowed)}"),
                f"not-in-domain {col.name}",
            )
        )
    if main_body_end is not None and main_body_end < date.max - timedelta(FAR_FUTURE_GAP_DAYS):
        limit = main_body_end + timedelta(days=FAR_FUTURE_GAP_DAYS)
        checks.append(
            _Check(
                f"coalesce(CAST({p} AS DATE) > {_sql_literal(limit)}, false)",
                quoted
                + _lit(
                    f"' is more than {FAR_FUTURE_GAP_DAYS} days after the other dates "
                    f"(their main body ends {main_body_end})"
                ),
                f"far-future {col.name}",
            )
        )
    return checks


def _checked_sql(
    spec: SourceSpec,
    reader: str,
    file_columns: list[_FileColumn],
    plan: _Plan,
    appending_file: str | None = None,
) -> str:
    """A query yielding, per file row: __row, __o<i> (original text), __p_<col> (parsed value),
    __first (first row with the same key, keyed sources only), __elsewhere (another file that
    already loaded the key, when appending file `appending_file` to raw.<name>) and __bad.

    Each step is its own CTE so every per-value expression is computed once.
    """
    n = len(file_columns)
    src = [f"{_ident(c.name)} AS __x{i}" for i, c in enumerate(file_columns)]
    ends = ["*"] + [f"CAST(__x{i} AS VARCHAR) AS __o{i}" for i in range(n)]
    ends += [f"ord(CAST(__x{i} AS VARCHAR)) AS __a{i}" for i in range(n)]
    ends += [f"ord(CAST(__x{i} AS VARCHAR)[-1]) AS __z{i}" for i in range(n)]
    val = ["*"] + [f"{_trimmed(i)} AS __v{i}" for i in range(n)]

    first, parsed = ["*"], ["*"]
    for col in spec.columns:
        if col.name not in plan.matched:
            continue
        i = plan.matched[col.name]
        v = f"__v{i}"
        x, x_type = f"__x{i}", file_columns[i].type
        if file_columns[i].zone:  # the wall-clock time in the column's own zone (contract)
            x, x_type = f"timezone({_lit(file_columns[i].zone or '')}, {x})", "TIMESTAMP"
        parse = _parse_native(x, x_type, col) or _parse_text(v, col)
        q = _ident("__q_" + col.name)
        first.append(f"(CASE WHEN {v} IS NOT NULL THEN {parse.first} END) AS {q}")
        parsed.append(f"{parse.finish.replace(_Q, q)} AS {_ident('__p_' + col.name)}")

    # Rows are numbered after parsing: a streaming row_number() keeps file order without
    # materialising, and as a window it stops the optimiser from pushing the __bad filter
    # below the parsing (which would parse every value twice).
    numbered = "SELECT row_number() OVER () AS __row, * FROM parsed"
    if spec.key and spec.key in plan.matched:
        kv = f"__v{plan.matched[spec.key]}"
        numbered = f"SELECT *, min(__row) OVER (PARTITION BY {kv}) AS __first FROM ({numbered})"
        if appending_file is not None:
            # Not this file's own rows: the raw insert runs before the quarantine one, and a
            # changed file's earlier rows were deleted before it was loaded again.
            key = _ident(spec.key)
            loaded = (
                f"SELECT {key} AS __loaded_key, min(_source_file) AS __elsewhere "
                f"FROM {RAW_SCHEMA}.{spec.name} WHERE _source_file <> {_lit(appending_file)} "
                "GROUP BY 1"
            )
            numbered = (
                f"SELECT n.*, l.__elsewhere FROM ({numbered}) n "
                f"LEFT JOIN ({loaded}) l ON l.__loaded_key = n.{kv}"
            )

    checks = _checks(spec, plan, appending=appending_file is not None)
    conditions = [c.condition for c in checks] or ["false"]
    return (
        f"WITH src AS (SELECT {', '.join(src)} FROM {reader}),\n"
        f"ends AS (SELECT {', '.join(ends)} FROM src),\n"
        f"val AS (SELECT {', '.join(val)} FROM ends),\n"
        f"pre AS (SELECT {', '.join(first)} FROM val),\n"
        f"parsed AS (SELECT {', '.join(parsed)} FROM pre),\n"
        f"numbered AS ({numbered})\n"
        f"SELECT *, COALESCE({' OR '.join(conditions)}, false) AS __bad FROM numbered"
    )


def _lineage_sql(source_file: str, run_id: str) -> list[str]:
    return [
        f"{_lit(source_file)} AS _source_file",
        "CAST(__row AS INTEGER) AS _row_number",
        f"{_lit(run_id)} AS _run_id",
    ]


def _raw_select(
    spec: SourceSpec, plan: _Plan, checked: str, source_file: str, run_id: str, privacy: Privacy
) -> str:
    cols = []
    for col in spec.columns:
        duck_type = DUCKDB_TYPES[col.type]
        value = _ident("__p_" + col.name) if col.name in plan.matched else "NULL"
        if col.personal and col.name in plan.matched:
            value = privacy.protect_sql(value, col.personal)
        cols.append(f"CAST({value} AS {duck_type}) AS {_ident(col.name)}")
    cols += _lineage_sql(source_file, run_id)
    # The key's window regroups rows by key; sort back into file order.
    order = " ORDER BY __row" if spec.key else ""
    return f"SELECT {', '.join(cols)} FROM ({checked}) WHERE NOT __bad{order}"


def _quarantine_select(
    spec: SourceSpec,
    plan: _Plan,
    checked: str,
    source_file: str,
    run_id: str,
    privacy: Privacy,
    appending: bool = False,
) -> str:
    """Bad rows only; reason strings are built after the filter, for those rows alone."""
    checks = _checks(spec, plan, appending)

    def joined(parts: list[str]) -> str:
        return f"concat_ws('; ', {', '.join(parts)})" if parts else "NULL::VARCHAR"

    reason = joined([f"CASE WHEN {c.condition} THEN {c.reason} END" for c in checks])
    # One category per row, its first reason's, so category counts add up to the row count.
    whens = " ".join(f"WHEN {c.condition} THEN {_lit(c.category)}" for c in checks)
    category = f"CASE {whens} END" if checks else "NULL::VARCHAR"
    # a rejected row keeps its original text, except personal data, protected as in raw
    cols = [
        f"{privacy.protect_sql(f'__o{i}', plan.personal[i]) if i in plan.personal else f'__o{i}'}"
        f" AS {_ident(name)}"
        for i, name in enumerate(plan.quarantine_names)
    ]
    file_col, row_col, run_col = _lineage_sql(source_file, run_id)
    cols += [file_col, row_col, f"{reason} AS _reason", f"{category} AS _reason_category", run_col]
    order = " ORDER BY __row" if spec.key else ""
    return f"SELECT {', '.join(cols)} FROM ({checked}) WHERE __bad{order}"


def _ensure_schemas(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {QUARANTINE_SCHEMA}")


def _lineage_ddl() -> list[str]:
    return [f"{_ident(c.name)} {DUCKDB_TYPES[c.type]}" for c in LINEAGE_COLUMNS]


def create_empty_tables(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, *, replace: bool = True
) -> None:
    """Typed, empty raw and quarantine tables, so downstream models always find them; with
    replace=False, tables that exist are kept as they are."""
    raw_cols = [f"{_ident(c.name)} {DUCKDB_TYPES[c.type]}" for c in spec.columns] + _lineage_ddl()
    src_file, row_number, run_id = _lineage_ddl()
    q_cols = [f"{_ident(c.name)} VARCHAR" for c in spec.columns]
    q_cols += [src_file, row_number, "_reason VARCHAR", "_reason_category VARCHAR", run_id]
    _ensure_schemas(con)
    create = "CREATE OR REPLACE TABLE" if replace else "CREATE TABLE IF NOT EXISTS"
    con.execute(f"{create} {RAW_SCHEMA}.{spec.name} ({', '.join(raw_cols)})")
    con.execute(f"{create} {QUARANTINE_SCHEMA}.{spec.name} ({', '.join(q_cols)})")


def _count(con: duckdb.DuckDBPyConnection, table_or_reader: str) -> int:
    return int(_fetchall(con, f"SELECT count(*) FROM {table_or_reader}")[0][0])


def _reason_counts(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, source_file: str, run_id: str
) -> dict[str, int]:
    rows = con.execute(
        f"SELECT _reason_category, count(*) FROM {QUARANTINE_SCHEMA}.{spec.name} "
        "WHERE _source_file = ? AND _run_id = ? GROUP BY ALL ORDER BY 2 DESC, 1",
        [source_file, run_id],
    ).fetchall()
    return {str(cat): int(n) for cat, n in rows}


def _add_missing_columns(con: duckdb.DuckDBPyConnection, table: str, select_sql: str) -> None:
    """Quarantine rows keep every column of their file as text; a file with a column the table
    has not seen yet widens the table (earlier rows read NULL there)."""
    have = {r[0] for r in _fetchall(con, f"DESCRIBE {table}")}
    for name, *_ in _fetchall(con, f"DESCRIBE {select_sql}"):
        if name not in have:
            con.execute(f"ALTER TABLE {table} ADD COLUMN {_ident(name)} VARCHAR")


def _insert(con: duckdb.DuckDBPyConnection, table: str, select_sql: str) -> int:
    row = con.execute(f"INSERT INTO {table} BY NAME {select_sql}").fetchone()
    return int(row[0]) if row else 0


def _main_body_ends(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    reader: str,
    file_columns: list[_FileColumn],
    plan: _Plan,
    appending_file: str | None,
) -> dict[str, date]:
    """Per event-time column, the last day of the main body of its dates: the days with rows
    (this file's, and when appending the other files' rows already in raw) are split wherever
    more than FAR_FUTURE_GAP_DAYS pass without one, and the main body is the run of days that
    holds the most rows (the earlier run on a tie). Data-relative, so no clock is read; a later
    day is a typo (2150 for 2015) that must not become the default analysis date."""
    ends: dict[str, date] = {}
    for col in spec.columns:
        if not col.event_time or col.name not in plan.matched:
            continue
        parsed = _checked_sql(spec, reader, file_columns, plan)
        days = f"SELECT CAST({_ident('__p_' + col.name)} AS DATE) AS d FROM ({parsed})"
        if appending_file is not None:
            days += (
                f" UNION ALL SELECT CAST({_ident(col.name)} AS DATE) "
                f"FROM {RAW_SCHEMA}.{spec.name} WHERE _source_file <> {_lit(appending_file)}"
            )
        low = f" AND d >= {_sql_literal(col.min_value)}" if col.min_value is not None else ""
        row = con.execute(
            f"WITH per_day AS (SELECT d, count(*) AS n FROM ({days}) "
            f"WHERE d IS NOT NULL{low} GROUP BY d), "
            f"gaps AS (SELECT d, n, CASE WHEN d - lag(d) OVER (ORDER BY d) "
            f"> {FAR_FUTURE_GAP_DAYS} THEN 1 ELSE 0 END AS brk FROM per_day), "
            "runs AS (SELECT d, n, sum(brk) OVER (ORDER BY d) AS run FROM gaps) "
            "SELECT max(d) FROM runs GROUP BY run ORDER BY sum(n) DESC, run LIMIT 1"
        ).fetchone()
        if row and row[0] is not None:
            ends[col.name] = row[0]
    return ends


def _write_tables(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    reader: str,
    file_columns: list[_FileColumn],
    plan: _Plan,
    path: Path,
    run_id: str,
    privacy: Privacy,
    append: bool,
) -> tuple[int, int, int, dict[str, int]]:
    """Create raw.<name> and quarantine.<name> (or, with append, add the file's rows to them)
    in one transaction; return the counts."""
    appending_file = str(path) if append else None
    raw_table, q_table = f"{RAW_SCHEMA}.{spec.name}", f"{QUARANTINE_SCHEMA}.{spec.name}"
    _ensure_schemas(con)
    if append:
        create_empty_tables(con, spec, replace=False)
    try:
        # Counted on its own, so a row lost or doubled by the split below cannot go unnoticed.
        rows_read = _count(con, reader)
        ends = _main_body_ends(con, spec, reader, file_columns, plan, appending_file)
        plan = dataclasses.replace(plan, main_body_ends=ends)
        checked = _checked_sql(spec, reader, file_columns, plan, appending_file)
        raw_sql = _raw_select(spec, plan, checked, str(path), run_id, privacy)
        q_sql = _quarantine_select(spec, plan, checked, str(path), run_id, privacy, append)
        con.execute("BEGIN TRANSACTION")
        try:
            if append:
                _add_missing_columns(con, q_table, q_sql)
                loaded = _insert(con, raw_table, raw_sql)
                quarantined = _insert(con, q_table, q_sql)
            else:
                con.execute(f"CREATE OR REPLACE TABLE {raw_table} AS {raw_sql}")
                con.execute(f"CREATE OR REPLACE TABLE {q_table} AS {q_sql}")
                loaded, quarantined = _count(con, raw_table), _count(con, q_table)
            if loaded + quarantined != rows_read:
                raise AssertionError(
                    f"{path}: rows read ({rows_read}) != loaded ({loaded}) + quarantined "
                    f"({quarantined})"
                )
            reasons = _reason_counts(con, spec, str(path), run_id)
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    except _READ_ERRORS as err:
        raise SourceError(f"{path}: cannot read the file: {_read_error(err, path)}") from err
    return rows_read, loaded, quarantined, reasons


@dataclass(frozen=True)
class FileFacts:
    """What one pass over a source file tells before it is read as a table."""

    bytes: int
    sha256: str
    encoding: Encoding | None  # CSV only
    mixed_newlines: bool  # CSV whose lines end in CRLF and LF both
    blank_lines: bool = False  # CSV with lines of spaces and tabs only (read as empty lines)


def inspect_file(path: Path) -> FileFacts:
    """Size, sha256, (for CSV) encoding and line facts; SourceError when empty or unreadable
    (a `.csv.gz` that is not gzip or is cut short included)."""
    csv = is_csv(path)
    try:
        size = path.stat().st_size
        if not _has_content(path):
            raise SourceError(f"{path}: the file is empty (no header row)")
        facts = scan(path)
        encoding = detect_encoding(path) if csv else None
        return FileFacts(size, facts.sha256, encoding, facts.mixed_newlines, facts.blank_lines)
    except (OSError, EOFError, zlib.error) as err:
        reason = getattr(err, "strerror", None) or err
        raise SourceError(f"{path}: cannot read the file: {reason}") from err


@contextmanager
def _utc_session(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """The session's time zone is UTC for the load, so nothing read (a Parquet timestamp with a
    zone shown as text in quarantine) depends on the machine's time zone."""
    before = _fetchall(con, "SELECT current_setting('TimeZone')")[0][0]
    con.execute("SET TimeZone = 'UTC'")
    try:
        yield
    finally:
        con.execute(f"SET TimeZone = {_lit(str(before))}")


@contextmanager
def _insertion_order_preserved(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """Row numbers come from row_number() OVER () on the reader, which follows file order only
    while DuckDB preserves insertion order (the default); enforce it for the load."""
    setting = "preserve_insertion_order"
    before = _fetchall(con, f"SELECT current_setting('{setting}')")[0][0]
    if before:
        yield
        return
    con.execute(f"SET {setting} = true")
    try:
        yield
    finally:
        con.execute(f"SET {setting} = false")


# ---------------------------------------------------------------------------------------------
# Public API


def load_source(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    sources_dir: Path,
    run_id: str,
    loaded_at: datetime,
    privacy: Privacy = DEFAULT_PRIVACY,
) -> LoadResult:
    """Load spec's file from sources_dir into raw.<name> and quarantine.<name>.

    Personal columns (SourceSpec, Column.personal) are protected per `privacy` in both tables.

    `loaded_at` is part of the signature so callers pass one clock per run; the timestamp
    itself is recorded by write_load_audit. Raises SourceError for a missing required file or
    column, or a file that cannot be read.
    """
    path = find_source_file(Path(sources_dir), spec)
    if path is None:
        if spec.required_file:
            raise SourceError(
                f"{spec.name}.csv or {spec.name}.parquet is required in {sources_dir}"
            )
        create_empty_tables(con, spec)
        return absent_result(spec.name)

    return load_file(con, spec, path, run_id, privacy)


def absent_result(source: str) -> LoadResult:
    """What loading a source without a file gives: its tables empty, nothing read."""
    return LoadResult(
        source=source, file=None, sha256=None, bytes=None, encoding=None,
        rows_read=0, rows_loaded=0, rows_quarantined=0,
        missing_columns=(), extra_columns=(), status="absent",
    )  # fmt: skip


def load_file(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    path: Path,
    run_id: str,
    privacy: Privacy = DEFAULT_PRIVACY,
    *,
    append: bool = False,
    facts: FileFacts | None = None,
) -> LoadResult:
    """Load one file of spec into raw.<name> and quarantine.<name>: replacing their contents,
    or with append=True adding to them (a key loaded from another file is then a duplicate).

    `facts` is the file's inspect_file() when the caller has it already."""
    facts = facts or inspect_file(path)
    csv = is_csv(path)
    encoding = facts.encoding
    with (
        _insertion_order_preserved(con),
        _utc_session(con),
        tempfile.TemporaryDirectory(prefix="ct-load-") as tmp,
    ):
        read_path = path
        # DuckDB skips a UTF-8 BOM itself (checked), so only GB18030 needs a UTF-8 copy.
        if encoding == "gb18030":
            read_path = transcode_to_utf8(path, encoding, Path(tmp))
        if facts.blank_lines:  # lines of spaces only are read as the empty lines they look like
            read_path = blank_out_whitespace_lines(read_path, Path(tmp) / "blank")
        reader = _csv_reader(read_path) if csv else _parquet_reader(read_path)
        try:
            file_columns = _describe(con, reader, path)
        except SourceError:
            if not facts.mixed_newlines:
                raise
            # DuckDB's sniffer cannot read a file whose lines end in CRLF and LF both: a copy
            # with LF throughout can (a CRLF inside a quoted field becomes LF too). Only then,
            # so a file that reads as it is keeps every byte.
            read_path = transcode_to_utf8(
                path, encoding or "utf-8", Path(tmp) / "lf", unify_newlines=True
            )
            if facts.blank_lines:
                read_path = blank_out_whitespace_lines(read_path, Path(tmp) / "lf-blank")
            reader = _csv_reader(read_path)
            file_columns = _describe(con, reader, path)
        try:
            plan = _plan_columns(spec, file_columns, path)
        except SourceError as err:
            # One column read: usually not missing columns but rows the sniffer could not split.
            if csv and len(file_columns) == 1:
                why = _why_unsplit(con, read_path, file_columns[0].name)
                if why:
                    raise SourceError(f"{err}; {why}") from err
            raise
        rows_read, loaded, quarantined, reasons = _write_tables(
            con, spec, reader, file_columns, plan, path, run_id, privacy, append
        )

    return LoadResult(
        source=spec.name,
        file=str(path),
        sha256=facts.sha256,
        bytes=facts.bytes,
        encoding=encoding,
        rows_read=rows_read,
        rows_loaded=loaded,
        rows_quarantined=quarantined,
        missing_columns=plan.missing,
        extra_columns=plan.extra,
        quarantine_reasons=reasons,
        status="loaded",
    )


_AUDIT_DDL = f"""
CREATE TABLE IF NOT EXISTS {AUDIT_TABLE} (
    run_id VARCHAR,
    source VARCHAR,
    file VARCHAR,
    sha256 VARCHAR,
    bytes BIGINT,
    encoding VARCHAR,
    rows_read BIGINT,
    rows_loaded BIGINT,
    rows_quarantined BIGINT,
    missing_columns VARCHAR[],
    extra_columns VARCHAR[],
    status VARCHAR,
    loaded_at TIMESTAMP,
    quarantine_reasons MAP(VARCHAR, BIGINT),
    note VARCHAR
)"""
# Audit tables from before the column (a duplicate or skipped file's reason).
_AUDIT_MIGRATION = f"ALTER TABLE {AUDIT_TABLE} ADD COLUMN IF NOT EXISTS note VARCHAR"

_AUDIT_COLUMNS = (
    "run_id, source, file, sha256, bytes, encoding, rows_read, rows_loaded, rows_quarantined, "
    "missing_columns, extra_columns, status, loaded_at, quarantine_reasons, note"
)


def write_load_audit(
    con: duckdb.DuckDBPyConnection, results: list[LoadResult], run_id: str, loaded_at: datetime
) -> None:
    """Append one raw.load_audit row per result (table created on first use).

    A timezone-aware loaded_at is stored as UTC (DuckDB converts it on binding).
    """
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    con.execute(_AUDIT_DDL)
    con.execute(_AUDIT_MIGRATION)
    rows = [
        [
            run_id, r.source, r.file, r.sha256, r.bytes, r.encoding,
            r.rows_read, r.rows_loaded, r.rows_quarantined,
            list(r.missing_columns), list(r.extra_columns), r.status, loaded_at,
            dict(r.quarantine_reasons), r.note,
        ]
        for r in results
    ]  # fmt: skip
    if rows:
        placeholders = ", ".join("?" * len(rows[0]))
        con.executemany(
            f"INSERT INTO {AUDIT_TABLE} ({_AUDIT_COLUMNS}) VALUES ({placeholders})", rows
        )
