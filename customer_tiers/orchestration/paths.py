"""Where the files shipped with the project are, and where dbt writes its own.

In the source tree the default configuration and the dbt project sit at the root (config/,
dbt_project/); a wheel (`pip install .`) carries them inside the package as customer_tiers/config
and customer_tiers/dbt_project (pyproject.toml). An installed package may be read-only or shared
by several users, so dbt's artifacts (manifest, partial-parse state, run results, logs) then go
to a folder of the user's cache instead of the dbt project.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = PACKAGE_DIR.parent


def shipped_path(name: str) -> Path:
    """The shipped folder `name` (`config`, `dbt_project`): inside the installed package, else at
    the root of the source tree (a checkout, or the editable install of `make install`)."""
    packaged = PACKAGE_DIR / name
    return packaged if packaged.is_dir() else REPO_ROOT / name


DBT_PROJECT_DIR = shipped_path("dbt_project")


def dbt_artifacts_base() -> Path:
    """What dbt's relative target and log paths are relative to: the dbt project in the source
    tree; for an installed package, $XDG_CACHE_HOME/customer-tiers/dbt-<digest of the install>
    (~/.cache by default), so two installations never share a manifest."""
    if DBT_PROJECT_DIR.parent == REPO_ROOT:
        return DBT_PROJECT_DIR
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    digest = hashlib.sha256(str(DBT_PROJECT_DIR).encode()).hexdigest()[:12]
    return cache / "customer-tiers" / f"dbt-{digest}"


def dbt_artifacts_environment() -> dict[str, str]:
    """DBT_TARGET_PATH and DBT_LOG_PATH as absolute paths (their values, `target` and `logs` by
    default, taken relative to dbt_artifacts_base()): every dbt invocation, dagster-dbt's
    included, writes there whatever its working folder."""
    base = dbt_artifacts_base()
    return {
        "DBT_TARGET_PATH": str(base / os.environ.get("DBT_TARGET_PATH", "target")),
        "DBT_LOG_PATH": str(base / os.environ.get("DBT_LOG_PATH", "logs")),
    }
