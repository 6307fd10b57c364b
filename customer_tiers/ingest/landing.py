"""Incremental loading: each source file is loaded once, and again only when it changes.

The sources folder holds the contract's one file per source (`orders.csv`, `customers.csv`,
...). A fact source (SourceSpec.landing: orders, feedback, surveys) may also have a folder of
the same name, `<sources>/orders/`, into which any number of files are dropped, a day's export
each, say. The warehouse remembers every file it loaded in `raw.loaded_files` (name, size,
sha256 and the settings it was loaded with), so a run

* skips a file it loaded before with the same size and checksum: its rows stay as they are
  (a file whose size and modification time are those recorded is not read again, see
  `_stat_key`);
* loads a new file, appending its rows to raw.<source> and quarantine.<source>;
* reloads a changed file: its earlier rows are deleted first, then it is loaded again;
* for the top-level `<source>.csv`, which is the full current export, deletes the rows of a
  file that is gone; files dropped into `<source>/` are kept when they are later removed from
  the folder (landing folders are usually emptied once loaded);
* skips a file whose bytes (sha256) are those of another file of the source whose rows are in
  the warehouse (`orders/export (1).csv`, a second download of `orders/export.csv`): it is
  reported as a duplicate, never loaded, so nothing is counted twice. The copy loaded first
  stays the one loaded: a file kept when it is removed from the landing folder keeps its
  copies out; when the top-level file's rows go (the file is removed or changed), a copy of its
  old bytes is loaded in its place on that run.

Landing folders are read recursively (`orders/2026/07/01.csv` is a file of orders). A file
there that is not a data file (`day3.txt`), or has a partial name (`.part`), is not loaded and
is reported with the reason (SourceSync.skipped); hidden files (`.DS_Store`) are ignored. Names
are matched as ingest/files.py says: `.csv`, `.csv.gz`, `.parquet`, spaces around them ignored;
a link is read only when it leads to a file inside the sources folder.

A source without a landing folder (customers, products, staff) is one file that replaces the
table when it changed. A change of loader version or personal-data settings reloads everything,
as does `full_reload`.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import duckdb

from customer_tiers.ingest.encoding import SourceError
from customer_tiers.ingest.files import check_link, is_hidden, skip_reason
from customer_tiers.ingest.files import is_partial as is_partial
from customer_tiers.ingest.loader import (
    QUARANTINE_SCHEMA,
    RAW_SCHEMA,
    FileFacts,
    LoadResult,
    absent_result,
    create_empty_tables,
    find_source_file,
    inspect_file,
    load_file,
)
from customer_tiers.ingest.privacy import Privacy
from customer_tiers.ingest.sources import SourceSpec

LOADED_FILES_TABLE = f"{RAW_SCHEMA}.loaded_files"
# Bumped when the loader parses values differently, so rows loaded by an older one are reloaded.
LOADER_VERSION = "4"  # 3: lines of spaces skipped, Parquet time zones, duplicate files; 4: ranges
# A file's modification time is trusted only once it is this much older than the moment it
# was looked at: a file rewritten within the clock's granularity of the look (same size, same
# time stamp) could otherwise pass as unchanged. Such files are checksummed again next run.
_SETTLED_NS = 2_000_000_000

_LOADED_FILES_DDL = f"""
CREATE TABLE IF NOT EXISTS {LOADED_FILES_TABLE} (
    source VARCHAR,
    name VARCHAR,
    path VARCHAR,
    bytes BIGINT,
    sha256 VARCHAR,
    settings VARCHAR,
    rows_read BIGINT,
    rows_loaded BIGINT,
    rows_quarantined BIGINT,
    run_id VARCHAR,
    loaded_at TIMESTAMP,
    mtime_ns BIGINT
)"""
# Warehouses from before the column: the first run checksums every file once, as before.
_LOADED_FILES_MIGRATION = (
    f"ALTER TABLE {LOADED_FILES_TABLE} ADD COLUMN IF NOT EXISTS mtime_ns BIGINT"
)


@dataclass(frozen=True)
class _Tracked:
    name: str
    path: str
    bytes: int
    sha256: str
    settings: str
    mtime_ns: int | None


@dataclass
class SourceSync:
    """What one run did with one source's files."""

    source: str
    results: list[LoadResult] = field(default_factory=list)  # loaded and unchanged, per file
    removed: list[str] = field(default_factory=list)  # top-level file gone: its rows deleted
    kept: list[str] = field(default_factory=list)  # landed files gone from the folder, kept
    # files present but not loaded: (name, why), duplicates first (LoadResult.note)
    skipped: list[tuple[str, str]] = field(default_factory=list)
    rows_in_table: int = 0

    @property
    def loaded(self) -> list[LoadResult]:
        return [r for r in self.results if r.status == "loaded"]

    @property
    def unchanged(self) -> list[LoadResult]:
        return [r for r in self.results if r.status == "unchanged"]

    @property
    def status(self) -> Literal["loaded", "unchanged", "absent"]:
        if all(r.status == "absent" for r in self.results) and not self.kept:
            return "absent"
        return "loaded" if self.loaded else "unchanged"

    def totals(self) -> LoadResult:
        """The files read this run as one result: counts added up, the optional columns any
        file lacked and the extra ones any file had, rows per quarantine reason summed."""
        loaded = self.loaded
        reasons: Counter[str] = Counter()
        for result in loaded:
            reasons.update(result.quarantine_reasons)
        return LoadResult(
            source=self.source,
            file=None,
            sha256=loaded[0].sha256 if len(loaded) == 1 else None,
            bytes=sum(r.bytes or 0 for r in loaded),
            encoding=", ".join(sorted({r.encoding for r in loaded if r.encoding})) or None,
            rows_read=sum(r.rows_read for r in loaded),
            rows_loaded=sum(r.rows_loaded for r in loaded),
            rows_quarantined=sum(r.rows_quarantined for r in loaded),
            missing_columns=tuple(dict.fromkeys(c for r in loaded for c in r.missing_columns)),
            extra_columns=tuple(dict.fromkeys(c for r in loaded for c in r.extra_columns)),
            quarantine_reasons=dict(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
            status=self.status,
        )


def settings_fingerprint(privacy: Privacy) -> str:
    """Loader version and personal-data settings, hashed (the salt is never stored)."""
    text = f"{LOADER_VERSION}:{privacy.mode}:{privacy.salt}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _landed(sources_dir: Path, spec: SourceSpec) -> list[Path]:
    """Every entry under `<sources>/<stem>/` at any depth but hidden ones, by path; links
    checked (ingest/files.py check_link) and followed only within the sources folder."""
    folder = Path(sources_dir) / spec.name
    if not spec.landing or not (folder.is_dir() or folder.is_symlink()):
        return []
    check_link(sources_dir, folder)
    found: list[Path] = []
    pending = [folder]
    while pending:
        for p in sorted(pending.pop().iterdir()):
            if is_hidden(p):
                continue
            check_link(sources_dir, p)
            if p.is_dir():
                pending.append(p)
            else:
                found.append(p)
    return sorted(found)


def landing_files(sources_dir: Path, spec: SourceSpec) -> list[Path]:
    """The data files dropped into `<sources>/<stem>/` or its subfolders, by path."""
    return [p for p in _landed(sources_dir, spec) if skip_reason(p) is None]


def skipped_files(sources_dir: Path, spec: SourceSpec) -> list[tuple[str, str]]:
    """The other files of the landing folder: (name in the sources folder, why not loaded)."""
    found = ((p, skip_reason(p)) for p in _landed(sources_dir, spec))
    return [(_name(Path(sources_dir), p), why) for p, why in found if why]


def source_files(sources_dir: Path, spec: SourceSpec) -> list[Path]:
    """Every file of spec: the top-level `<stem>.csv|.parquet` first, then the landed ones."""
    top = find_source_file(Path(sources_dir), spec)
    return ([top] if top else []) + landing_files(sources_dir, spec)


def _name(sources_dir: Path, path: Path) -> str:
    return path.relative_to(sources_dir).as_posix()


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    row = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchone()
    return bool(row and row[0])


def _tracked(con: duckdb.DuckDBPyConnection, spec: SourceSpec) -> dict[str, _Tracked]:
    rows = con.execute(
        f"SELECT name, path, bytes, sha256, settings, mtime_ns FROM {LOADED_FILES_TABLE} "
        "WHERE source = ?",
        [spec.name],
    ).fetchall()
    return {r[0]: _Tracked(*r) for r in rows}


def _in_step(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, tracked: dict[str, _Tracked], settings: str
) -> bool:
    """Whether raw.<name> holds exactly the rows of the tracked files, loaded with these
    settings. Not so for a warehouse from before file tracking, or a table changed by hand."""
    if not (
        _table_exists(con, RAW_SCHEMA, spec.name)
        and _table_exists(con, QUARANTINE_SCHEMA, spec.name)
    ):
        return False
    if any(t.settings != settings for t in tracked.values()):
        return False
    row = con.execute(
        f"SELECT (SELECT count(*) FROM {RAW_SCHEMA}.{spec.name}), "
        f"(SELECT coalesce(sum(rows_loaded), 0) FROM {LOADED_FILES_TABLE} WHERE source = ?)",
        [spec.name],
    ).fetchone()
    return row is not None and row[0] == row[1]


def _forget(con: duckdb.DuckDBPyConnection, spec: SourceSpec, tracked: _Tracked) -> None:
    """Delete a file's rows from raw, quarantine and the file list."""
    for schema in (RAW_SCHEMA, QUARANTINE_SCHEMA):
        con.execute(f"DELETE FROM {schema}.{spec.name} WHERE _source_file = ?", [tracked.path])
    con.execute(
        f"DELETE FROM {LOADED_FILES_TABLE} WHERE source = ? AND name = ?",
        [spec.name, tracked.name],
    )


def _remember(
    con: duckdb.DuckDBPyConnection,
    name: str,
    result: LoadResult,
    settings: str,
    run_id: str,
    loaded_at: datetime,
    mtime_ns: int | None,
) -> None:
    con.execute(
        f"INSERT INTO {LOADED_FILES_TABLE} (source, name, path, bytes, sha256, settings, "
        "rows_read, rows_loaded, rows_quarantined, run_id, loaded_at, mtime_ns) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            result.source, name, result.file, result.bytes, result.sha256, settings,
            result.rows_read, result.rows_loaded, result.rows_quarantined, run_id, loaded_at,
            mtime_ns,
        ],
    )  # fmt: skip


