"""Expectations for raw.feedback."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from customer_tiers.expectations.runner import contract_expectations, error
from customer_tiers.ingest.sources import FEEDBACK


def build_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=FEEDBACK.name,
        expectations=[
            *contract_expectations(FEEDBACK),
            gxe.ExpectColumnValuesToBeBetween(column="rating", min_value=1, max_value=5, **error()),
        ],
    )
