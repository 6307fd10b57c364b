"""Experiments on the actions: held-out control groups and the measured effect of each action.

Pure functions on pandas DataFrames (no warehouse, no clock), used by both engines through the
Dagster asset (orchestration/defs/experiments.py), which reads and writes through the engine.
"""

from customer_tiers.experiments.effects import (
    ALPHA,
    EFFECT_COLUMNS,
    MEMBER_COLUMNS,
    POWER,
    SRM_THRESHOLD,
    GroupEffect,
    action_effects,
    conversion_test,
    group_effect,
    min_detectable_lift,
    revenue_interval,
    srm_test,
)

__all__ = [
    "ALPHA",
    "EFFECT_COLUMNS",
    "MEMBER_COLUMNS",
    "POWER",
    "SRM_THRESHOLD",
    "GroupEffect",
    "action_effects",
    "conversion_test",
    "group_effect",
    "min_detectable_lift",
    "revenue_interval",
    "srm_test",
]
