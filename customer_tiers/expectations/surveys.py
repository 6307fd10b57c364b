"""Expectations for raw.surveys: every score on its documented scale."""

from __future__ import annotations

import great_expectations as gx
import great_expectations.expectations as gxe

from customer_tiers.expectations.runner import contract_expectations, error
from customer_tiers.ingest.sources import SURVEYS

RECOMMEND = ["yes", "maybe", "no"]


def build_suite() -> gx.ExpectationSuite:
    return gx.ExpectationSuite(
        name=SURVEYS.name,
        expectations=[
            *contract_expectations(SURVEYS),
            # nps_score is INTEGER in raw, so the range is all that is left of "integer 0-10".
            gxe.ExpectColumnValuesToBeBetween(
                column="nps_score", min_value=0, max_value=10, **error()
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="csat_score", min_value=1, max_value=5, **error()
            ),
            gxe.ExpectColumnValuesToBeBetween(
                column="repurchase_intent", min_value=0, max_value=100, **error()
            ),
            gxe.ExpectColumnValuesToBeInSet(column="recommend", value_set=RECOMMEND, **error()),
        ],
    )
