"""docs/bi.md, reading the warehouse from a BI tool, stays true.

Every ```sql block of the page is an example query, labelled by the mart it is for
(**`mart`**: question). Each runs against the demo warehouse with two analysis dates and a
holdout (the shared `demo_history`, so every mart has rows, tier_migration and
clv_holdout_validation included),
through the page's SQLAlchemy pattern, and on the Parquet views the page builds over a
`tiers export`, with the same answers; every table of schema `marts` needs an example. The
page's Python snippets are run as written, in a folder laid out like `make run`'s
(`var/warehouse.duckdb`, `var/export/`), on copies: nothing here writes the shared demo run.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlalchemy as sa

from customer_tiers.orchestration.export import export_marts

PAGE = Path(__file__).resolve().parents[2] / "docs" / "bi.md"
FENCE = re.compile(r"^```(?P<lang>\w*)\n(?P<body>.*?)^```$", re.MULTILINE | re.DOTALL)
EXAMPLE = re.compile(
    r"^\*\*`(?P<mart>[a-z0-9_]+)`\*\*: (?P<question>[^\n]+)\n\n```sql\n(?P<sql>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)
UPPER_KEYWORD = re.compile(
    r"\b(SELECT|FROM|WHERE|GROUP|ORDER|BY|JOIN|ON|AS|AND|OR|NOT|IN|LIMIT|WITH|QUALIFY|OVER"
    r"|FILTER|CASE|WHEN|THEN|ELSE|END|NULLS|DESC|ASC|DISTINCT|HAVING)\b"
)
PROBE = "create table main.readme_probe (x integer)"

Rows = list[tuple[Any, ...]]


@dataclass(frozen=True)
class Example:
    mart: str
    question: str
    sql: str


def section() -> str:
    """The whole page: its snippets and example queries."""
    return PAGE.read_text(encoding="utf-8")


def blocks(lang: str) -> list[str]:
    return [m["body"] for m in FENCE.finditer(section()) if m["lang"] == lang]


def examples() -> list[Example]:
    return [Example(m["mart"], m["question"], m["sql"]) for m in EXAMPLE.finditer(section())]


def python_block(marker: str, *, unless: str | None = None) -> str:
    """The one Python snippet of the page containing `marker` (and not `unless`)."""
    found = [
        code
        for code in blocks("python")
        if marker in code and (unless is None or unless not in code)
    ]
    assert len(found) == 1, f"expected one Python snippet with {marker!r}, found {len(found)}"
    return found[0]


def run_snippet(code: str) -> dict[str, Any]:
    """Run a snippet of the page as written (in the current folder); its variables come back."""
    namespace: dict[str, Any] = {"__name__": "readme_snippet"}
    exec(compile(code, "docs/bi.md", "exec"), namespace)
    return namespace


def assert_same_rows(actual: Sequence[Sequence[Any]], expected: Rows, label: str) -> None:
    """Equal rows in the same order; floats equal to 1e-9 (sums may add up in another order)."""
    assert len(actual) == len(expected), f"{label}: {len(actual)} rows, expected {len(expected)}"
    for number, (row, want) in enumerate(zip(actual, expected, strict=True), start=1):
        got = tuple(row)
        assert len(got) == len(want), f"{label}, row {number}: {got} != {want}"
        for a, b in zip(got, want, strict=True):
            if isinstance(a, float) and isinstance(b, float):
                same = math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
            else:
                same = a == b and type(a) is type(b)
            assert same, f"{label}, row {number}: {got} != {want}"


def marts_of(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'"
        ).fetchall()
    }


EXAMPLES = examples()


@pytest.fixture(scope="module")
def file_results(demo_history: tuple[Path, Path]) -> list[Rows]:
    """Each example's rows on the demo warehouse with history, opened read-only."""
    con = duckdb.connect(str(demo_history[1]), read_only=True)
    try:
        return [con.execute(example.sql).fetchall() for example in EXAMPLES]
    finally:
        con.close()


