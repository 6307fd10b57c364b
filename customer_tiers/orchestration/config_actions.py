"""The `actions` section of config/tiers.yml: the action plan, its control groups, and the
economics that decide between a win-back and letting a customer go (docs/actions.md)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# The action types of customer_actions, in the order a customer's main action is chosen.
ActionType = Literal["win_back", "reactivation", "detractor_followup", "callback"]
ACTION_TYPES: tuple[str, ...] = ("win_back", "reactivation", "detractor_followup", "callback")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExperimentsConfig(_Strict):
    """Control groups: a hash of (customer_id, experiment_id, salt) below holdout_share holds
    the customer out of an experiment's action; experiment_id is '<action>-<version>'."""

    salt: str = Field(min_length=1)
    version: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.]+$")
    holdout_share: float = Field(ge=0, lt=1)
    window_days: int = Field(ge=1, le=366)
    actions: list[ActionType] = []


class EconomicsConfig(_Strict):
    """A win-back or reactivation is worth its cost (churn.win_back_cost) when value at stake x
    lift x margin covers it; lift is the measured one (marts.action_effects of the previous run,
    when significant) or assumed_lift."""

    margin: float = Field(gt=0, le=1)
    assumed_lift: float = Field(gt=0, le=1)
    significance: float = Field(gt=0, lt=1)


class ActionsConfig(_Strict):
    horizon_days: int = Field(ge=1, le=366)
    detractor_followup_days: int = Field(ge=0, le=366)
    experiments: ExperimentsConfig
    economics: EconomicsConfig
