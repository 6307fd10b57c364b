"""Expectations for raw.customers: the contract plus plausibility of personal attributes."""

from __future__ import annotations

import datetime as dt

import great_expectations as gx
import great_expectations.expectations as gxe

from customer_tiers.expectations.runner import contract_expectations, warning
from customer_tiers.ingest.sources import CUSTOMERS

# Exports spell gender many ways ("female", "女", ...); staging maps them, so this only reports.
GENDERS = ["F", "M", "other"]


def build_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=CUSTOMERS.name,
        expectations=[
            *contract_expectations(CUSTOMERS),
            gxe.ExpectColumnValuesToBeInSet(column="gender", value_set=GENDERS, **warning()),
            gxe.ExpectColumnValuesToBeBetween(
                column="birth_date",
                min_value=dt.date(1900, 1, 1),
                max_value=dt.date(2100, 1, 1),
                **warning(),
            ),
        ],
    )
