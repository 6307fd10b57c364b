"""Expectations for raw.staff."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from customer_tiers.expectations.runner import contract_expectations, error
from customer_tiers.ingest.sources import STAFF


def build_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=STAFF.name,
        expectations=[
            *contract_expectations(STAFF),
            # Capacity bounds account-manager assignment; a negative one cannot be honoured.
            gxe.ExpectColumnValuesToBeBetween(column="capacity", min_value=0, **error()),
        ],
    )
