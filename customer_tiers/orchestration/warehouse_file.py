"""The warehouse file, its folder and the sources folder, checked before a command reads,
copies or builds anything, and the guard around the swap that publishes a run.

Every refusal is a WarehouseFileError (a UsageError: exit 2) naming the user's path, never the
run's work copy. The checks read bytes and take locks without DuckDB: DuckDB opening a SQLite
file would try to download its SQLite extension, and opening a file with a stale write-ahead
log would fail or, after a swap, replay that log against the wrong file.
"""

from __future__ import annotations

import errno
import fcntl
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from customer_tiers.orchestration.config import WORK_SUFFIX
from customer_tiers.orchestration.errors import UsageError

# A DuckDB database file has a checksum in bytes 0-7, then this magic; SQLite has its own.
DUCKDB_MAGIC = b"DUCK"
DUCKDB_MAGIC_OFFSET = 8
SQLITE_MAGIC = b"SQLite format 3\x00"
# DuckDB reads what follows `?` as connection options (its WAL lands in another folder), and
# dbt-duckdb parses the path as a URL, so `#` starts a fragment and names the wrong catalog.
UNSAFE_CHARACTERS = "?#"


class WarehouseFileError(UsageError):
    """The warehouse or sources path cannot be used as given: exit 2 with the message."""


def wal_path(path: Path) -> Path:
    """DuckDB's write-ahead log of a database file."""
    return path.with_name(path.name + ".wal")


def check_path(warehouse: Path) -> Path:
    """The absolute warehouse path, refused when DuckDB or dbt would read it as something else."""
    warehouse = warehouse.expanduser().resolve()
    if warehouse.name.endswith(WORK_SUFFIX):
        raise WarehouseFileError(
            f"--warehouse {warehouse}: this is a run's work copy; "
            "give the published file instead (without the suffix)"
        )
    for character in UNSAFE_CHARACTERS:
        if character in str(warehouse):
            raise WarehouseFileError(
                f"--warehouse {warehouse}: the path contains {character!r}, which DuckDB and dbt "
                "read as part of a URL; move the warehouse to a folder without '?' or '#'"
            )
    return warehouse


def check_database(warehouse: Path) -> None:
    """An existing warehouse must be a readable DuckDB database file."""
    if warehouse.is_dir():
        raise WarehouseFileError(
            f"--warehouse {warehouse}: is a folder; give the DuckDB file's path, "
            f"e.g. {warehouse / 'warehouse.duckdb'}"
        )
    if not warehouse.is_file():
        raise WarehouseFileError(f"--warehouse {warehouse}: not a regular file")
    try:
        with warehouse.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as err:
        raise WarehouseFileError(f"--warehouse {warehouse}: cannot read: {err.strerror}") from err
    if not head:
        raise WarehouseFileError(
            f"--warehouse {warehouse}: the file is empty, not a DuckDB database "
            "(delete it to start a new warehouse)"
        )
    if head.startswith(SQLITE_MAGIC):
        raise WarehouseFileError(
            f"--warehouse {warehouse}: a SQLite database, not a DuckDB one; "
            "give the DuckDB file `tiers run` publishes"
        )
    if head[DUCKDB_MAGIC_OFFSET : DUCKDB_MAGIC_OFFSET + len(DUCKDB_MAGIC)] != DUCKDB_MAGIC:
        raise WarehouseFileError(f"--warehouse {warehouse}: not a DuckDB database file")


def check_readable(warehouse: Path) -> Path:
    """What export and report read: an existing DuckDB file at a usable path."""
    warehouse = check_path(warehouse)
    if not warehouse.exists():
        raise WarehouseFileError(f"--warehouse {warehouse}: no such file")
    check_database(warehouse)
    return warehouse


def check_for_run(warehouse: Path) -> Path:
    """What a run needs before it copies anything: a usable path, a folder it can write its
    work copy and lock file into, and a published file (if any) that is a DuckDB database no
    other process is writing and that has no write-ahead log left beside it."""
    warehouse = check_path(warehouse)
    if warehouse.exists():
        check_database(warehouse)
    _check_writable_folder(warehouse)
    _check_no_writer(warehouse)
    return warehouse


def check_sources(sources: Path) -> Path:
    """The absolute sources folder, refused when it is not a folder this process can list."""
    sources = sources.expanduser().resolve()
    if not sources.is_dir():
        raise WarehouseFileError(f"--sources {sources}: not a folder")
    try:
        with os.scandir(sources) as entries:
            next(entries, None)
    except OSError as err:
        raise WarehouseFileError(
            f"--sources {sources}: cannot read the folder: {err.strerror}"
        ) from err
    return sources


def _check_writable_folder(warehouse: Path) -> None:
    """A run writes `<warehouse>.building` and a lock file beside the warehouse: try it, since
    permissions say nothing for root and a read-only file system shows only on writing."""
    folder = warehouse.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{warehouse.name}.probe"):
            pass
    except OSError as err:
        raise WarehouseFileError(
            f"--warehouse {warehouse}: cannot write in its folder {folder}: {err.strerror} "
            "(a run writes its work copy beside the warehouse)"
        ) from err


@contextmanager
def _no_writer(warehouse: Path) -> Iterator[None]:
    """Hold a shared lock on the published file, as a DuckDB reader does: refused while a
    DuckDB process has it open for writing, and no writer can open it while held. Readers
    are not blocked. Then no write-ahead log may be beside it."""
    wal = wal_path(warehouse)
    fd = None
    with suppress(FileNotFoundError):
        fd = os.open(warehouse, os.O_RDONLY)
    try:
        if fd is not None:
            try:
                fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError as err:
                if err.errno not in (errno.EACCES, errno.EAGAIN):
                    raise
                raise WarehouseFileError(
                    f"--warehouse {warehouse}: another process has it open for writing; "
                    "close that connection (BI tools should open it read-only) and run again"
                ) from err
        if wal.exists():
            raise WarehouseFileError(
                f"--warehouse {warehouse}: a write-ahead log {wal} was left beside it by a "
                "process that wrote to the published file and did not close it (killed?); "
                "nothing was changed. Apply it by opening the file read-write once and "
                f"closing it (python -c \"import duckdb; duckdb.connect('{warehouse}').close()\"), "
                f"or delete {wal} to drop those changes, then run again"
            )
        yield
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def _check_no_writer(warehouse: Path) -> None:
    with _no_writer(warehouse):
        pass


@contextmanager
def swap_guard(published: Path) -> Iterator[None]:
    """Around the rename that publishes a run: no process writes the published file and no
    write-ahead log of it is left, so none can be replayed against the new file."""
    with _no_writer(published):
        yield