def _stat_key(path: Path) -> tuple[int, int | None]:
    """Size and modification time (None while not yet settled, see _SETTLED_NS).

    A file whose size and settled time are those recorded when it was loaded is taken as
    unchanged without reading it, as make and rsync do: checksumming the unchanged files was
    most of a daily run's ingest (3.4 s for the 1.1 GB of a million customers' files). A file
    changed in place that keeps its size and gets its old time stamp back (`touch -d`,
    `cp -p`/`rsync -t` of other content) is not noticed; `--full-reload` reads everything."""
    stat = path.stat()
    settled = time.time_ns() - stat.st_mtime_ns > _SETTLED_NS
    return stat.st_size, stat.st_mtime_ns if settled else None


def _note_mtime(
    con: duckdb.DuckDBPyConnection, spec: SourceSpec, name: str, mtime_ns: int | None
) -> None:
    con.execute(
        f"UPDATE {LOADED_FILES_TABLE} SET mtime_ns = ? WHERE source = ? AND name = ?",
        [mtime_ns, spec.name, name],
    )


def _unchanged(source: str, tracked: _Tracked) -> LoadResult:
    return LoadResult(
        source=source, file=tracked.path, sha256=tracked.sha256, bytes=tracked.bytes,
        encoding=None, rows_read=0, rows_loaded=0, rows_quarantined=0,
        missing_columns=(), extra_columns=(), status="unchanged",
    )  # fmt: skip


