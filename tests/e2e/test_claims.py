"""README claims held by a test each (issue 21 item 10).

- a failing dbt test: exit 1, nothing published (the published file byte-equal);
- a second `tiers run` on a warehouse being built is refused (exit 2), touching nothing;
- personal data: no table holds a name, phone or email in clear (mask, the default); in hash
  mode no table, log, report or dbt artifact holds them or the salt, and without the salt the
  run exits 2 before touching anything;
- `tiers backfill` from the command line: a rerun replaces each date's rows, and dates after
  the latest order are flagged.

Pipeline runs are what costs here: every test starts from a copy of the session's demo run,
the refusals stop before any build, and the failing dbt test stops in the first dbt build.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from customer_tiers.orchestration.cli import main
from customer_tiers.orchestration.errors import EXIT_CHECK_FAILED, EXIT_OK, EXIT_USAGE
from tests.conftest import query, write_csv

SALT_ENV = "TIERS_PII_SALT"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _listing(folder: Path, but: str = "") -> dict[str, tuple[int, int]]:
    """Every file under `folder` (but the one named `but`) with its size and modification
    time."""
    return {
        str(path.relative_to(folder)): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != but
    }


@pytest.fixture
def demo_copy(demo_run: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """(the demo sources, a copy of the demo warehouse alone in a folder of its own)."""
    sources, published = demo_run
    warehouse = tmp_path / "published" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(published, warehouse)
    return sources, warehouse


# --- a failing dbt test --------------------------------------------------------------------


def test_failing_dbt_test_exits_1_and_publishes_nothing(
    demo_copy: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The sources pass every source check, but the incremental staging table the run builds
    on already holds one feedback item twice (as after a hand edit of the warehouse): the
    run's dbt `unique` test on stg_shop__feedback.feedback_id fails. Exit 1, and the published
    file is byte-equal."""
    sources, warehouse = demo_copy
    con = duckdb.connect(str(warehouse))
    try:
        [(feedback_id,)] = con.execute(
            "select min(feedback_id) from staging.stg_shop__feedback"
        ).fetchall()
        # the same load (_source_file, _run_id) as the original row, so the incremental model
        # keeps it: it only adds loads it has not seen and deletes loads raw no longer has
        con.execute(
            "insert into staging.stg_shop__feedback "
            "select * from staging.stg_shop__feedback where feedback_id = ?",
            [feedback_id],
        )
        con.execute("checkpoint")
    finally:
        con.close()
    before = _sha256(warehouse)
    mtime = warehouse.stat().st_mtime_ns

    code = main(["run", "--sources", str(sources), "--warehouse", str(warehouse)])

    captured = capsys.readouterr()
    assert code == EXIT_CHECK_FAILED
    assert "unique_stg_shop__feedback_feedback_id" in captured.err
    assert f"nothing was published; {warehouse} is unchanged" in captured.err
    assert captured.out == ""  # no summary: nothing was published
    assert (_sha256(warehouse), warehouse.stat().st_mtime_ns) == (before, mtime)


# --- a second run on a warehouse being built -----------------------------------------------


def test_second_run_on_a_warehouse_being_built_is_refused(
    demo_copy: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The test holds the lock a run holds while it builds; `tiers run` exits 2 naming the
    warehouse and the lock, and changes nothing else (no work copy, no report): the refused
    run only opened the lock file to try it."""
    sources, warehouse = demo_copy
    lock_path = warehouse.with_name(warehouse.name + ".lock")
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        before = _listing(warehouse.parent, but=lock_path.name)
        code = main(["run", "--sources", str(sources), "--warehouse", str(warehouse)])
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"error: another run is building {warehouse} (lock {lock_path})" in err
    assert _listing(warehouse.parent, but=lock_path.name) == before
    assert not warehouse.with_name(warehouse.name + ".building").exists()


# --- personal data ---------------------------------------------------------------------------


def _text_columns(con: duckdb.DuckDBPyConnection) -> list[tuple[str, str, str]]:
    """(schema, table, column) of every column of the attached warehouse `w` that holds text,
    nested types included."""
    return con.execute(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_catalog = 'w' and (data_type like '%VARCHAR%' or data_type like 'STRUCT%' "
        "or data_type like 'MAP%' or data_type like '%[]') order by all"
    ).fetchall()


def _found_in_tables(warehouse: Path, needles: list[str]) -> list[tuple[str, str]]:
    """(schema.table.column, needle) for every needle found inside a text value of any table."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{warehouse}' as w (read_only)")
        con.execute("create temp table needles (v varchar)")
        con.executemany("insert into needles values (?)", [[n] for n in needles])
        found: list[tuple[str, str]] = []
        for schema, table, column in _text_columns(con):
            rows = con.execute(
                f'select distinct n.v from w."{schema}"."{table}" as t join needles as n '
                f'on contains(cast(t."{column}" as varchar), n.v)'
            ).fetchall()
            found += [(f"{schema}.{table}.{column}", v) for (v,) in rows]
        return found
    finally:
        con.close()


