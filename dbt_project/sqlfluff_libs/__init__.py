"""Jinja context for sqlfluff's linting of the dbt models.

sqlfluff renders the models with plain Jinja, not dbt; `var()` must return the real
configuration (config/tiers.yml) so the configuration-driven macros render as they do in dbt.
"""

from typing import Any

from orchestration.config import load_config

_VARS = load_config().dbt_vars(None)


def var(name: str, default: Any = None) -> Any:
    return _VARS.get(name, default) if _VARS.get(name) is not None else default
