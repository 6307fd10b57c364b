"""The dbt project as Dagster sees it, and how its manifest is kept current.

dbt runs in the Dagster process (orchestration/dbt_invoke.py): the project is parsed once per
set of parse inputs and every build of a run is handed that manifest.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
from datetime import date
from pathlib import Path
from typing import Any

from dagster_dbt import DbtProject

from customer_tiers.orchestration.config import (
    AS_OF_ENV,
    DBT_PROJECT_DIR,
    WAREHOUSE_ENV,
    dbt_environment,
    load_config,
)
from customer_tiers.orchestration.dbt_invoke import manifest_for
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
    """`dbt parse` with the vars every build of a run gives (the configuration): `dagster dev`
    re-parses with these (prepare_if_dev) so the manifest matches the builds'."""
    return ["parse", "--quiet", "--vars", load_config().dbt_vars_json(None)]


# dbt's artifacts (manifest, partial-parse state, each invocation's run results) go under
# $DBT_TARGET_PATH, `target` by default, relative to dbt_project/ in the source tree and to a
# folder of the user's cache when installed (paths.dbt_artifacts_environment): dbt's own
# variable, made absolute here so that every dbt invocation writes there whatever its working
# folder. Processes that run pipelines side by side (the test suite's workers)
# each take their own, so none reads a manifest another is rewriting.
os.environ.update(dbt_artifacts_environment())
DBT_TARGET_PATH = os.environ["DBT_TARGET_PATH"]

dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    target_path=DBT_TARGET_PATH,
    prepare_project_cli_args=parse_args(),
)


def parsed_manifest(as_of: date | None = None, target: str = "duckdb") -> Any:
    """dbt's Manifest for the current settings and the engine's `target` (profiles.yml),
    parsed in this process when they changed since its last parse (parse_fingerprint), with
    dbt's partial parsing; the DuckDB parse also writes target/manifest.json, from which the
    Definitions take the dbt assets. A daily run of an unchanged project on the same warehouse
    re-parses nothing (about 0.5 s)."""
    os.environ.update(dbt_environment(as_of))
    key = f"{target}:{parse_fingerprint(dbt_project.project_dir)}"
    return manifest_for(key, _project_args(target_path(target), target))


def ensure_manifest() -> None:
    """target/manifest.json for the Definitions, parsed when missing. `dagster dev` re-parses
    by itself (prepare_if_dev); `tiers run` parses through parsed_manifest before it loads the
    Definitions, so a pulled change to the models is never run against a stale manifest."""
    if not dbt_project.manifest_path.exists():
        parsed_manifest()
    else:
        dbt_project.prepare_if_dev()


def target_path(target: str) -> str:
    """Where dbt writes for `target`: $DBT_TARGET_PATH, and a folder of its own in it for any
    other engine's target, so each keeps its partial-parse state."""
    return DBT_TARGET_PATH if target == "duckdb" else str(Path(DBT_TARGET_PATH) / target)


def _project_args(folder: str, target: str) -> list[str]:
    return [
        "--target", target,
        "--vars", load_config().dbt_vars_json(None),
        "--project-dir", str(dbt_project.project_dir),
        "--profiles-dir", str(dbt_project.project_dir),
        "--target-path", folder,
        "--log-path", folder,
    ]  # fmt: skip


def build_args(name: str, target: str = "duckdb") -> list[str]:
    """The options of a run's `dbt build` named `name` besides its selection: the project, the
    engine's target, the vars the manifest was parsed with, and a target folder of its own,
    holding the last such build's run_results.json, compiled SQL and dbt.log."""
    return _project_args(str(Path(target_path(target)) / name), target)


def parse_fingerprint(project_dir: Path) -> str:
    """A digest of everything the manifest and dbt's partial-parse state depend on: every file
    of the dbt project (its own artefacts left out), the vars, the versions of dbt and its
    adapters, and the environment the profile and models read (TIERS_*, DBT_*), except the
    analysis date, which the models read when they run (AS_OF_ENV)."""
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
        if key.startswith(("TIERS_", "DBT_")) and key not in {AS_OF_ENV, WAREHOUSE_ENV}
    }
    # Of the warehouse path the manifest holds only the database name (the file name up to its
    # first dot, in every relation name): runs on warehouses of the same name in other folders
    # share a parse.
    warehouse = os.environ.get(WAREHOUSE_ENV)
    environment[WAREHOUSE_ENV] = Path(warehouse).name.split(".")[0] if warehouse else ""
    versions = {
        name: importlib.metadata.version(name) for name in ("dbt-core", "dbt-duckdb", "duckdb")
    }
    digest.update(
        json.dumps([parse_args(), environment, versions, sys.version], sort_keys=True).encode()
    )
    return digest.hexdigest()
