"""The dbt project as Dagster sees it, and how its manifest is kept current."""

from __future__ import annotations

from dagster_dbt import DbtProject

from orchestration.config import REPO_ROOT, load_config

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

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
