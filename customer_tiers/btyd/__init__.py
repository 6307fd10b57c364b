"""Buy-till-you-die models in numpy/scipy: BG/NBD, MBG/NBD and Pareto/NBD purchase counts,
Gamma-Gamma spend, CLV, next-purchase predictions and customer-level predictive intervals.

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
from customer_tiers.btyd.mbgnbd import (
    MBGNBD_PARAMS,
    fit_mbgnbd,
    mbgnbd_expected_purchases,
    mbgnbd_log_likelihood,
    mbgnbd_p_alive,
)
from customer_tiers.btyd.model_clv import holdout_log_likelihood, model_predicted_clv
from customer_tiers.btyd.next_purchase import (
    PURCHASE_MODELS,
    median_time_to_next_purchase,
    model_expected_purchases,
    model_p_alive,
    next_purchase_table,
    p_buy_again_given_alive,
    prob_purchase_within,
)
from customer_tiers.btyd.pareto_nbd import (
    PARETO_NBD_PARAMS,
    fit_pareto_nbd,
    pareto_nbd_expected_purchases,
    pareto_nbd_log_likelihood,
    pareto_nbd_p_alive,
)
from customer_tiers.btyd.predictive import PredictiveInterval, predictive_interval

__all__ = [
    "BGNBD_PARAMS",
    "GAMMA_GAMMA_PARAMS",
    "MBGNBD_PARAMS",
    "PARETO_NBD_PARAMS",
    "PURCHASE_MODELS",
    "CLVResult",
    "FitError",
    "FitResult",
    "HoldoutTable",
    "PredictiveInterval",
    "bgnbd_log_likelihood",
    "expected_avg_value",
    "expected_purchases",
    "expected_purchases_new",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "fit_mbgnbd",
    "fit_pareto_nbd",
    "gamma_gamma_log_likelihood",
    "holdout_log_likelihood",
    "holdout_table",
    "mbgnbd_expected_purchases",
    "mbgnbd_log_likelihood",
    "mbgnbd_p_alive",
    "median_time_to_next_purchase",
    "model_expected_purchases",
    "model_p_alive",
    "model_predicted_clv",
    "month_grid",
    "next_purchase_table",
    "p_alive",
    "p_buy_again_given_alive",
    "pareto_nbd_expected_purchases",
    "pareto_nbd_log_likelihood",
    "pareto_nbd_p_alive",
    "predicted_clv",
    "predictive_interval",
    "prob_purchase_within",
]