@pytest.fixture(scope="module")
def bi_folder(demo_history: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder like `make run` leaves: a copy of the demo warehouse and its Parquet export."""
    root = tmp_path_factory.mktemp("bi")
    (root / "var").mkdir()
    shutil.copyfile(demo_history[1], root / "var" / "warehouse.duckdb")
    export_marts(demo_history[1], root / "var" / "export", "parquet")
    return root


def test_every_sql_block_is_a_labelled_example() -> None:
    assert EXAMPLES, "no example queries found in docs/bi.md"
    assert len(blocks("sql")) == len(EXAMPLES), (
        "every ```sql block of docs/bi.md needs a line **`<mart>`**: <question> before it"
    )
    for example in EXAMPLES:
        assert f"marts.{example.mart}" in example.sql, f"{example.mart}: the query never reads it"
        assert not re.search(r"^\s*,", example.sql, re.MULTILINE), f"{example.mart}: commas trail"
        assert not UPPER_KEYWORD.search(example.sql), f"{example.mart}: keywords in lower case"


def test_every_mart_has_an_example(demo_history: tuple[Path, Path]) -> None:
    con = duckdb.connect(str(demo_history[1]), read_only=True)
    try:
        marts = marts_of(con)
    finally:
        con.close()
    covered = {example.mart for example in EXAMPLES}
    assert not marts - covered, f"marts without an example query in docs/bi.md: {marts - covered}"
    assert not covered - marts, f"examples for tables not in schema marts: {covered - marts}"


@pytest.mark.parametrize("index", range(len(EXAMPLES)), ids=[e.mart for e in EXAMPLES])
def test_example_runs_on_the_published_file(index: int, file_results: list[Rows]) -> None:
    example = EXAMPLES[index]
    # every example finds rows, so the comparisons below never compare empty with empty
    assert file_results[index], f"{example.mart}: {example.question} found no rows"


def test_duckdb_snippet_opens_read_only(bi_folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(bi_folder)
    namespace = run_snippet(python_block("duckdb.connect(", unless="read_parquet"))
    con: duckdb.DuckDBPyConnection = namespace["con"]
    try:
        with pytest.raises(duckdb.Error, match="read-only"):
            con.execute(PROBE)
    finally:
        con.close()


def test_sqlalchemy_snippet_is_read_only_and_agrees(
    bi_folder: Path, monkeypatch: pytest.MonkeyPatch, file_results: list[Rows]
) -> None:
    monkeypatch.chdir(bi_folder)
    namespace = run_snippet(python_block("create_engine("))
    engine: sa.Engine = namespace["engine"]
    try:
        with engine.connect() as conn:
            customers = conn.execute(sa.text("select count(*) from marts.customer_tiers"))
            assert len(namespace["tiers"]) == customers.scalar_one() > 0
            with pytest.raises(sa.exc.DBAPIError, match="read-only"):
                conn.execute(sa.text(PROBE))
        with engine.connect() as conn:
            for example, expected in zip(EXAMPLES, file_results, strict=True):
                rows = conn.execute(sa.text(example.sql)).all()
                assert_same_rows(rows, expected, f"{example.mart} through SQLAlchemy")
    finally:
        engine.dispose()


def test_parquet_views_give_the_same_answers(
    bi_folder: Path, monkeypatch: pytest.MonkeyPatch, file_results: list[Rows]
) -> None:
    monkeypatch.chdir(bi_folder)
    namespace = run_snippet(python_block("read_parquet"))
    con: duckdb.DuckDBPyConnection = namespace["con"]
    try:
        published = duckdb.connect(str(bi_folder / "var" / "warehouse.duckdb"), read_only=True)
        try:
            assert marts_of(con) == marts_of(published)
        finally:
            published.close()
        for example, expected in zip(EXAMPLES, file_results, strict=True):
            rows = con.execute(example.sql).fetchall()
            assert_same_rows(rows, expected, f"{example.mart} on the Parquet export")
    finally:
        con.close()


def _publish_without(warehouse: Path, customers: int) -> None:
    """What a run does, in small: build a changed copy, then rename it over the file."""
    building = warehouse.with_name(warehouse.name + ".building")
    shutil.copyfile(warehouse, building)
    con = duckdb.connect(str(building))
    try:
        con.execute(
            "delete from marts.customer_tiers where customer_id in "
            f"(select customer_id from marts.customer_tiers order by customer_id limit {customers})"
        )
    finally:
        con.close()
    os.replace(building, warehouse)


def test_a_new_run_is_seen_after_reopening(
    demo_run: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the data changes: an open connection keeps its version until every connection to
    the file in the process is closed; the page's NullPool engine sees a run on its next
    connect."""
    warehouse = tmp_path / "var" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(demo_run[1], warehouse)
    count = "select count(*) from marts.customer_tiers"

    def customers(con: duckdb.DuckDBPyConnection) -> int:
        return int(con.execute(count).fetchall()[0][0])

    held = duckdb.connect(str(warehouse), read_only=True)
    before = customers(held)
    _publish_without(warehouse, 5)
    reopened = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert customers(held) == before  # the old file, still open
        assert customers(reopened) == before  # the same process hands out the open version
    finally:
        reopened.close()
        held.close()
    fresh = duckdb.connect(str(warehouse), read_only=True)
    try:
        assert customers(fresh) == before - 5
    finally:
        fresh.close()

    monkeypatch.chdir(tmp_path)
    engine: sa.Engine = run_snippet(python_block("create_engine("))["engine"]
    try:
        _publish_without(warehouse, 5)
        with engine.connect() as conn:
            assert conn.execute(sa.text(count)).scalar_one() == before - 10
    finally:
        engine.dispose()
