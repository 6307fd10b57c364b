"""Expectations for raw.feedback: the contract (rating 1-5, from ingest/sources.py)."""

from __future__ import annotations

import great_expectations as gx

from customer_tiers.expectations.runner import contract_expectations
from customer_tiers.ingest.sources import FEEDBACK


def build_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(name=FEEDBACK.name, expectations=contract_expectations(FEEDBACK))
