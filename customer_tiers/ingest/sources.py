"""The source contract: which files a business drops in and what their columns mean.

One place for the column lists, so the readers, the Great Expectations suites, the demo-data
generator and the tests agree. The dbt sources (dbt_project/models/staging/_shop__sources.yml)
describe the same tables; tests/unit/test_sources_contract.py keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from customer_tiers.ingest.privacy import PersonalKind

# The DuckDB type each value is parsed into in schema `raw`. Money is DECIMAL so sums are exact
# and reruns give byte-identical marts (floating-point sums depend on thread scheduling).
ColumnType = Literal["varchar", "date", "timestamp", "decimal", "double", "integer", "boolean"]

DUCKDB_TYPES: dict[ColumnType, str] = {
    "varchar": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "decimal": "DECIMAL(18,4)",
    "double": "DOUBLE",
    "integer": "INTEGER",
    "boolean": "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    name: str
    type: ColumnType
    required: bool = False
    description: str = ""
    personal: PersonalKind | None = None  # masked or hashed as it is loaded (ingest/privacy.py)


@dataclass(frozen=True)
class SourceSpec:
    """One source file (`<stem>.csv` or `<stem>.parquet`) and the raw table it loads into."""

    name: str
    grain: str
    columns: tuple[Column, ...]
    key: str | None = None  # unique per row when set
    required_file: bool = False
    # A fact source: besides `<stem>.csv`, any number of files dropped into the folder `<stem>/`
    # are loaded once each and appended (ingest/landing.py).
    landing: bool = False

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


# Lineage columns added to every raw table by the loader.
LINEAGE_COLUMNS: tuple[Column, ...] = (
    Column("_source_file", "varchar", description="path of the file the row came from"),
    Column("_row_number", "integer", description="1-based data row in that file (header excluded)"),
    Column("_run_id", "varchar", description="Dagster run that loaded the row"),
)

CUSTOMERS = SourceSpec(
    name="customers",
    grain="one row per customer",
    key="customer_id",
    columns=(
        Column("customer_id", "varchar", True, "the business's customer identifier"),
        Column("name", "varchar", description="customer name (personal data)", personal="name"),
        Column("gender", "varchar", description="F, M, other or empty"),
        Column("birth_date", "date"),
        Column("city", "varchar"),
        Column("region", "varchar"),
        Column("income_band", "varchar"),
        Column("occupation", "varchar"),
        Column("signup_date", "date"),
        Column("member_level", "varchar"),
        Column("phone", "varchar", description="personal data", personal="phone"),
        Column("email", "varchar", description="personal data", personal="email"),
        Column("account_manager_id", "varchar", description="staff_id of the current manager"),
        Column("interests", "varchar", description="';'-separated interests"),
    ),
)

ORDERS = SourceSpec(
    name="orders",
    landing=True,
    grain="one row per order line",
    required_file=True,
    columns=(
        Column("order_id", "varchar", True, "order identifier; repeated on each line"),
        Column("customer_id", "varchar", True),
        Column("ordered_at", "timestamp", True, "date or timestamp of the order"),
        Column("product_id", "varchar"),
        Column("quantity", "double"),
        Column("amount", "decimal", True, "net revenue of the line, negative for a return"),
        Column("cost", "decimal", description="cost of goods of the line"),
        Column("channel", "varchar"),
        Column("store_id", "varchar"),
    ),
)

PRODUCTS = SourceSpec(
    name="products",
    grain="one row per product",
    key="product_id",
    columns=(
        Column("product_id", "varchar", True),
        Column("name", "varchar"),
        Column("category", "varchar"),
        Column("unit_cost", "decimal", description="fallback cost when a line has none"),
    ),
)

STAFF = SourceSpec(
    name="staff",
    grain="one row per account manager",
    key="staff_id",
    columns=(
        Column("staff_id", "varchar", True),
        Column("name", "varchar"),
        Column("store_id", "varchar"),
        Column("capacity", "integer", description="maximum number of customers"),
        Column("active", "boolean"),
    ),
)

FEEDBACK = SourceSpec(
    name="feedback",
    landing=True,
    grain="one row per feedback item",
    key="feedback_id",
    columns=(
        Column("feedback_id", "varchar", True),
        Column("customer_id", "varchar"),
        Column("created_at", "timestamp", True),
        Column("channel", "varchar"),
        Column("category", "varchar"),
        Column("rating", "integer", description="1-5"),
        Column("text", "varchar"),
    ),
)

SURVEYS = SourceSpec(
    name="surveys",
    landing=True,
    grain="one row per survey response",
    key="response_id",
    columns=(
        Column("response_id", "varchar", True),
        Column("customer_id", "varchar"),
        Column("responded_at", "timestamp", True),
        Column("nps_score", "integer", description="0-10"),
        Column("csat_score", "integer", description="1-5"),
        Column("repurchase_intent", "double", description="0-100, percent"),
        Column("recommend", "varchar", description="yes, maybe or no"),
        Column("comment", "varchar"),
    ),
)

SOURCES: dict[str, SourceSpec] = {
    s.name: s for s in (CUSTOMERS, ORDERS, PRODUCTS, STAFF, FEEDBACK, SURVEYS)
}
