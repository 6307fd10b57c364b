"""`tiers run --engine spark` without Spark: what a failure leaves behind, the assignment history's
replace / commit / rollback, and the Parquet export's swap, with fakes for the Spark session.
The real run on Spark is tests/e2e/test_spark.py."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from customer_tiers.assignment.runs import HISTORY_SCHEMA
from customer_tiers.ingest.demo_data import write_demo_data
from customer_tiers.orchestration import spark_engine
from customer_tiers.orchestration.cli import main
from customer_tiers.orchestration.engine_spark import (
    AssignmentHistory,
    SparkEngine,
    default_marts_out,
)
from customer_tiers.orchestration.errors import EXIT_CHECK_FAILED, EXIT_USAGE
from customer_tiers.orchestration.spark_engine import swap_in, write_marts


class FakeSpark:
    """Records the SQL it is given; `tables` answers `show tables`, `fail_on` fails a write."""

    def __init__(self, tables: list[str] | None = None, fail_on: str | None = None) -> None:
        self.statements: list[str] = []
        self.stopped = False
        self.tables = tables or []
        self.fail_on = fail_on
        self.catalog = SimpleNamespace(refreshTable=self.statements.append)

    def sql(self, text: str) -> Any:
        self.statements.append(text)
        rows = [SimpleNamespace(tableName=t, isTemporary=False) for t in self.tables]
        rows.append(SimpleNamespace(tableName="tier_history__dbt_tmp", isTemporary=True))
        return SimpleNamespace(collect=lambda: rows)

    def table(self, name: str) -> Any:
        def parquet(path: str) -> None:
            if self.fail_on and self.fail_on in name:
                raise RuntimeError(f"writing {name} failed")
            Path(path).mkdir(parents=True)
            (Path(path) / "part-0.parquet").write_bytes(b"new")

        return SimpleNamespace(write=SimpleNamespace(parquet=parquet))

    def stop(self) -> None:
        self.stopped = True


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.fixture
def previous_marts(tmp_path: Path) -> Path:
    """The Parquet copy an earlier run published, beside the warehouse."""
    marts = tmp_path / "warehouse_marts"
    for mart in ("customer_rfm", "customers"):
        (marts / mart).mkdir(parents=True)
        (marts / mart / "part-0.parquet").write_bytes(f"old {mart}".encode())
    return marts


def test_a_failed_spark_run_publishes_nothing(
    tmp_path: Path,
    previous_marts: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The one job on the Spark engine, failing once the sources are loaded: the Parquet copy
    and the warehouse stay as they were, the session is stopped, and the assignment file an
    earlier unpublished run replaced is put back."""
    sources = tmp_path / "sources"
    write_demo_data(sources, customers=40, seed=3)
    history = AssignmentHistory(tmp_path / "spark" / "assignments" / "account_assignment_history")
    history.folder.mkdir(parents=True)
    (history.folder / ".2026-06-30.parquet.replaced").write_bytes(b"june")
    stopped: list[bool] = []

    def landing_fails(*_: Any) -> None:
        raise RuntimeError("landing failed: no space left")

    monkeypatch.setenv("TIERS_SPARK_DIR", str(tmp_path / "spark"))
    monkeypatch.setattr(SparkEngine, "check_available", lambda self: None)
    monkeypatch.setattr(SparkEngine, "sources_loaded", landing_fails)
    monkeypatch.setattr(spark_engine, "stop_session", lambda: stopped.append(True))
    before = snapshot(previous_marts)
    warehouse = tmp_path / "warehouse.duckdb"

    code = main(
        ["run", "--engine", "spark", "--sources", str(sources), "--warehouse", str(warehouse)]
    )

    assert code == EXIT_CHECK_FAILED
    err = capsys.readouterr().err
    assert "step raw_sources failed: RuntimeError: landing failed: no space left" in err
    assert "nothing was published" in err
    assert snapshot(previous_marts) == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("warehouse_marts")) == [
        "warehouse_marts"
    ]
    assert not warehouse.exists()  # the loaded sources stay in the work copy, unpublished
    assert stopped == [True]
    assert [p.name for p in history.folder.iterdir()] == ["2026-06-30.parquet"]
    assert history.path(JUNE).read_bytes() == b"june"


def test_missing_java_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(spark_engine, "java_available", lambda: False)
    warehouse = tmp_path / "warehouse.duckdb"
    code = main(
        ["run", "--engine", "spark", "--sources", str(tmp_path), "--warehouse", str(warehouse)]
    )
    assert code == EXIT_USAGE
    err = capsys.readouterr().err
    assert "Java 17" in err or "pip install -c requirements.lock '.[spark]'" in err
    assert not warehouse.exists()


def test_spark_options_need_the_spark_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["run", "--sources", str(tmp_path), "--warehouse", str(tmp_path / "w.duckdb")]
    assert main([*args, "--marts-out", str(tmp_path / "m")]) == EXIT_USAGE
    assert "--marts-out: options of --engine spark" in capsys.readouterr().err
    assert main([*args, "--spark-master", "spark://h:7077"]) == EXIT_USAGE
    assert "--spark-master: options of --engine spark" in capsys.readouterr().err


