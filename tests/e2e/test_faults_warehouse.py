"""Issue 16, items 1, 7 and 8: the warehouse file and its paths under faults.

Every refusal happens before a run copies or builds anything: exit 2, a message naming the
user's path (never the run's work copy), and the published file byte-equal and still openable.
Only the stale-WAL test runs the pipeline again, to show its advice works.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from customer_tiers.orchestration.cli import main
from customer_tiers.orchestration.errors import EXIT_OK, EXIT_USAGE
from customer_tiers.orchestration.resources import WarehouseResource
from customer_tiers.orchestration.warehouse_file import WarehouseFileError
from tests.conftest import query

WAREHOUSE_COMMANDS = ("run", "backfill", "export", "report", "dbt")


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _argv(command: str, warehouse: Path, sources: Path, out: Path) -> list[str]:
    """A command of the CLI that takes --warehouse, otherwise valid."""
    wh = ["--warehouse", str(warehouse)]
    if command == "run":
        return ["run", "--sources", str(sources), *wh]
    if command == "backfill":
        dates = ["--from", "2024-01-31", "--to", "2024-02-29", "--every", "month"]
        return ["backfill", "--sources", str(sources), *wh, *dates]
    if command == "export":
        return ["export", *wh, "--out", str(out / "marts"), "--format", "csv"]
    if command == "report":
        return ["report", *wh, "--out", str(out / "report.html")]
    return ["dbt", *wh, "--", "debug"]


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the command, which must exit 2 with nothing on stdout; its stderr."""
    code = main(argv)
    out, err = capsys.readouterr()
    assert (code, out) == (EXIT_USAGE, ""), err
    assert ".building" not in err and "Traceback" not in err
    return err


@pytest.fixture
def published(demo_run: tuple[Path, Path], tmp_path: Path) -> Path:
    """A copy of the session's published demo warehouse (the shared one is never touched)."""
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(demo_run[1], warehouse)
    return warehouse


