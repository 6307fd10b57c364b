"""Jinja context for sqlfluff's linting of the dbt models.

sqlfluff renders the models with plain Jinja, not dbt; `var()` must return the real
configuration (config/tiers.yml) so the configuration-driven macros render as they do in dbt.
"""

import os
from typing import Any

import jinja2

from customer_tiers.orchestration.config import load_config

_VARS = load_config().dbt_vars(None)


def var(name: str, default: Any = None) -> Any:
    return _VARS.get(name, default) if _VARS.get(name) is not None else default


def env_var(name: str, default: str | None = None) -> str:
    """dbt's `env_var()`: the environment's value (TIERS_AS_OF, the analysis date), else the
    default."""
    value = os.environ.get(name, default)
    if value is None:
        raise KeyError(f"env_var: {name} is not set and has no default")
    return value


# Which engine's rendering is linted: duckdb (the default), or spark with TIERS_SQLFLUFF_TARGET
# set and sqlfluff's sparksql dialect (`make lint` runs both).
_ENGINE = os.environ.get("TIERS_SQLFLUFF_TARGET", "duckdb")


class _Target:
    """dbt's `target`: the engine being linted."""

    type = _ENGINE
    name = _ENGINE
    schema = "main"


target = _Target()


class _Adapter:
    """dbt's `adapter.dispatch`: the engine's own macro (`spark__...`) when the project has
    one, else the `default__` macro (DuckDB's form); the Jinja context holds them all, since
    sqlfluff loads every macro of dbt_project/macros into it."""

    @staticmethod
    @jinja2.pass_context
    def dispatch(context: Any, name: str, macro_namespace: str | None = None) -> Any:
        own = context.get(f"{_ENGINE}__{name}")
        return own if own is not None else context[f"default__{name}"]

    @staticmethod
    def quote(identifier: str) -> str:
        """dbt's `adapter.quote`: backticks on Spark, double quotes on DuckDB."""
        return f"`{identifier}`" if _ENGINE == "spark" else f'"{identifier}"'


adapter = _Adapter()


class _Dbt:
    """dbt's cross-database macros the models use, as the engine's adapter renders them."""

    @staticmethod
    def type_string() -> str:
        return "string" if _ENGINE == "spark" else "varchar"


dbt = _Dbt()
