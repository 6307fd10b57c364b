"""Resources: where the sources and the warehouse live, and how a run builds and publishes it.

A run never writes the published warehouse file that BI tools read. It works on
`<warehouse>.building` (a copy of the published file, so state that outlives a run is kept) and
publishes by renaming that file over the published one in a single `os.replace`. A reader that
has the old file open keeps reading the old file; a run that fails or is killed leaves the
published file as it was.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from customer_tiers.orchestration.config import MEMORY_LIMIT, WORK_SUFFIX
from customer_tiers.orchestration.warehouse_file import swap_guard, wal_path


class WarehouseResource(dg.ConfigurableResource):
    """The published DuckDB warehouse file and its work copy."""

    path: str

    @property
    def published_path(self) -> Path:
        return Path(self.path).expanduser().resolve()

    @property
    def reports_dir(self) -> Path:
        """Reports of the runs (plots, Data Docs) live beside the published warehouse."""
        return self.published_path.parent / "reports"

    @property
    def work_path(self) -> Path:
        published = self.published_path
        return published.with_name(published.name + WORK_SUFFIX)

    def start_build(self) -> Path:
        """Begin a build: the work copy starts as the published file (or empty on first run).

        Any work file left by a failed or killed run is discarded, so a build never continues
        from half-written state.
        """
        work = self.work_path
        work.parent.mkdir(parents=True, exist_ok=True)
        for leftover in (work, wal_path(work)):
            leftover.unlink(missing_ok=True)
        published = self.published_path
        if published.exists():
            shutil.copyfile(published, work)
        return work

    def ensure_build(self) -> Path:
        """The work copy, started from the published file when no build is under way (a step
        materialized on its own in the UI)."""
        if not self.work_path.exists():
            return self.start_build()
        return self.work_path

    @contextmanager
    def connect(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the work copy, closed on exit: dbt runs in another process and
        DuckDB lets one process at a time hold the file."""
        con = duckdb.connect(
            str(self.work_path), read_only=read_only, config={"memory_limit": MEMORY_LIMIT}
        )
        try:
            yield con
        finally:
            con.close()

    def seal(self) -> Path:
        """Checkpoint the work copy so that it is one self-contained file, ready to publish."""
        work = self.work_path
        if not work.exists():
            raise FileNotFoundError(f"nothing to publish: {work} does not exist")
        con = duckdb.connect(str(work))
        try:
            con.execute("checkpoint")
        finally:
            con.close()
        if wal_path(work).exists():
            raise RuntimeError(f"{wal_path(work)} is left after a checkpoint; nothing published")
        return work

    def swap(self) -> Path:
        """Rename the sealed work copy over the published file (atomic on POSIX), refused while
        another process writes the published file or a write-ahead log of it is left: that
        log would be replayed against the new file."""
        published = self.published_path
        with swap_guard(published):
            os.replace(self.work_path, published)
        return published

    def publish(self) -> Path:
        """Seal the work copy and swap it in."""
        self.seal()
        return self.swap()


class SourcesResource(dg.ConfigurableResource):
    """The folder the business drops its export files into."""

    path: str

    @property
    def directory(self) -> Path:
        return Path(self.path).expanduser().resolve()
