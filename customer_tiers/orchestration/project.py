"""The dbt project as Dagster sees it, and how its manifest is kept current."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from customer_tiers.orchestration.config import (
    AS_OF_ENV,
    DBT_PROJECT_DIR,
    dbt_environment,
    load_config,
)
from customer_tiers.orchestration.paths import dbt_artifacts_environment


def _put_dbt_on_path() -> None:
    """dagster-dbt (and its manifest preparer) start `dbt` from PATH. When the tools run from a
    virtualenv that is not activated (`.venv/bin/tiers`, CI), dbt sits next to the interpreter
    but not on PATH."""
    interpreter_bin = Path(sys.executable).parent
    if shutil.which("dbt") is None and (interpreter_bin / "dbt").exists():
        os.environ["PATH"] = f"{interpreter_bin}{os.pathsep}{os.environ.get('PATH', '')}"


_put_dbt_on_path()


def parse_args() -> list[str]:
    """`dbt parse` with the vars every dbt invocation of a run gives (the configuration), so
    the invocations find dbt's partial-parse state (target/partial_parse.msgpack) valid."""
    return ["parse", "--quiet", "--vars", load_config().dbt_vars_json(None)]


# dbt's artifacts (manifest, partial-parse state, each invocation's run results) go under
# $DBT_TARGET_PATH, `target` by default, relative to dbt_project/ in the source tree and to a
# folder of the user's cache when installed (paths.dbt_artifacts_environment): dbt's own
# variable, which dagster-dbt's invocations follow too, made absolute here so that every dbt
# subprocess writes there. Processes that run pipelines side by side (the test suite's workers)
# each take their own, so none reads a manifest another is rewriting.
os.environ.update(dbt_artifacts_environment())
DBT_TARGET_PATH = os.environ["DBT_TARGET_PATH"]

dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    target_path=DBT_TARGET_PATH,
    prepare_project_cli_args=parse_args(),
)


class TiersDbtCliResource(DbtCliResource):
    """dagster-dbt's dbt resource without two fixed costs this project never uses.

    For every `cli()` call dagster-dbt opens a dbt adapter inside the Dagster process (2-3 s: it
    loads every macro), used only by `fetch_row_counts()` and `fetch_column_metadata()`, and each
    resource instance runs `dbt --version` in a subprocess (about 2 s) to learn the version. A
    run makes three dbt calls; together that was about 10 s of every run, whatever its size.
    """

    @property
    def _cli_version(self) -> version.Version:
        # dbt runs from the installed dbt-core (never the Fusion engine here): its version is
        # the package's.
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Any) -> Any:
        return None  # no in-process adapter: nothing here fetches row counts or columns


def ensure_manifest(*, refresh: bool = False, as_of: date | None = None) -> None:
    """Parse the project when the manifest is missing, or, with refresh=True, when anything
    that goes into it changed since the last parse (parse_fingerprint).

    `dagster dev` re-parses by itself (prepare_if_dev); `tiers run` refreshes so a pulled change
    to the models is never run against a stale manifest, and skips the parse (3-4 s) when
    nothing changed, as on a daily run. The parse is a plain `dbt parse` subprocess, without
    dagster-dbt's preparer and its in-process adapter (TiersDbtCliResource).
    """
    if not dbt_project.manifest_path.exists():
        _parse(as_of)
    elif refresh:
        if _stored_fingerprint() != parse_fingerprint(dbt_project.project_dir):
            _parse(as_of)
    else:
        dbt_project.prepare_if_dev()


def _fingerprint_path() -> Path:
    return dbt_project.project_dir / dbt_project.target_path / "tiers_parse_fingerprint"


def _stored_fingerprint() -> str | None:
    path = _fingerprint_path()
    if not (path.exists() and (path.parent / "partial_parse.msgpack").exists()):
        return None
    return path.read_text(encoding="utf-8").strip()


def parse_fingerprint(project_dir: Path) -> str:
    """A digest of everything the manifest and dbt's partial-parse state depend on: every file
    of the dbt project (its own artefacts left out), the vars, the versions of dbt and its
    adapters, and the environment the profile and models read (TIERS_*, DBT_*), except the
    analysis date, which dbt re-parses by itself (AS_OF_ENV)."""
    digest = hashlib.sha256()
    for folder, subfolders, files in os.walk(project_dir):
        # dbt's own output (target*, logs) and caches are not inputs of the parse
        top = Path(folder) == project_dir
        subfolders[:] = sorted(
            name
            for name in subfolders
            if name != "__pycache__"
            and not (top and (name.startswith("target") or name in {"logs", "dbt_packages"}))
        )
        for name in sorted(files):
            path = Path(folder) / name
            relative = path.relative_to(project_dir).as_posix()
            digest.update(relative.encode() + b"\0" + path.read_bytes() + b"\0")
    environment = {
        key: value
        for key, value in os.environ.items()
        if key.startswith(("TIERS_", "DBT_")) and key != AS_OF_ENV
    }
    versions = {
        name: importlib.metadata.version(name) for name in ("dbt-core", "dbt-duckdb", "duckdb")
    }
    digest.update(
        json.dumps([parse_args(), environment, versions, sys.version], sort_keys=True).encode()
    )
    return digest.hexdigest()


def _parse(as_of: date | None) -> None:
    target = dbt_project.project_dir / dbt_project.target_path
    env = {
        **os.environ,
        **dbt_environment(as_of),
        "DBT_TARGET_PATH": str(target),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    fingerprint = parse_fingerprint(dbt_project.project_dir)
    completed = subprocess.run(
        ["dbt", *parse_args()],
        cwd=dbt_project.project_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).strip()
        raise RuntimeError(f"dbt parse failed in {dbt_project.project_dir}:\n{output}")
    _fingerprint_path().write_text(fingerprint, encoding="utf-8")
