"""The dbt layers only read downwards (issue 18 item 4): staging reads sources and staging,
intermediate never reads a mart. Checked on the models' SQL (`ref(...)` calls), without dbt.

A mart whose logic an intermediate model needs is a select of an intermediate model that
holds the logic (customer_rfm of int_customers_rfm_scored, ...), so the rule costs nothing.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

MODELS = Path(__file__).resolve().parents[2] / "dbt_project" / "models"
# ref('model'), ref("model"), ref('package', 'model'), with any spacing; version args ignored
REF = re.compile(r"""\bref\(\s*['"](\w+)['"](?:\s*,\s*['"](\w+)['"])?""")


def layers(models: Path) -> dict[str, str]:
    """Each model's layer: the first folder under models/ (staging, intermediate, marts, ...)."""
    found: dict[str, str] = {}
    for sql in sorted(models.rglob("*.sql")):
        assert sql.stem not in found, f"two models named {sql.stem}"
        found[sql.stem] = sql.relative_to(models).parts[0]
    return found


def refs(sql: Path) -> list[str]:
    """The models a model's SQL refs (the model name of a two-argument ref)."""
    text = sql.read_text(encoding="utf-8")
    return [second or first for first, second in REF.findall(text)]


def violations(models: Path) -> list[str]:
    """Every ref that reads upwards: staging of a non-staging model, intermediate of a mart;
    and every ref of a model that does not exist (a name the pattern got wrong)."""
    layer = layers(models)
    allowed = {"staging": {"staging"}, "intermediate": {"staging", "intermediate"}}
    found = []
    for sql in sorted(models.rglob("*.sql")):
        own = layer[sql.stem]
        for name in refs(sql):
            if name not in layer:
                found.append(f"{sql.stem} refs unknown model {name}")
            elif own in allowed and layer[name] not in allowed[own]:
                found.append(f"{own} model {sql.stem} refs {layer[name]} model {name}")
    return found


def test_models_only_read_downwards() -> None:
    assert violations(MODELS) == []


def test_the_layers_are_where_the_rule_expects_them() -> None:
    layer = layers(MODELS)
    assert {"staging", "intermediate", "marts"} <= set(layer.values())
    assert layer["int_customers_lifecycled"] == "intermediate"
    assert layer["customer_rfm"] == "marts"
    # the models the tiers read through intermediate models, not the marts
    lifecycled = refs(next(MODELS.rglob("int_customers_lifecycled.sql")))
    assert {"int_customers_rfm_scored", "int_customers_clv_joined"} <= set(lifecycled)


@pytest.mark.parametrize(
    ("model", "sql", "expected"),
    [
        (
            "intermediate/int_a.sql",
            "select * from {{ ref('mart_b') }}",
            ["intermediate model int_a refs marts model mart_b"],
        ),
        (
            "staging/stg_a.sql",
            'select * from {{ ref( "int_c" ) }}',
            ["staging model stg_a refs intermediate model int_c"],
        ),
        ("intermediate/int_a.sql", "select * from {{ ref('pkg', 'mart_b') }}", ["refs marts"]),
        ("intermediate/int_a.sql", "select * from {{ ref('int_c') }}", []),
        ("marts/x/mart_d.sql", "select * from {{ ref('mart_b') }}", []),
        ("intermediate/int_a.sql", "select * from {{ ref('nowhere') }}", ["unknown model"]),
    ],
)
def test_violations_are_found(tmp_path: Path, model: str, sql: str, expected: list[str]) -> None:
    """The check itself: a small project where one model reads as given."""
    files = {
        "staging/stg_a.sql": "select * from {{ source('shop', 'a') }}",
        "intermediate/int_a.sql": "select 1 as x",
        "intermediate/int_c.sql": "select * from {{ ref('stg_a') }}",
        "marts/mart_b.sql": "select * from {{ ref('int_c') }}",
        "marts/x/mart_d.sql": "select 1 as x",
    }
    files[model] = sql
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = violations(tmp_path)
    assert len(found) == len(expected)
    for message, part in zip(found, expected, strict=True):
        assert part in message
