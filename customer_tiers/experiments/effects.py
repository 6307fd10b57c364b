"""The measured effect of each experiment's action: treated customers against held-out ones.

Input: one row per cohort member (MEMBER_COLUMNS): the cohort (`experiment_id`, `action`,
`as_of`), the customer, `holdout` (true = control, not contacted), `purchased` (at least one
purchase in the window after `as_of`) and `revenue` (net revenue in that window, 0 without an
order). Output: one row per cohort (`scope` 'cohort') and one per (experiment_id, action) over its
cohorts (`scope` 'pooled', `as_of` null), with EFFECT_COLUMNS.

The pooled row counts each customer once, in the first cohort they were in: a customer listed on
many days would otherwise weigh many times and their overlapping windows would not be
independent observations. The hold-out is a hash of the customer and the experiment, so it is
the same in every cohort of a customer.

Every statistic comes from statsmodels / scipy (never a hand-written formula):
- `p_value`: two-sided two-proportion z-test, pooled variance (proportions_ztest);
- `lift_ci_*`: Newcombe's hybrid score interval, method 10 (confint_proportions_2indep newcomb);
- `revenue_lift_ci_*`: Welch's interval for the difference of the mean window revenue
  (CompareMeans of two DescrStatsW, usevar="unequal");
- `srm_p_value`: chi-square goodness of fit of the treatment/control split against the planned
  hold-out share (scipy.stats.chisquare), flagged below SRM_THRESHOLD: a split that far from
  plan means the hold-out did not work as designed and the effect should not be trusted;
- `min_detectable_lift`: the smallest rate lift over the control rate this cohort's sizes detect
  with 80% power at two-sided alpha 0.05 (NormalIndPower, Cohen's h turned back into points).
A statistic that is undefined for the data (an empty group, no variance) is null, not invented.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.stats import chisquare
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

ALPHA = 0.05
POWER = 0.8
SRM_THRESHOLD = 0.001

MEMBER_COLUMNS = (
    "experiment_id",
    "action",
    "as_of",
    "customer_id",
    "holdout",
    "purchased",
    "revenue",
)
EFFECT_COLUMNS = (
    "experiment_id",
    "action",
    "scope",
    "as_of",
    "cohorts",
    "first_as_of",
    "last_as_of",
    "window_days",
    "planned_holdout_share",
    "n_treatment",
    "n_control",
    "buyers_treatment",
    "buyers_control",
    "rate_treatment",
    "rate_control",
    "lift",
    "lift_ci_low",
    "lift_ci_high",
    "p_value",
    "revenue_per_customer_treatment",
    "revenue_per_customer_control",
    "revenue_lift",
    "revenue_lift_ci_low",
    "revenue_lift_ci_high",
    "srm_p_value",
    "srm_flag",
    "min_detectable_lift",
)


@dataclass(frozen=True)
class GroupEffect:
    """The statistics of one treatment/control comparison (one output row without its keys)."""

    n_treatment: int
    n_control: int
    buyers_treatment: int
    buyers_control: int
    rate_treatment: float | None
    rate_control: float | None
    lift: float | None
    lift_ci_low: float | None
    lift_ci_high: float | None
    p_value: float | None
    revenue_per_customer_treatment: float | None
    revenue_per_customer_control: float | None
    revenue_lift: float | None
    revenue_lift_ci_low: float | None
    revenue_lift_ci_high: float | None
    srm_p_value: float | None
    srm_flag: bool | None
    min_detectable_lift: float | None


def _finite(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def conversion_test(
    buyers_t: int, n_t: int, buyers_c: int, n_c: int
) -> tuple[float | None, float | None, float | None]:
    """(p_value, lift_ci_low, lift_ci_high) of rate_t - rate_c; None where undefined."""
    if n_t == 0 or n_c == 0:
        return None, None, None
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        # pooled variance (prop_var=False): undefined when everyone or no one bought
        _, p_value = proportions_ztest([buyers_t, buyers_c], [n_t, n_c], alternative="two-sided")
        low, high = confint_proportions_2indep(
            buyers_t, n_t, buyers_c, n_c, method="newcomb", compare="diff", alpha=ALPHA
        )
    return _finite(p_value), _finite(low), _finite(high)


def min_detectable_lift(n_t: int, n_c: int, rate_c: float | None) -> float | None:
    """The smallest rate lift over `rate_c` detected with POWER at two-sided ALPHA.

    NormalIndPower solves for Cohen's h = 2 asin(sqrt(p_t)) - 2 asin(sqrt(p_c)); p_t follows
    from h and the control rate. None when a group is empty or no rate up to 1 is detectable."""
    if n_t == 0 or n_c == 0 or rate_c is None:
        return None
    h = NormalIndPower().solve_power(
        effect_size=None,
        nobs1=n_t,
        alpha=ALPHA,
        power=POWER,
        ratio=n_c / n_t,
        alternative="two-sided",
    )
    angle = math.asin(math.sqrt(rate_c)) + float(h) / 2
    if not math.isfinite(angle) or angle > math.pi / 2:
        return None
    return math.sin(angle) ** 2 - rate_c


def revenue_interval(
    revenue_t: np.ndarray, revenue_c: np.ndarray
) -> tuple[float | None, float | None]:
    """Welch's 95% interval of mean(revenue_t) - mean(revenue_c); None with fewer than two
    customers in a group or no variance in either."""
    if len(revenue_t) < 2 or len(revenue_c) < 2:
        return None, None
    compare = CompareMeans(DescrStatsW(revenue_t), DescrStatsW(revenue_c))
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = compare.tconfint_diff(alpha=ALPHA, alternative="two-sided", usevar="unequal")
    return _finite(low), _finite(high)


def srm_test(n_t: int, n_c: int, holdout_share: float) -> float | None:
    """p-value of the observed (treatment, control) split against the planned share."""
    total = n_t + n_c
    if total == 0 or not 0 < holdout_share < 1:
        return None
    expected = [total * (1 - holdout_share), total * holdout_share]
    return _finite(chisquare([n_t, n_c], f_exp=expected).pvalue)


def group_effect(members: pd.DataFrame, holdout_share: float) -> GroupEffect:
    """The comparison of one set of members (one cohort, or an action's pooled first cohorts)."""
    control = members["holdout"].to_numpy(dtype=bool)
    purchased = members["purchased"].to_numpy(dtype=bool)
    revenue = members["revenue"].to_numpy(dtype=np.float64)
    n_t, n_c = int((~control).sum()), int(control.sum())
    buyers_t, buyers_c = int(purchased[~control].sum()), int(purchased[control].sum())
    rate_t = buyers_t / n_t if n_t else None
    rate_c = buyers_c / n_c if n_c else None
    lift = rate_t - rate_c if rate_t is not None and rate_c is not None else None
    p_value, low, high = conversion_test(buyers_t, n_t, buyers_c, n_c)
    rev_t = float(revenue[~control].mean()) if n_t else None
    rev_c = float(revenue[control].mean()) if n_c else None
    rev_low, rev_high = revenue_interval(revenue[~control], revenue[control])
    srm = srm_test(n_t, n_c, holdout_share)
    return GroupEffect(
        n_treatment=n_t,
        n_control=n_c,
        buyers_treatment=buyers_t,
        buyers_control=buyers_c,
        rate_treatment=rate_t,
        rate_control=rate_c,
        lift=lift,
        lift_ci_low=low,
        lift_ci_high=high,
        p_value=p_value,
        revenue_per_customer_treatment=rev_t,
        revenue_per_customer_control=rev_c,
        revenue_lift=rev_t - rev_c if rev_t is not None and rev_c is not None else None,
        revenue_lift_ci_low=rev_low,
        revenue_lift_ci_high=rev_high,
        srm_p_value=srm,
        srm_flag=None if srm is None else srm < SRM_THRESHOLD,
        min_detectable_lift=min_detectable_lift(n_t, n_c, rate_c),
    )


def action_effects(
    members: pd.DataFrame, *, holdout_share: float, window_days: int
) -> pd.DataFrame:
    """Effects per cohort and pooled per (experiment_id, action); see the module docstring."""
    missing = [c for c in MEMBER_COLUMNS if c not in members.columns]
    if missing:
        raise ValueError(f"cohort members lack the columns {', '.join(missing)}")
    rows: list[dict[str, object]] = []
    keys = ["experiment_id", "action"]
    ordered = members.sort_values([*keys, "as_of", "customer_id"], kind="stable")
    for (experiment_id, action), experiment in ordered.groupby(keys, sort=True):
        for as_of, cohort in experiment.groupby("as_of", sort=True):
            effect = group_effect(cohort, holdout_share)
            rows.append(
                _row(experiment_id, action, "cohort", as_of, 1, as_of, as_of, effect)
                | {"window_days": window_days, "planned_holdout_share": holdout_share}
            )
        first = experiment.drop_duplicates("customer_id", keep="first")
        effect = group_effect(first, holdout_share)
        dates = experiment["as_of"]
        rows.append(
            _row(
                experiment_id,
                action,
                "pooled",
                None,
                int(dates.nunique()),
                dates.min(),
                dates.max(),
                effect,
            )
            | {"window_days": window_days, "planned_holdout_share": holdout_share}
        )
    return pd.DataFrame(rows, columns=list(EFFECT_COLUMNS))


def _row(
    experiment_id: object,
    action: object,
    scope: str,
    as_of: object,
    cohorts: int,
    first: object,
    last: object,
    effect: GroupEffect,
) -> dict[str, object]:
    return {
        "experiment_id": experiment_id,
        "action": action,
        "scope": scope,
        "as_of": as_of,
        "cohorts": cohorts,
        "first_as_of": first,
        "last_as_of": last,
        **asdict(effect),
    }
