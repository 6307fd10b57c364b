"""The dbt project as Dagster sees it, and how its manifest is kept current."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtProject

from orchestration.config import DBT_PROJECT_DIR, load_config


def _put_dbt_on_path() -> None:
    """dagster-dbt (and its manifest preparer) start `dbt` from PATH. When the tools run from a
    virtualenv that is not activated (`.venv/bin/tiers`, CI), dbt sits next to the interpreter
    but not on PATH."""
    interpreter_bin = Path(sys.executable).parent
    if shutil.which("dbt") is None and (interpreter_bin / "dbt").exists():
        os.environ["PATH"] = f"{interpreter_bin}{os.pathsep}{os.environ.get('PATH', '')}"


_put_dbt_on_path()

dbt_project = DbtProject(
    project_dir=DBT_PROJECT_DIR,
    # The models read the configuration through vars, so parsing needs them too.
    prepare_project_cli_args=["parse", "--quiet", "--vars", load_config().dbt_vars_json(None)],
)


def ensure_manifest(*, refresh: bool = False) -> None:
    """Parse the project when the manifest is missing (or always, with refresh=True).

    `dagster dev` re-parses by itself (prepare_if_dev); `tiers run` refreshes so a pulled change
    to the models is never run against a stale manifest.
    """
    if refresh or not dbt_project.manifest_path.exists():
        dbt_project.preparer.prepare(dbt_project)
    else:
        dbt_project.prepare_if_dev()
