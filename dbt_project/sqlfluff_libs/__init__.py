"""Jinja context for sqlfluff's linting of the dbt models.

sqlfluff renders the models with plain Jinja, not dbt; `var()` must return the real
configuration (config/tiers.yml) so the configuration-driven macros render as they do in dbt.
"""

import os
from typing import Any

import jinja2

from orchestration.config import load_config

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


class _Target:
    """dbt's `target`: the models are linted as DuckDB renders them (the default target)."""

    type = "duckdb"
    name = "duckdb"
    schema = "main"


target = _Target()


class _Adapter:
    """dbt's `adapter.dispatch`, resolved to the `default__` macro (DuckDB's form), which the
    Jinja context holds: sqlfluff loads every macro of dbt_project/macros into it."""

    @staticmethod
    @jinja2.pass_context
    def dispatch(context: Any, name: str, macro_namespace: str | None = None) -> Any:
        return context[f"default__{name}"]


adapter = _Adapter()


class _Dbt:
    """dbt's cross-database macros the models use, as dbt-duckdb renders them."""

    @staticmethod
    def type_string() -> str:
        return "varchar"


dbt = _Dbt()