def test_no_table_holds_personal_data_in_clear(demo_run: tuple[Path, Path]) -> None:
    """Mask mode (the default): none of the 300 demo customers' names, phones and emails is
    found inside any text value of any table (raw, quarantine, staging, marts, ...), while the
    masked forms of the README are there: 18212775041 -> *******5041."""
    sources, warehouse = demo_run
    with (sources / "customers.csv").open(newline="", encoding="utf-8") as fh:
        customers = list(csv.DictReader(fh))
    clear = sorted({c[key] for c in customers for key in ("name", "phone", "email") if c[key]})
    assert len(clear) > 600  # most of the 900 values are distinct
    assert _found_in_tables(warehouse, clear) == []
    masked = dict(query(warehouse, "select customer_id, phone from raw.customers"))
    phones = [(c["customer_id"], c["phone"]) for c in customers if c["phone"]]
    assert len(phones) > 200
    for customer_id, phone in phones:
        assert masked[customer_id] == "*" * (len(phone) - 4) + phone[-4:]


SALT = "pepper-issue21-7d1c2e"
PEOPLE = [  # customer_id, name, phone, email: hashed after normalising (digits, lower case)
    ["c1", "周测试", "139-1234-0077", " Zhou.Test@Example.ORG "],
    ["c2", "吴测试", "13700001111", "wu.test@example.org"],
    ["c2", "郑重复", "13655556666", "dup.row@example.org"],  # a repeated key: quarantined
]


def _hashed(value: str) -> str:
    """README: sha256 of the salt and the normalised value (computed here, not by the code)."""
    return hashlib.sha256(f"{SALT}:{value}".encode()).hexdigest()


def _hash_mode_sources(folder: Path) -> tuple[Path, Path]:
    sources = folder / "sources"
    write_csv(
        sources / "customers.csv",
        ["customer_id", "name", "phone", "email", "signup_date"],
        [[*person, "2025-01-02"] for person in PEOPLE],
    )
    write_csv(
        sources / "orders.csv",
        ["order_id", "customer_id", "ordered_at", "amount"],
        [
            ["o1", "c1", "2025-02-01", "120.00"],
            ["o2", "c1", "2025-03-01", "80.00"],
            ["o3", "c2", "2025-03-15", "45.50"],
        ],
    )
    config = folder / "hash.yml"
    config.write_text(
        f"privacy:\n  personal_data: hash\n  salt_env: {SALT_ENV}\n"
        # one customer row of three is quarantined on purpose, over the default gate of 1%
        "quality:\n  max_quarantined_share:\n    customers: 0.5\n",
        "utf-8",
    )
    return sources, config


def _files_written_since(folder: Path, since_ns: int) -> list[Path]:
    if not folder.is_dir():
        return []
    return [p for p in folder.rglob("*") if p.is_file() and p.stat().st_mtime_ns >= since_ns]


