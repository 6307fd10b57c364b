"""Expectations for raw.surveys: the contract (scores on their scales, from ingest/sources.py)."""

from __future__ import annotations

import great_expectations as gx

from customer_tiers.expectations.runner import contract_expectations
from customer_tiers.ingest.sources import SURVEYS


def build_suite() -> gx.ExpectationSuite:
    # nps_score 0-10, csat_score 1-5, repurchase_intent 0-100: the loader quarantines a value
    # outside them (and a recommend answer other than yes, maybe, no); the contract's
    # expectations guard that raw holds none.
    return gx.ExpectationSuite(name=SURVEYS.name, expectations=contract_expectations(SURVEYS))
