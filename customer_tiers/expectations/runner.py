"""Run a source's Great Expectations suite against its raw DuckDB table.

Design: GE's SQL datasource, so every metric is an aggregate query computed inside DuckDB;
only a row of counts (plus at most `_SAMPLE` example values) comes back to Python, whatever
the table size. That keeps a 10M-row check fast and its memory bounded by DuckDB, not pandas.

Why it needs a fix (GE issue 11579). GE 1.24 runs a query and reads the rows in two steps:
`SqlAlchemyExecutionEngine.execute_query` runs it inside `with self.engine.connect()` and
returns the still-unread result (sqlalchemy_execution_engine.py:1536 and 1587-1590), and the
caller fetches afterwards (`self.execute_query(...).fetchall()`, line 1081). Leaving the `with`
closes the SQLAlchemy connection, and `Connection.close` rolls the autobegun transaction
back (sqlalchemy/engine/base.py:1304, `self._transaction.close()`). duckdb-engine's DBAPI
"cursor" is not a cursor: `CursorWrapper.__getattr__` forwards `fetchall` to the one
`DuckDBPyConnection` (duckdb_engine/__init__.py:169), whose pending result is the last
statement run on it - now that ROLLBACK, which returns no rows. So every metric reads `[]`.
No pool setting helps: the rollback comes from the transaction, not from the pool's
reset-on-return (which `Connection.close` skips), and NullPool just closes the connection.

The fix: the engine we hand GE (via the datasource's `create_engine` kwargs) makes its
connections with a cursor that reads its whole result at `execute()`, as psycopg2's default
client-side cursor does, so a later ROLLBACK cannot take it away. That is sound because GE
only issues aggregates or `LIMIT`-ed samples here: table assets (a query asset would make
GE's column-reflection fallback run the query unlimited) and the BASIC result format (the
COMPLETE format asks for every unexpected value).

Rejected: GE's pandas datasource over record batches streamed from DuckDB. Uniqueness is not
decomposable per batch (a key duplicated across two batches passes both), so it would need
a global key set or a DuckDB GROUP BY anyway; `mostly` and the counts and percentages would
have to be re-derived from per-batch results, i.e. re-implementing GE's result logic; and
every row still crosses into pandas, which costs more time than the queries themselves.

Also worked around: SQLAlchemy 2.1's PostgreSQL column reflection, which duckdb-engine
inherits, queries `pg_catalog.pg_collation`, which DuckDB lacks. GE then falls back to
`SELECT * FROM <table> LIMIT 1` without the schema, so our connections set DuckDB's
`search_path` to the schema and the asset names the table unqualified.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import duckdb
import great_expectations as gx
import great_expectations.expectations as gxe
import sqlalchemy as sa
from duckdb_engine import ConnectionWrapper
from great_expectations.core import (
    ExpectationSuiteValidationResult,
    ExpectationValidationResult,
)
from great_expectations.data_context import AbstractDataContext
from great_expectations.data_context.types.base import (
    DataContextConfig,
    InMemoryStoreBackendDefaults,
    ProgressBarsConfig,
)
from great_expectations.datasource.fluent import SQLDatasource

from customer_tiers.ingest.sources import LINEAGE_COLUMNS, SOURCES, Bound, Column, SourceSpec

Severity = Literal["error", "warning"]

_GX_SEVERITY: dict[Severity, str] = {"error": "critical", "warning": "warning"}
_SAMPLE = 5  # example unexpected values kept per expectation
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": _SAMPLE}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# --- suite building blocks, shared by the per-source modules ---------------------------------


def error() -> dict[str, Any]:
    """Constructor kwargs for a blocking expectation (a fresh dict, so no meta is shared)."""
    return {"meta": {"severity": "error"}, "severity": _GX_SEVERITY["error"]}


def warning() -> dict[str, Any]:
    """Constructor kwargs for an expectation that is reported but does not block."""
    return {"meta": {"severity": "warning"}, "severity": _GX_SEVERITY["warning"]}


def contract_expectations(spec: SourceSpec) -> list[gxe.Expectation]:
    """The expectations every raw table shares: its columns, required values and key."""
    columns = [*spec.column_names, *(c.name for c in LINEAGE_COLUMNS)]
    expectations: list[gxe.Expectation] = [
        # A missing column breaks the models downstream; an extra one is only news.
        gxe.ExpectTableColumnsToMatchSet(column_set=columns, exact_match=False, **error()),
        gxe.ExpectTableColumnsToMatchSet(column_set=columns, exact_match=True, **warning()),
    ]
    not_null = [*spec.required_columns]
    if spec.key is not None and spec.key not in not_null:
        not_null.append(spec.key)
    expectations += [gxe.ExpectColumnValuesToNotBeNull(column=c, **error()) for c in not_null]
    if spec.key is not None:
        expectations.append(gxe.ExpectColumnValuesToBeUnique(column=spec.key, **error()))
    # The loader quarantines values outside the contract's ranges, so raw never holds one; these
    # guard that promise (a value that slipped through blocks). `allowed` is compared
    # lower-cased by the loader and staging, so it has no exact-match expectation here.
    for c in spec.columns:
        if c.min_value is None and c.max_value is None:
            continue
        bounds = {"min_value": _bound(c, c.min_value), "max_value": _bound(c, c.max_value)}
        expectations.append(gxe.ExpectColumnValuesToBeBetween(column=c.name, **bounds, **error()))
    return expectations


def _bound(column: Column, value: Bound | None) -> Bound | dt.datetime | None:
    """A contract bound as GE compares it with the raw column: a datetime for timestamps."""
    if column.type == "timestamp" and isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    return value


def suite_for(source: str) -> gx.ExpectationSuite:
    """The suite of `source`, built by `expectations.<source>.build_suite()`."""
    if source not in SOURCES:
        raise KeyError(f"unknown source {source!r}; expected one of {sorted(SOURCES)}")
    module = importlib.import_module(f"customer_tiers.expectations.{source}")
    suite: gx.ExpectationSuite = module.build_suite()
    return suite


# --- outcomes ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectationOutcome:
    expectation: str
    column: str | None
    severity: Severity
    success: bool
    unexpected_count: int | None
    unexpected_percent: float | None
    details: str  # short human text


@dataclass(frozen=True)
class SuiteOutcome:
    source: str
    success: bool  # no failed expectation with severity "error"
    outcomes: tuple[ExpectationOutcome, ...]
    elapsed_seconds: float
    # GE's own result, kept so its Data Docs can be rendered later without re-validating
    # (expectations/data_docs.py); not part of the outcome's value.
    validation_result: ExpectationSuiteValidationResult | None = field(
        default=None, compare=False, repr=False
    )

    def failures(self, severity: Severity | None = None) -> list[ExpectationOutcome]:
        return [
            o
            for o in self.outcomes
            if not o.success and (severity is None or o.severity == severity)
        ]


def results_to_rows(outcome: SuiteOutcome, run_id: str) -> list[dict[str, Any]]:
    """One row per expectation, for the validation-results table."""
    return [
        {
            "source": outcome.source,
            "run_id": run_id,
            "expectation": o.expectation,
            "column": o.column,
            "severity": o.severity,
            "success": o.success,
            "unexpected_count": o.unexpected_count,
            "unexpected_percent": o.unexpected_percent,
            "details": o.details,
        }
        for o in outcome.outcomes
    ]


# --- the DuckDB engine GE is given ------------------------------------------------------------


class _BufferedCursor:
    """A DBAPI cursor that holds its own rows, read in full when the statement runs."""

    arraysize = 1

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._rows: list[tuple[Any, ...]] = []
        self._next = 0
        self.description: Any = None

    def execute(self, statement: str, parameters: Any = None, context: Any = None) -> None:
        self._forget()
        self._inner.execute(statement, parameters, context)
        self.description = self._inner.description
        if self.description is not None:
            self._rows = self._inner.fetchall()

    def executemany(self, statement: str, parameters: Any = None, context: Any = None) -> None:
        self._forget()
        self._inner.executemany(statement, parameters, context)

    def fetchone(self) -> tuple[Any, ...] | None:
        rows = self.fetchmany(1)
        return rows[0] if rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        end = self._next + (self.arraysize if size is None else size)
        rows = self._rows[self._next : end]
        self._next += len(rows)
        return rows

    def fetchall(self) -> list[tuple[Any, ...]]:
        rows = self._rows[self._next :]
        self._next = len(self._rows)
        return rows

    def close(self) -> None:
        self._forget()

    def _forget(self) -> None:
        self._rows, self._next, self.description = [], 0, None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class _BufferedConnection(ConnectionWrapper):
    def cursor(self) -> Any:
        return _BufferedCursor(super().cursor())


def _connect(db_path: Path, schema: str) -> _BufferedConnection:
    connection = duckdb.connect(str(db_path))
    try:
        # `schema` is checked against _IDENTIFIER by the caller.
        connection.execute(f"SET search_path = '{schema}'")
    except Exception:
        connection.close()
        raise
    return _BufferedConnection(connection)


def _engine_kwargs(db_path: Path, schema: str) -> dict[str, Any]:
    # StaticPool: one DuckDB connection per engine, reused by every query and closed by
    # dispose(); reopening the file per query would cost a checkpoint each time.
    return {"creator": lambda: _connect(db_path, schema), "poolclass": sa.pool.StaticPool}


def offline_context() -> AbstractDataContext:
    """An ephemeral GE context: in-memory stores, no analytics, no progress bars."""
    os.environ["GX_ANALYTICS_ENABLED"] = "false"
    return gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
        ),
    )


@contextmanager
def _duckdb_datasource(db_path: Path, schema: str) -> Iterator[SQLDatasource]:
    """An offline GE context with a DuckDB datasource; all connections closed on exit."""
    if not _IDENTIFIER.fullmatch(schema):
        raise ValueError(f"schema must be a plain identifier, got {schema!r}")
    context = offline_context()
    datasource = context.data_sources.add_sql(
        name=f"duckdb_{schema}",
        connection_string=f"duckdb:///{db_path}",
        kwargs=_engine_kwargs(db_path, schema),
    )
    try:
        yield datasource
    finally:
        # The datasource (asset probes) and its execution engine (metrics) each built
        # an engine; both hold an open DuckDB connection, and with it the file lock.
        datasource.get_execution_engine().close()
        datasource.get_engine().dispose()


# --- validation -------------------------------------------------------------------------------


def validate_source(db_path: Path, source: str, *, schema: str = "raw") -> SuiteOutcome:
    """Validate `<schema>.<source>` in the DuckDB file against the source's suite.

    Every connection is closed before this returns, so another process can open the file.
    """
    suite = suite_for(source)
    started = time.perf_counter()
    with _duckdb_datasource(Path(db_path), schema) as datasource:
        asset = datasource.add_table_asset(name=source, table_name=source)
        batch = asset.add_batch_definition_whole_table("whole_table").get_batch()
        result = batch.validate(suite, result_format=RESULT_FORMAT)
    return suite_outcome(source, result, started)


def suite_outcome(
    source: str, result: ExpectationSuiteValidationResult, started: float
) -> SuiteOutcome:
    """The outcome of a suite validated since `started` (time.perf_counter()), on any engine:
    it fails when an expectation of severity "error" failed."""
    outcomes = outcomes_of(result)
    return SuiteOutcome(
        source=source,
        success=not any(o.severity == "error" and not o.success for o in outcomes),
        outcomes=outcomes,
        elapsed_seconds=time.perf_counter() - started,
        validation_result=result,
    )


def outcomes_of(result: ExpectationSuiteValidationResult) -> tuple[ExpectationOutcome, ...]:
    """One outcome per expectation of a GE suite result (also one read back from a store)."""
    return tuple(_outcome(r) for r in result.results)


def _outcome(result: ExpectationValidationResult) -> ExpectationOutcome:
    config = result.expectation_config
    if config is None:
        raise ValueError("validation result without its expectation configuration")
    meta = config.meta or {}
    # Anything not tagged "warning" blocks: an untagged expectation must not slip through.
    severity: Severity = "warning" if meta.get("severity") == "warning" else "error"
    details = result.result or {}
    count = details.get("unexpected_count")
    percent = details.get("unexpected_percent")
    return ExpectationOutcome(
        expectation=config.type,
        column=config.kwargs.get("column"),
        severity=severity,
        success=bool(result.success),
        unexpected_count=None if count is None else int(count),
        unexpected_percent=None if percent is None else float(percent),
        details=_describe(result, config.kwargs, details),
    )


def _describe(
    result: ExpectationValidationResult, kwargs: dict[str, Any], details: dict[str, Any]
) -> str:
    error_message = _error_message(result.exception_info or {})
    if error_message is not None:
        return f"could not be evaluated: {error_message}"
    if "column_set" in kwargs:
        mismatched = (details.get("details") or {}).get("mismatched") or {}
        if not mismatched:
            return "columns match the contract"
        missing, extra = mismatched.get("missing", []), mismatched.get("unexpected", [])
        return f"missing {missing}; unexpected {extra}"
    if "unexpected_count" in details:
        return _describe_unexpected(details)
    if "observed_value" in details:
        return f"observed {details['observed_value']}"
    return "passed" if result.success else "failed"


def _describe_unexpected(details: dict[str, Any]) -> str:
    count, percent = details["unexpected_count"], details.get("unexpected_percent")
    rows = details.get("element_count") or 0
    if count is None or percent is None or rows == 0:
        return "no values to check"
    # GE's unexpected_percent is over non-null values, except for the not-null check.
    missing = details.get("missing_count")
    checked = f"{rows - missing} non-null values" if missing is not None else f"{rows} rows"
    text = f"{count} of {checked} unexpected ({float(percent):.2f}%)"
    sample = details.get("partial_unexpected_list") or []
    return f"{text}; e.g. {[str(v) for v in sample]}" if sample else text


def _error_message(info: dict[str, Any]) -> str | None:
    # GE reports an error either flat or keyed by the id of each metric that failed.
    for entry in (info, *(v for v in info.values() if isinstance(v, dict))):
        if entry.get("raised_exception"):
            message = str(entry.get("exception_message") or "unknown error")
            return (message.splitlines() or [message])[0]
    return None
