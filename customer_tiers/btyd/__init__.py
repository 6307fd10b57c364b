"""Buy-till-you-die models in numpy/scipy: BG/NBD purchase counts, Gamma-Gamma spend, CLV.

Inputs are the usual per-customer summary in days: ``x`` repeat purchase days (distinct
purchase days after the first), ``t_x`` days from the first to the last purchase day, ``T``
days from the first purchase day to the analysis date, ``m`` mean value of the repeat
purchase days. Every likelihood accepts ``weights`` (counts of identical rows).
"""

from customer_tiers.btyd._common import FitError, FitResult
from customer_tiers.btyd.bgnbd import (
    BGNBD_PARAMS,
    HoldoutTable,
    bgnbd_log_likelihood,
    expected_purchases,
    expected_purchases_new,
    fit_bgnbd,
    holdout_table,
    p_alive,
)
from customer_tiers.btyd.clv import CLVResult, month_grid, predicted_clv
from customer_tiers.btyd.gamma_gamma import (
    GAMMA_GAMMA_PARAMS,
    expected_avg_value,
    fit_gamma_gamma,
    gamma_gamma_log_likelihood,
)

__all__ = [
    "BGNBD_PARAMS",
    "GAMMA_GAMMA_PARAMS",
    "CLVResult",
    "FitError",
    "FitResult",
    "HoldoutTable",
    "bgnbd_log_likelihood",
    "expected_avg_value",
    "expected_purchases",
    "expected_purchases_new",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "gamma_gamma_log_likelihood",
    "holdout_table",
    "month_grid",
    "p_alive",
    "predicted_clv",
]
