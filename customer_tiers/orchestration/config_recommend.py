"""The `recommendations` section of config/tiers.yml: the next-best category of every customer
from category co-purchases (marts.category_affinity, marts.customer_next_category)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The lifecycle stages (config.LIFECYCLE_STAGES), spelled here so this module imports nothing
# of config.py, which imports it.
Stage = Literal["prospect", "new", "one_time", "regular", "loyal", "at_risk", "dormant", "churned"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RecommendationsConfig(_Strict):
    """top_k categories per customer; a pair of categories counts as a rule only when the share
    of buying customers who bought both is at least min_support; a category bought more than
    rebuy_after_days days before the analysis date may be offered again (null: never); customers
    in bundle_stages get their first recommendation as a bundle with the category behind it."""

    top_k: int = Field(ge=1, le=100)
    min_support: float = Field(ge=0, le=1)
    rebuy_after_days: int | None = Field(default=None, ge=1)
    bundle_stages: list[Stage] = []