def _look(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    name: str,
    path: Path,
    before: _Tracked | None,
) -> tuple[_Tracked | None, FileFacts | None, int | None]:
    """(tracked, facts, mtime): facts None when the file is the one loaded before, unchanged
    (by settled size and time, or by checksum; a touched file's new time is noted)."""
    try:
        size, mtime_ns = _stat_key(path)
    except OSError as err:
        raise SourceError(f"{path}: cannot read the file: {err.strerror or err}") from err
    settled_same = before is not None and before.mtime_ns is not None
    if before and settled_same and (before.bytes, before.mtime_ns) == (size, mtime_ns):
        return before, None, mtime_ns
    facts = inspect_file(path)
    if before and (before.bytes, before.sha256) == (facts.bytes, facts.sha256):
        if mtime_ns != before.mtime_ns:  # same content, touched or copied again
            _note_mtime(con, spec, name, mtime_ns)
        return before, None, mtime_ns
    return before, facts, mtime_ns


def _not_loaded(
    source: str, path: Path, facts: FileFacts | None, status: str, note: str
) -> LoadResult:
    return LoadResult(
        source=source, file=str(path), sha256=facts.sha256 if facts else None,
        bytes=facts.bytes if facts else None, encoding=None, rows_read=0, rows_loaded=0,
        rows_quarantined=0, missing_columns=(), extra_columns=(),
        status=status, note=note,  # type: ignore[arg-type]
    )  # fmt: skip