def _kill_a_writer(warehouse: Path) -> None:
    """A real process opens the published file read-write, commits a view, and is killed."""
    code = (
        "import duckdb, os, signal, sys\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "con.execute('create view main.analyst_view as select 42 as answer')\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", code, str(warehouse)], check=False)
    assert done.returncode == -signal.SIGKILL


def test_a_stale_wal_is_refused_before_anything_is_replaced_and_its_advice_works(
    published: Path, demo_run: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    sources = demo_run[0]
    wal = published.with_name(published.name + ".wal")
    _kill_a_writer(published)
    assert wal.exists()
    before = {p.name: _sha256(p) for p in (published, wal)}

    err = _refused(["run", "--sources", str(sources), "--warehouse", str(published)], capsys)

    assert f"--warehouse {published}: a write-ahead log {wal} was left" in err
    assert "nothing was changed" in err
    assert {p.name: _sha256(p) for p in (published, wal)} == before
    assert sorted(p.name for p in published.parent.iterdir()) == [published.name, wal.name]
    # Still openable read-only, with the killed writer's committed view and the marts.
    assert query(published, "select answer from main.analyst_view") == [(42,)]
    assert query(published, "select count(*) from marts.customer_tiers") == [(300,)]

    # The advice: open it read-write once (DuckDB applies the log), then the run publishes.
    duckdb.connect(str(published)).close()
    assert not wal.exists()
    assert main(["run", "--sources", str(sources), "--warehouse", str(published)]) == EXIT_OK
    assert not wal.exists()
    assert query(published, "select answer from main.analyst_view") == [(42,)]
    assert query(published, "select count(*) from marts.customer_tiers") == [(300,)]


def test_a_live_writer_is_refused(
    published: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = (
        "import duckdb, sys\ncon = duckdb.connect(sys.argv[1])\nprint('open', flush=True)\ninput()"
    )
    writer = subprocess.Popen(
        [sys.executable, "-c", code, str(published)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert writer.stdout is not None and writer.stdout.readline() == "open\n"
        before = _sha256(published)
        err = _refused(_argv("run", published, tmp_path, tmp_path), capsys)
        assert f"--warehouse {published}: another process has it open for writing" in err
        assert _sha256(published) == before
        assert sorted(p.name for p in published.parent.iterdir()) == [published.name]
    finally:
        writer.kill()
        writer.wait()


def test_the_swap_refuses_a_wal_left_beside_the_published_file(published: Path) -> None:
    """A writer killed while a run was building: its log must not meet the new file."""
    resource = WarehouseResource(path=str(published))
    work = resource.start_build()
    with duckdb.connect(str(work)) as con:
        con.execute("create table main.built_by_this_run as select 1 as x")
    _kill_a_writer(published)
    before = _sha256(published)

    with pytest.raises(WarehouseFileError, match=r"a write-ahead log .* was left"):
        resource.publish()

    assert _sha256(published) == before
    assert query(published, "select answer from main.analyst_view") == [(42,)]
    assert query(published, "select count(*) from marts.customer_tiers") == [(300,)]


def _sqlite(path: Path) -> None:
    with sqlite3.connect(path) as con:
        con.execute("create table orders (order_id text, amount real)")


BAD_KINDS = {
    "text file": (lambda p: p.write_text("order_id,amount\n1,9.90\n"), "not a DuckDB database"),
    "empty file": (lambda p: p.write_bytes(b""), "the file is empty, not a DuckDB database"),
    "folder": (lambda p: p.mkdir(), "is a folder; give the DuckDB file's path"),
    "SQLite file": (_sqlite, "a SQLite database, not a DuckDB one"),
}


@pytest.mark.parametrize("command", WAREHOUSE_COMMANDS)
@pytest.mark.parametrize("kind", BAD_KINDS)
def test_a_warehouse_that_is_not_a_duckdb_file_is_refused_by_name(
    kind: str, command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make, message = BAD_KINDS[kind]
    warehouse = tmp_path / "warehouse.duckdb"
    make(warehouse)
    (tmp_path / "sources").mkdir()
    before = sorted(p.name for p in tmp_path.iterdir())

    err = _refused(_argv(command, warehouse, tmp_path / "sources", tmp_path), capsys)

    assert f"error: --warehouse {warehouse}: {message}" in err
    assert "sqlite_scanner" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no work copy, lock, output


@pytest.mark.parametrize("command", WAREHOUSE_COMMANDS)
@pytest.mark.parametrize("folder", ["exports?x=y", "q3#final"])
def test_a_url_character_in_the_warehouse_path_is_refused_by_name(
    folder: str,
    command: str,
    demo_run: tuple[Path, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    warehouse = tmp_path / folder / "warehouse.duckdb"
    warehouse.parent.mkdir()
    shutil.copyfile(demo_run[1], warehouse)
    character = "?" if "?" in folder else "#"

    err = _refused(_argv(command, warehouse, demo_run[0], tmp_path), capsys)

    assert f"--warehouse {warehouse}: the path contains {character!r}" in err
    assert "a folder without '?' or '#'" in err
    assert sorted(p.name for p in warehouse.parent.iterdir()) == ["warehouse.duckdb"]


@pytest.fixture
def unwritable_folder(tmp_path: Path) -> Iterator[Path]:
    """A folder no file can be created in, also for root: not writable for a user, immutable
    (chattr +i) for root, which permissions do not stop."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("root without chattr: no folder root cannot write")
        made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, check=False)
        if made.returncode != 0:
            pytest.skip(f"chattr +i refused here: {made.stderr.decode().strip()}")
        yield folder
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    else:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)


@pytest.mark.parametrize("command", ["run", "backfill"])
def test_a_warehouse_folder_that_cannot_be_written_is_refused_by_name(
    command: str, unwritable_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse = unwritable_folder / "warehouse.duckdb"
    (tmp_path / "sources").mkdir()

    err = _refused(_argv(command, warehouse, tmp_path / "sources", tmp_path), capsys)

    assert f"--warehouse {warehouse}: cannot write in its folder {unwritable_folder}" in err
    assert "a run writes its work copy beside the warehouse" in err
    assert list(unwritable_folder.iterdir()) == []


def _unreadable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot list: mode 000 for a user; for root, which permissions
    do not stop, /proc/1/map_files (listing it needs more than root in a container)."""
    folder = tmp_path / "locked"
    folder.mkdir(mode=0o000)
    for candidate in (folder, Path("/proc/1/map_files")):
        try:
            os.listdir(candidate)
        except PermissionError:
            return candidate
        except OSError:
            continue
    pytest.skip("no folder this process cannot read")


@pytest.mark.parametrize("command", ["run", "check", "backfill"])
def test_an_unreadable_sources_folder_is_refused_by_name(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sources = _unreadable_folder(tmp_path)
    warehouse = tmp_path / "wh" / "warehouse.duckdb"
    argv = (
        ["check", "--sources", str(sources)]
        if command == "check"
        else _argv(command, warehouse, sources, tmp_path)
    )

    err = _refused(argv, capsys)

    assert f"error: --sources {sources}: cannot read the folder: Permission denied" in err
    assert not warehouse.parent.exists()
