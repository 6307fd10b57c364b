"""Expectations for raw.products."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from customer_tiers.expectations.runner import contract_expectations, warning
from customer_tiers.ingest.sources import PRODUCTS


def build_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=PRODUCTS.name,
        expectations=[
            *contract_expectations(PRODUCTS),
            # Only a fallback cost: a bad one skews some margins but should not stop the run.
            gxe.ExpectColumnValuesToBeBetween(column="unit_cost", min_value=0, **warning()),
        ],
    )