def sync_source(
    con: duckdb.DuckDBPyConnection,
    spec: SourceSpec,
    sources_dir: Path,
    run_id: str,
    loaded_at: datetime,
    privacy: Privacy,
    *,
    full_reload: bool = False,
    progress: Callable[[str], None] = lambda _: None,
) -> SourceSync:
    """Bring raw.<name> and quarantine.<name> in step with the source's files (module doc).

    Raises SourceError for a required source with no file and nothing loaded before, and for
    a file that cannot be read (nothing of that file is then loaded)."""
    sources_dir = Path(sources_dir)
    settings = settings_fingerprint(privacy)
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {RAW_SCHEMA}")
    con.execute(_LOADED_FILES_DDL)
    con.execute(_LOADED_FILES_MIGRATION)
    files = source_files(sources_dir, spec)
    tracked = _tracked(con, spec)
    if full_reload or not _in_step(con, spec, tracked, settings):
        # Start the source over: every file present is loaded again.
        con.execute(f"DELETE FROM {LOADED_FILES_TABLE} WHERE source = ?", [spec.name])
        tracked = {}
        create_empty_tables(con, spec)

    sync = SourceSync(spec.name)
    names = {_name(sources_dir, p): p for p in files}
    for name, gone in sorted(tracked.items()):
        if name in names:
            continue
        if "/" in name and spec.landing:
            sync.kept.append(name)
        else:
            _forget(con, spec, gone)
            sync.removed.append(name)
    if not files and not sync.kept:
        skipped = skipped_files(sources_dir, spec)
        if spec.required_file:
            where = f"{spec.name}.csv or {spec.name}.parquet"
            if spec.landing:
                where += f" (or files in {spec.name}/)"
            not_loaded = "".join(f"; {name} is not loaded: {why}" for name, why in skipped)
            raise SourceError(f"{where} is required in {sources_dir}{not_loaded}")
        create_empty_tables(con, spec)
        sync.results.append(absent_result(spec.name))
        for name, why in skipped:
            sync.skipped.append((name, why))
            sync.results.append(_not_loaded(spec.name, sources_dir / name, None, "skipped", why))
        return sync

    # First what each file holds (the recorded checksum of a file unchanged by size and time),
    # then what to do with it: a file with the bytes of another whose rows are kept is a
    # duplicate (module doc), those loaded before taking precedence over new ones.
    looked = [_look(con, spec, name, path, tracked.get(name)) for name, path in names.items()]
    held = {tracked[name].sha256: name for name in sync.kept}
    held |= {t.sha256: t.name for t, facts, _ in looked if facts is None and t is not None}
    # Among new copies, the shortest name is taken for the original (`export.csv`, not
    # `export (1).csv`); files are still loaded in name order.
    new = sorted(
        (len(n), n, f.sha256) for (_, f, _), n in zip(looked, names, strict=True) if f is not None
    )
    for _, name, sha256 in new:
        held.setdefault(sha256, name)
    for (before, facts, mtime_ns), (name, path) in zip(looked, names.items(), strict=True):
        if facts is None:
            assert before is not None
            sync.results.append(_unchanged(spec.name, before))
            continue
        if before:
            _forget(con, spec, before)
        if (first := held[facts.sha256]) != name:
            note = f"same content (sha256 {facts.sha256[:12]}) as {first}"
            sync.skipped.append((name, note))
            sync.results.append(_not_loaded(spec.name, path, facts, "duplicate", note))
            continue
        progress(f"{spec.name}: loading {name} ({facts.bytes:,} bytes)")
        # A source without a landing folder is one file that replaces the table; appending
        # also checks keys against the other files' rows.
        result = load_file(con, spec, path, run_id, privacy, append=spec.landing, facts=facts)
        # the time stamp of before the read: a change while reading is seen next run
        _remember(con, name, result, settings, run_id, loaded_at, mtime_ns)
        sync.results.append(result)
    for name, why in skipped_files(sources_dir, spec):
        sync.skipped.append((name, why))
        sync.results.append(_not_loaded(spec.name, sources_dir / name, None, "skipped", why))

    row = con.execute(f"SELECT count(*) FROM {RAW_SCHEMA}.{spec.name}").fetchone()
    sync.rows_in_table = int(row[0]) if row else 0
    return sync
