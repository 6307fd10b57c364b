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
        for leftover in (work, _wal(work)):
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

    def publish(self) -> Path:
        """Checkpoint the work copy and rename it over the published file (atomic on POSIX)."""
        work = self.work_path
        if not work.exists():
            raise FileNotFoundError(f"nothing to publish: {work} does not exist")
        con = duckdb.connect(str(work))
        try:
            con.execute("checkpoint")
        finally:
            con.close()
        os.replace(work, self.published_path)
        return self.published_path


class SourcesResource(dg.ConfigurableResource):
    """The folder the business drops its export files into."""

    path: str

    @property
    def directory(self) -> Path:
        return Path(self.path).expanduser().resolve()


def _wal(path: Path) -> Path:
    return path.with_name(path.name + ".wal")
