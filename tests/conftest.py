"""Shared fixtures: small source sets written into tmp folders and pipeline runs on them."""

from __future__ import annotations

import csv
import fcntl
import hashlib
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import duckdb
import pytest

# Under pytest-xdist every worker runs pipelines of its own: give each its own dbt artifacts
# folder (orchestration/project.py), before anything imports the dbt project.
if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["DBT_TARGET_PATH"] = f"target-{worker}"
# The suite's hundred runs are not recorded in a Dagster instance beside each warehouse (the
# default, pipeline.dagster_instance): test_pipeline's rerun test checks that recording.
os.environ["TIERS_RECORD_RUNS"] = "0"


# The longest test files, longest first (as measured with --durations): pytest-xdist (--dist
# loadfile) hands files to the two workers in collection order, so a long file collected last
# would run alone at the end while the other worker waits.
LONGEST_FIRST = (
    "tests/e2e/test_spark.py",
    "tests/e2e/test_claims.py",  # about four pipeline runs (estimated, not measured alone)
    "tests/e2e/test_demo_responses.py",  # two runs at 10,000 customers
    "tests/e2e/test_tiers.py",
    "tests/e2e/test_incremental.py",
    "tests/e2e/test_backfill.py",
    "tests/e2e/test_pipeline.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::", 1)[0]
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within each group stays


def write_csv(
    path: Path, header: Sequence[str], rows: Sequence[Sequence[object]], encoding: str = "utf-8"
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
    return path


def java_17_missing() -> str | None:
    """Why the Spark tests cannot run here, in one line, or None when the Java that Spark would
    use ($JAVA_HOME/bin/java, else java on PATH) is version 17."""
    import re
    import subprocess

    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if java is None or not Path(java).exists():
        return "the Spark engine needs Java 17 and none was found (make java installs it)"
    shown = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    found = re.search(r'version "(\d+)', shown.stderr + shown.stdout)
    if found is None or found.group(1) != "17":
        version = found.group(1) if found else "of unknown version"
        return f"the Spark engine needs Java 17, {java} is Java {version} (make java)"
    return None


def query(warehouse: Path, sql: str, params: Sequence[object] | None = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(autouse=True, scope="module")
def _module_environment() -> Iterator[None]:
    """A module's fixtures run pipelines that set TIERS_* for the Definitions (and monkeypatch
    restores what a module fixture set after each test): no module inherits another's."""
    for name in ("TIERS_SOURCES", "TIERS_WAREHOUSE", "TIERS_CONFIG"):
        os.environ.pop(name, None)
    yield
    for name in ("TIERS_SOURCES", "TIERS_WAREHOUSE", "TIERS_CONFIG"):
        os.environ.pop(name, None)


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Runs set TIERS_* variables for the Definitions; never let one test see another's."""
    for name in ("TIERS_SOURCES", "TIERS_WAREHOUSE", "TIERS_CONFIG", "DAGSTER_HOME"):
        monkeypatch.delenv(name, raising=False)
    yield
    for name in ("TIERS_SOURCES", "TIERS_WAREHOUSE", "TIERS_CONFIG"):
        os.environ.pop(name, None)


def shared_build(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """A folder `build` fills once per test session, however many pytest-xdist workers ask for
    it: the first builds it under a lock, the others wait and reuse it (read only). Without
    xdist, a folder of this session."""
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        folder = tmp_path_factory.mktemp(name)
        build(folder)
        return folder
    root = tmp_path_factory.getbasetemp().parent  # this session's, shared by its workers
    folder = root / name
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / ".built").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            build(folder)
            (folder / ".built").touch()
    return folder


def _fingerprint(path: Path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    """One `tiers run` on 300 demo customers, shared by every test that only reads its marts
    (built once per session: shared_build).

    Yields (sources folder, published warehouse). Tests that change either work on a copy: at
    the end of the session the warehouse must still have the bytes and modification time it
    was published with (a test that ran the pipeline on it would have changed both).
    """
    from customer_tiers.ingest.demo_data import write_demo_data
    from customer_tiers.orchestration.cli import main
    from customer_tiers.orchestration.errors import EXIT_OK

    def build(root: Path) -> None:
        write_demo_data(root / "sources", customers=300, seed=7)
        argv = ["run", "--sources", str(root / "sources")]
        assert main([*argv, "--warehouse", str(root / "warehouse.duckdb")]) == EXIT_OK

    root = shared_build(tmp_path_factory, "demo", build)
    sources, warehouse = root / "sources", root / "warehouse.duckdb"
    published = _fingerprint(warehouse)
    yield sources, warehouse
    assert _fingerprint(warehouse) == published, (
        f"a test changed the shared demo warehouse {warehouse}"
    )


# demo_history's analysis dates, in days before the demo's latest order: run in this order, so
# that the second run finds the first's tier snapshot and action cohort.
HISTORY_DAYS_BEFORE = (121, 91)


@pytest.fixture(scope="session")
def demo_history(
    demo_run: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """A warehouse of the demo sources run at two analysis dates (HISTORY_DAYS_BEFORE the
    latest order, the later last), shared by the tests that compare the marts that need
    history: tier_history has two snapshots (so tier_migration has rows), the 91 days after
    the last as_of are a holdout (clv_holdout_validation), and the first date's action cohort
    has its 30-day window measured by the second (action_effects). Returns (sources folder,
    warehouse); read only."""
    from datetime import timedelta

    from customer_tiers.orchestration.cli import main
    from customer_tiers.orchestration.errors import EXIT_OK

    sources, published = demo_run
    latest = query(published, "select as_of from intermediate.int_as_of_resolved")[0][0]

    def build(root: Path) -> None:
        warehouse = root / "warehouse.duckdb"
        for days in HISTORY_DAYS_BEFORE:
            as_of = (latest - timedelta(days=days)).isoformat()
            argv = ["run", "--sources", str(sources), "--warehouse", str(warehouse)]
            assert main([*argv, "--as-of", as_of]) == EXIT_OK
        for mart in ("tier_migration", "clv_holdout_validation", "action_effects"):
            assert query(warehouse, f"select count(*) from marts.{mart}")[0][0] > 0, mart

    return sources, shared_build(tmp_path_factory, "demo_history", build) / "warehouse.duckdb"