def test_default_parquet_copy_is_beside_the_warehouse() -> None:
    assert default_marts_out(Path("/data/shop.duckdb")) == Path("/data/shop_marts")


def test_a_failed_export_keeps_the_previous_set(tmp_path: Path, previous_marts: Path) -> None:
    before = snapshot(previous_marts)
    spark = FakeSpark(tables=["customer_rfm", "customers"], fail_on="customers")
    building = tmp_path / "warehouse_marts.building"
    with pytest.raises(RuntimeError, match="writing"):
        write_marts(spark, building)  # type: ignore[arg-type]
    assert snapshot(previous_marts) == before
    assert [p.name for p in tmp_path.iterdir()] == ["warehouse_marts"]


def test_an_export_replaces_the_set_whole(tmp_path: Path, previous_marts: Path) -> None:
    spark = FakeSpark(tables=["customer_rfm"])
    building = tmp_path / "warehouse_marts.building"
    assert write_marts(spark, building) == ["customer_rfm"]  # type: ignore[arg-type]
    swap_in(building, previous_marts)
    assert snapshot(previous_marts) == {"customer_rfm/part-0.parquet": b"new"}
    assert [p.name for p in tmp_path.iterdir()] == ["warehouse_marts"]


# --- the assignment history on Spark -----------------------------------------------------


def rows(staff: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "customer_id": ["c1", "c2"],
            "staff_id": [staff, None],
            "previous_staff_id": [None, "E1"],
            "reason": ["new", "no_capacity"],
            "source_manager_id": ["E1", None],
        }
    )


def staff_of(path: Path) -> list[str | None]:
    return pq.read_table(path).column("staff_id").to_pylist()


JUNE, JULY = date(2026, 6, 30), date(2026, 7, 31)


def opened(folder: Path) -> tuple[AssignmentHistory, FakeSpark]:
    spark = FakeSpark()
    history = AssignmentHistory(folder)
    history.open(spark)  # type: ignore[arg-type]
    return history, spark


def test_history_file_per_date_with_the_table_over_the_folder(tmp_path: Path) -> None:
    history, spark = opened(tmp_path / "history")
    history.replace(spark, JUNE, rows("E1"))  # type: ignore[arg-type]
    history.commit()
    table = pq.read_table(history.path(JUNE))
    assert table.schema == HISTORY_SCHEMA
    assert table.column("as_of").to_pylist() == [JUNE, JUNE]
    assert staff_of(history.path(JUNE)) == ["E1", None]
    assert [p.name for p in (tmp_path / "history").iterdir()] == ["2026-06-30.parquet"]
    create = next(s for s in spark.statements if s.startswith("create table"))
    assert "`assignments`.`account_assignment_history` (as_of date, customer_id string" in create
    assert f"location '{tmp_path / 'history'}'" in create
    assert "assignments.account_assignment_history" in spark.statements  # refreshed


def test_rerun_of_a_date_replaces_its_file(tmp_path: Path) -> None:
    history, spark = opened(tmp_path / "history")
    for staff in ("E1", "E2"):
        history.replace(spark, JUNE, rows(staff))  # type: ignore[arg-type]
        history.commit()
    assert staff_of(history.path(JUNE)) == ["E2", None]
    assert len(list((tmp_path / "history").iterdir())) == 1


def test_failed_run_puts_the_replaced_file_back(tmp_path: Path) -> None:
    history, spark = opened(tmp_path / "history")
    history.replace(spark, JUNE, rows("E1"))  # type: ignore[arg-type]
    history.commit()
    history.replace(spark, JUNE, rows("E2"))  # type: ignore[arg-type]
    history.replace(spark, JULY, rows("E3"))  # type: ignore[arg-type]
    history.rollback()
    assert staff_of(history.path(JUNE)) == ["E1", None]
    assert [p.name for p in (tmp_path / "history").iterdir()] == ["2026-06-30.parquet"]


def test_killed_run_is_undone_when_the_history_is_next_opened(tmp_path: Path) -> None:
    history, spark = opened(tmp_path / "history")
    history.replace(spark, JUNE, rows("E1"))  # type: ignore[arg-type]
    history.commit()
    history.replace(spark, JUNE, rows("E2"))  # type: ignore[arg-type]
    history.replace(spark, JULY, None)  # type: ignore[arg-type]
    history.replace(spark, JULY, rows("E3"))  # type: ignore[arg-type]
    # the process dies here: no commit, no rollback
    again, _ = opened(tmp_path / "history")
    assert staff_of(again.path(JUNE)) == ["E1", None]
    assert [p.name for p in (tmp_path / "history").iterdir()] == ["2026-06-30.parquet"]


def test_no_staff_removes_the_dates_assignment(tmp_path: Path) -> None:
    history, spark = opened(tmp_path / "history")
    history.replace(spark, JUNE, rows("E1"))  # type: ignore[arg-type]
    history.commit()
    history.replace(spark, JUNE, None)  # type: ignore[arg-type]
    history.commit()
    assert list((tmp_path / "history").iterdir()) == []
