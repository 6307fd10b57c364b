"""The dbt project as Dagster sees it, and how its manifest is kept current."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

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
    from the last parse: then the whole project is parsed again (about 6 s).
    """
    return ["parse", "--quiet", "--vars", load_config().dbt_vars_json(as_of)]


# dbt's artifacts (manifest, partial-parse state, each invocation's run results) go under
# dbt_project/$DBT_TARGET_PATH, `target` by default: dbt's own variable, which dagster-dbt's
# invocations follow too. Processes that run pipelines side by side (the test suite's workers)
# each take their own, so none reads a manifest another is rewriting.
DBT_TARGET_PATH = os.environ.get("DBT_TARGET_PATH", "target")

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
    """Parse the project when the manifest is missing (or always, with refresh=True).

    `dagster dev` re-parses by itself (prepare_if_dev); `tiers run` refreshes so a pulled change
    to the models is never run against a stale manifest, and does it with the run's `as_of`:
    its dbt steps (and a later `tiers dbt --as-of` with the same date on the same warehouse)
    then find the partial-parse state valid for their vars instead of parsing everything again.
    The parse is a plain `dbt parse` subprocess, without dagster-dbt's preparer and its
    in-process adapter (TiersDbtCliResource).
    """
    if refresh or not dbt_project.manifest_path.exists():
        _parse(as_of)
    else:
        dbt_project.prepare_if_dev()


def _parse(as_of: date | None) -> None:
    target = dbt_project.project_dir / dbt_project.target_path
    env = {**os.environ, "DBT_TARGET_PATH": str(target), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    completed = subprocess.run(
        ["dbt", *parse_args(as_of)],
        cwd=dbt_project.project_dir,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).strip()
        raise RuntimeError(f"dbt parse failed in {dbt_project.project_dir}:\n{output}")
