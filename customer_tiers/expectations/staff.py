"""Expectations for raw.staff: the contract (capacity at least 0, from ingest/sources.py)."""

from __future__ import annotations

import great_expectations as gx

from customer_tiers.expectations.runner import contract_expectations
from customer_tiers.ingest.sources import STAFF


def build_suite() -> gx.ExpectationSuite:
    # Capacity bounds account-manager assignment; the loader quarantines a negative one.
    return gx.ExpectationSuite(name=STAFF.name, expectations=contract_expectations(STAFF))
