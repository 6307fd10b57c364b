"""The dbt project as Dagster sees it, and how its manifest is kept current."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import date
from pathlib import Path

from dagster_dbt import DagsterDbtProjectPreparer, DbtProject

from orchestration.config import DBT_PROJECT_DIR, load_config


def _put_dbt_on_path() -> None:
    """dagster-dbt (and its manifest preparer) start `dbt` from PATH. When the tools run from a
    virtualenv that is not activated (`.venv/bin/tiers`, CI), dbt sits next to the interpreter
    but not on PATH."""
    interpreter_bin = Path(sys.executable).parent
    if shutil.which("dbt") is None and (interpreter_bin / "dbt").exists():
        os.environ["PATH"] = f"{interpreter_bin}{os.pathsep}{os.environ.get('PATH', '')}"


_put_dbt_on_path()


def parse_args(as_of: date | None = None) -> list[str]:
    """`dbt parse` with the vars a run with this analysis date gives every dbt invocation.

    The models read the configuration through vars, so parsing needs them. dbt's partial-parse
    state (target/partial_parse.msgpack) re-parses only the files that changed, but is thrown
    away when the vars (as_of included) or the profile's connection (the warehouse path) differ
    from the last parse: then the whole project is parsed again (2-3 s).
    """
    return ["parse", "--quiet", "--vars", load_config().dbt_vars_json(as_of)]


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, prepare_project_cli_args=parse_args())


def ensure_manifest(*, refresh: bool = False, as_of: date | None = None) -> None:
    """Parse the project when the manifest is missing (or always, with refresh=True).

    `dagster dev` re-parses by itself (prepare_if_dev); `tiers run` refreshes so a pulled change
    to the models is never run against a stale manifest, and does it with the run's `as_of`:
    its dbt steps (and a later `tiers dbt --as-of` with the same date on the same warehouse)
    then find the partial-parse state valid for their vars instead of parsing everything again.
    """
    if refresh or not dbt_project.manifest_path.exists():
        DagsterDbtProjectPreparer(prepare_project_cli_args=parse_args(as_of)).prepare(dbt_project)
    else:
        dbt_project.prepare_if_dev()
