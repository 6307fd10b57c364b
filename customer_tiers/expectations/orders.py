"""Expectations for raw.orders, the one source every run needs."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from customer_tiers.expectations.runner import contract_expectations, error, warning
from customer_tiers.ingest.sources import ORDERS


def build_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=ORDERS.name,
        expectations=[
            # The contract covers order_id, customer_id, ordered_at and amount not null, ordered_at
            # from 1990.
            *contract_expectations(ORDERS),
            gxe.ExpectTableRowCountToBeBetween(min_value=1, **error()),
            gxe.ExpectColumnValuesToBeBetween(
                column="quantity", min_value=-10_000, max_value=10_000, **warning()
            ),
            # ordered_at before 1990 or far after the other orders is quarantined by the loader
            # (ingest/sources.py); orders after the analysis date are legitimate (backfills,
            # time zones) and are cut off by the models.
            # Returns are negative lines; if they are the majority, the sign is likely flipped.
            gxe.ExpectColumnValuesToBeBetween(
                column="amount", min_value=0, mostly=0.5, **warning()
            ),
        ],
    )