def test_hash_mode_leaves_no_personal_data_or_salt_in_clear(tmp_path: Path) -> None:
    """A `tiers run` in hash mode: the hashes are the README's (derived here with hashlib), no
    table holds a clear value, and neither the salt nor a clear value is in the run's output,
    the reports and Data Docs beside the warehouse, or dbt's compiled SQL, logs and artifacts
    of the run."""
    from customer_tiers.orchestration.config import DBT_PROJECT_DIR

    sources, config = _hash_mode_sources(tmp_path)
    warehouse = tmp_path / "out" / "warehouse.duckdb"
    started = time.time_ns() - 2_000_000_000  # file times may be coarser than the clock
    tiers = Path(sys.executable).with_name("tiers")
    options = ["--config", str(config), "--as-of", "2025-03-31"]
    run = subprocess.run(
        [str(tiers), "run", "--sources", str(sources), "--warehouse", str(warehouse), *options],
        capture_output=True,
        text=True,
        env={**os.environ, SALT_ENV: SALT},
        timeout=600,
        check=False,
    )
    assert run.returncode == EXIT_OK, run.stderr[-3000:]

    assert query(
        warehouse, "select customer_id, name, phone, email from raw.customers order by 1"
    ) == [
        ("c1", _hashed("周测试"), _hashed("13912340077"), _hashed("zhou.test@example.org")),
        ("c2", _hashed("吴测试"), _hashed("13700001111"), _hashed("wu.test@example.org")),
    ]
    # the rejected duplicate keeps its other columns' text, the three protected the same way
    assert query(warehouse, "select customer_id, name, phone, email from quarantine.customers") == [
        ("c2", _hashed("郑重复"), _hashed("13655556666"), _hashed("dup.row@example.org"))
    ]

    clear = [value.strip() for person in PEOPLE for value in person[1:]]
    clear += ["13912340077", "zhou.test@example.org"]  # the normalised spellings too
    assert _found_in_tables(warehouse, [*clear, SALT]) == []

    target = DBT_PROJECT_DIR / os.environ.get("DBT_TARGET_PATH", "target")
    written = [
        *_files_written_since(warehouse.parent, started),
        *_files_written_since(target, started),
        *_files_written_since(DBT_PROJECT_DIR / "logs", started),
    ]
    assert any(p.suffix == ".sql" for p in written)  # dbt compiled this run's models there
    leaks = [
        (str(path), needle)
        for path in written
        if path != warehouse  # its tables are checked above (DuckDB compresses text)
        for needle in (*clear, SALT)
        if needle.encode() in path.read_bytes()
    ]
    leaks += [(stream, n) for stream in ("stdout", "stderr") for n in (*clear, SALT)
              if n in getattr(run, stream)]  # fmt: skip
    assert leaks == []


def test_hash_mode_without_the_salt_exits_2_before_touching_anything(
    demo_copy: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    sources, warehouse = demo_copy
    _, config = _hash_mode_sources(tmp_path / "hash")
    monkeypatch.delenv(SALT_ENV, raising=False)
    before = _listing(warehouse.parent), _listing(sources)
    code = main(
        ["run", "--sources", str(sources), "--warehouse", str(warehouse), "--config", str(config)]
    )
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert f"privacy.personal_data is 'hash' but the salt variable {SALT_ENV} is not set" in err
    assert (_listing(warehouse.parent), _listing(sources)) == before


# --- backfill from the command line ----------------------------------------------------------


def test_backfill_from_the_command_line_replaces_dates_and_flags_those_after_the_orders(
    demo_copy: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """`tiers backfill --from A --to A+1 --every week` on the demo warehouse, whose history
    already holds A (the day of the latest order): A is run again and replaces its rows (same
    customers, same tiers, nothing doubled); A+1 is after the latest order and is flagged
    (with time.max_days_after_latest_order 0 instead of the default 7 days of grace, so that
    two runs show it)."""
    sources, warehouse = demo_copy
    config = warehouse.parent.parent / "no_grace.yml"
    config.write_text("time:\n  max_days_after_latest_order: 0\n", "utf-8")
    [(latest,)] = query(warehouse, "select max(cast(ordered_at as date)) from raw.orders")
    history = "select as_of, customer_id, tier from marts.tier_history order by all"
    before = query(warehouse, history)
    assert {as_of for as_of, *_ in before} == {latest}
    after_latest = latest + timedelta(days=1)
    dates = ["--from", str(latest), "--to", str(after_latest), "--every", "week"]
    dates += ["--config", str(config)]

    code = main(["backfill", "--sources", str(sources), "--warehouse", str(warehouse), *dates])

    captured = capsys.readouterr()
    assert code == EXIT_OK, captured.err[-3000:]
    notes = [line for line in captured.err.splitlines() if line.startswith("note: ")]
    assert len(notes) == 1, notes
    assert f"days after the latest order ({latest}): {after_latest};" in notes[0]
    assert f"[1/2] as of {latest} ... ok" in captured.err
    assert f"[2/2] as of {after_latest} ... ok" in captured.err
    rows = query(warehouse, history)
    assert [row for row in rows if row[0] == latest] == before  # replaced, not added to
    assert len([row for row in rows if row[0] == after_latest]) == len(before)
    [(pairs,)] = query(
        warehouse, "select count(distinct (from_as_of, to_as_of)) from marts.tier_migration"
    )
    assert pairs == 1
