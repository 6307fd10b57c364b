"""The source contract: which files a business drops in and what their columns mean.

One place for the column lists, so the readers, the Great Expectations suites, the demo-data
generator and the tests agree. The dbt sources (dbt_project/models/staging/_shop__sources.yml)
describe the same tables; tests/unit/test_sources_contract.py keeps the two in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
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


# Dates of events (orders, feedback, answers) before this day are typos or placeholders
# (1900-01-01, 0001-01-01); the row is quarantined (docs/contract.md, quarantine rules).
EARLIEST_EVENT = date(1990, 1, 1)
# An event dated more than this many days after the main body of its source's dates is a typo
# (2150 for 2015): quarantined, so it can never move the default analysis date. The main body
# is the run of days with no gap longer than this that holds the most rows, the earlier on a tie
# (ingest/loader.py).
FAR_FUTURE_GAP_DAYS = 365

Bound = int | float | date


@dataclass(frozen=True)
class Column:
    """A contract column. A parsed value outside [min_value, max_value] or, for text, not in
    `allowed` (compared lower-cased) is quarantined with its reason, as is an unparseable one;
    `event_time` adds the far-future rule (FAR_FUTURE_GAP_DAYS)."""

    name: str
    type: ColumnType
    required: bool = False
    description: str = ""
    personal: PersonalKind | None = None  # masked or hashed as it is loaded (ingest/privacy.py)
    # Other header spellings (snake case) taken for this column when its own name is absent.
    aliases: tuple[str, ...] = ()
    min_value: Bound | None = None
    max_value: Bound | None = None
    allowed: tuple[str, ...] | None = None
    event_time: bool = False


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

# Header spellings of the customers' phone and e-mail seen in exports (`Mobile No.`, `E-mail`,
# 手机号), matched in snake case (ingest.loader.snake_case).
PHONES = (
    "mobile", "mobile_no", "mobile_number", "mobile_phone", "phone_no", "phone_number", "tel",
    "telephone", "cell", "cell_phone", "手机", "手机号", "手机号码", "电话", "联系电话",
)  # fmt: skip
EMAILS = ("e_mail", "email_address", "e_mail_address", "mail", "邮箱", "电子邮箱")

CUSTOMERS = SourceSpec(
    name="customers",
    grain="one row per customer",
    key="customer_id",
    columns=(
        Column("customer_id", "varchar", True, "the business's customer identifier"),
        Column(
            "name",
            "varchar",
            description="customer name (personal data)",
            personal="name",
            aliases=("customer_name", "full_name", "姓名", "客户姓名"),
        ),
        Column("gender", "varchar", description="F, M, other or empty"),
        Column("birth_date", "date"),
        Column("city", "varchar"),
        Column("region", "varchar"),
        Column("income_band", "varchar"),
        Column("occupation", "varchar"),
        Column("signup_date", "date"),
        Column("member_level", "varchar"),
        Column("phone", "varchar", description="personal data", personal="phone", aliases=PHONES),
        Column("email", "varchar", description="personal data", personal="email", aliases=EMAILS),
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
        Column(
            "ordered_at",
            "timestamp",
            True,
            "date or timestamp of the order",
            min_value=EARLIEST_EVENT,
            event_time=True,
        ),
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
        Column("capacity", "integer", description="maximum number of customers", min_value=0),
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
        Column("created_at", "timestamp", True, min_value=EARLIEST_EVENT, event_time=True),
        Column("channel", "varchar"),
        Column("category", "varchar"),
        Column("rating", "integer", description="1-5", min_value=1, max_value=5),
        Column("text", "varchar"),
    ),
)

RECOMMEND = ("yes", "maybe", "no")

SURVEYS = SourceSpec(
    name="surveys",
    landing=True,
    grain="one row per survey response",
    key="response_id",
    columns=(
        Column("response_id", "varchar", True),
        Column("customer_id", "varchar"),
        Column("responded_at", "timestamp", True, min_value=EARLIEST_EVENT, event_time=True),
        Column("nps_score", "integer", description="0-10", min_value=0, max_value=10),
        Column("csat_score", "integer", description="1-5", min_value=1, max_value=5),
        Column(
            "repurchase_intent",
            "double",
            description="0-100, percent",
            min_value=0,
            max_value=100,
        ),
        Column("recommend", "varchar", description="yes, maybe or no", allowed=RECOMMEND),
        Column("comment", "varchar"),
    ),
)

SOURCES: dict[str, SourceSpec] = {
    s.name: s for s in (CUSTOMERS, ORDERS, PRODUCTS, STAFF, FEEDBACK, SURVEYS)
}
