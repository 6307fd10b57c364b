"""The dbt source declarations and the Python source contract describe the same columns."""

from pathlib import Path

import yaml

from customer_tiers.ingest.sources import SOURCES

SOURCES_YML = (
    Path(__file__).parents[2] / "dbt_project" / "models" / "staging" / "_shop__sources.yml"
)


def test_dbt_sources_match_the_contract() -> None:
    declared = yaml.safe_load(SOURCES_YML.read_text(encoding="utf-8"))["sources"][0]
    tables = {t["name"]: t for t in declared["tables"]}
    assert set(tables) == set(SOURCES)
    for name, spec in SOURCES.items():
        assert [c["name"] for c in tables[name]["columns"]] == spec.column_names, name
        assert tables[name]["meta"]["dagster"]["asset_key"] == ["raw", name]


def test_contract_doc_lists_every_source_column() -> None:
    contract = (Path(__file__).parents[2] / "docs" / "contract.md").read_text(encoding="utf-8")
    for name, spec in SOURCES.items():
        row = next(line for line in contract.splitlines() if line.startswith(f"| `{name}` |"))
        for column in spec.column_names:
            assert column in row, f"{column} of {name} missing from docs/contract.md"
        for column in spec.required_columns:
            assert f"**{column}**" in row, f"required {column} of {name} not bold in the contract"
