"""Model-aware CLV and holdout log-likelihood for any of BG/NBD, MBG/NBD and Pareto/NBD.

``predicted_clv`` (clv.py) is BG/NBD's, with its grouped bracket; ``model_predicted_clv`` gives
the same discounted monthly sum and delta-method interval under the fit's own model, from its
conditional expectation E[Y(t) | x, t_x, T] at each month end. ``holdout_log_likelihood`` scores
a fit by the probability it gave each customer's holdout purchase count (the backtest's model
comparison).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import numpy.typing as npt
from scipy.special import expit

from customer_tiers.btyd._common import (
    FitResult,
    FloatArray,
    IntArray,
    Params,
    as_array,
    group_rows,
    param_values,
    summary_arrays,
)
from customer_tiers.btyd.bgnbd import _future_bracket
from customer_tiers.btyd.clv import (
    Z_80,
    CLVResult,
    _central_gradient,
    _covariance,
    month_grid,
    predicted_clv,
)
from customer_tiers.btyd.gamma_gamma import GAMMA_GAMMA_PARAMS, expected_avg_value
from customer_tiers.btyd.mbgnbd import MBGNBD_PARAMS, _log_dead_odds
from customer_tiers.btyd.next_purchase import _model, model_expected_purchases, model_p_alive
from customer_tiers.btyd.pareto_nbd import PARETO_NBD_PARAMS, pareto_nbd_p_alive
from customer_tiers.btyd.predictive import _survival_alive

# A holdout count the model gave (numerically) no probability still scores log(1e-12), so one
# customer cannot make a model's holdout log-likelihood minus infinity.
PROBABILITY_FLOOR = 1e-12


def model_predicted_clv(
    fit: FitResult,
    gg: Params,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    m: npt.ArrayLike,
    horizon_days: float = 365.0,
    monthly_discount_rate: float = 0.01,
    *,
    interval: bool = True,
) -> CLVResult:
    """``predicted_clv`` under the fit's model: sum over months i of
    (E[Y(end_i)] - E[Y(end_{i-1})]) E[M] / (1+d)^i, the interval by the delta method over the
    model's parameters and Gamma-Gamma's (central differences, as ``predicted_clv``)."""
    if _model(fit) == "BG/NBD":
        return predicted_clv(
            fit, gg, x, t_x, T, m, horizon_days, monthly_discount_rate, interval=interval
        )
    xa, ta, Ta = summary_arrays(x, t_x, T)
    ma = as_array("m", m)
    (xu, tu, Tu), idx = group_rows(xa, ta, Ta)  # the sum depends on (x, t_x, T) only
    ends, months = month_grid(horizon_days)
    discount = (1.0 + monthly_discount_rate) ** -months
    names = fit.param_names or tuple(fit.params)
    theta_fit = param_values(fit, names)

    (xp, Tp), pair = group_rows(xu, Tu)

    def purchases(theta: tuple[float, ...]) -> FloatArray:
        moved = dataclasses.replace(fit, params=dict(zip(names, theta, strict=True)))
        upto_by_month = _expected_by_month(moved, ends, xu, tu, Tu, (xp, Tp, pair))
        total, before = np.zeros(len(xu)), np.zeros(len(xu))
        for upto, weight in zip(upto_by_month, discount, strict=True):
            total += (upto - before) * weight
            before = upto
        return total

    def value(theta: tuple[float, ...]) -> FloatArray:
        return expected_avg_value(dict(zip(GAMMA_GAMMA_PARAMS, theta, strict=True)), xa, ma)

    theta_gg = param_values(gg, GAMMA_GAMMA_PARAMS)
    n_purchases = purchases(theta_fit)[idx]
    avg_value = value(theta_gg)
    clv = n_purchases * avg_value
    if not interval:
        nan = np.full_like(clv, np.nan)
        return CLVResult(clv, nan, nan, nan)
    cov_fit = _covariance(fit, fit.model)
    cov_gg = _covariance(gg, "Gamma-Gamma")
    grad_fit = _central_gradient(purchases, theta_fit)[idx] * avg_value[:, None]
    grad_gg = _central_gradient(value, theta_gg) * n_purchases[:, None]
    variance = np.einsum("ij,jk,ik->i", grad_fit, cov_fit, grad_fit) + np.einsum(
        "ij,jk,ik->i", grad_gg, cov_gg, grad_gg
    )
    sd = np.sqrt(np.maximum(variance, 0.0))
    return CLVResult(clv, sd, np.maximum(clv - Z_80 * sd, 0.0), clv + Z_80 * sd)


def _expected_by_month(
    fit: FitResult,
    ends: FloatArray,
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
    pairs: tuple[FloatArray, FloatArray, IntArray],
) -> list[FloatArray]:
    """``model_expected_purchases(fit, end, x, t_x, T)`` for every month end, same arithmetic
    (so the same numbers), with P(alive) once instead of once per month and the (x, T)
    grouping done by the caller once for every parameter set of the delta method."""
    model = _model(fit)
    if model == "MBG/NBD":
        r, alpha, a, b = param_values(fit, MBGNBD_PARAMS)
        xp, Tp, pair = pairs
        alive = expit(-_log_dead_odds(r, alpha, a, b, x, t_x, T))
        return [
            _future_bracket(r, alpha, a, b + 1.0, float(end), xp, Tp)[pair] * alive for end in ends
        ]
    if model == "Pareto/NBD":
        r, alpha, s, beta = param_values(fit, PARETO_NBD_PARAMS)
        alive = pareto_nbd_p_alive(fit, x, t_x, T)
        out = []
        for end in ends:
            big_l = np.log1p(float(end) / (beta + T))
            factor = big_l if abs(s - 1.0) < 1e-10 else -np.expm1(-(s - 1.0) * big_l) / (s - 1.0)
            out.append(alive * (r + x) * (beta + T) / (alpha + T) * factor)
        return out
    return [model_expected_purchases(fit, float(end), x, t_x, T) for end in ends]


def holdout_log_likelihood(
    fit: FitResult,
    horizon: float,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    y: npt.ArrayLike,
) -> FloatArray:
    """log P(Y = y | x, t_x, T) per customer, Y the purchases in (T, T+horizon].

    P(Y = y) = P(Y >= y) - P(Y >= y+1), P(Y >= k) = P(alive) S_k (the exact survival of
    ``predictive``); floored at PROBABILITY_FLOOR.
    """
    if not (np.isfinite(horizon) and horizon > 0):
        raise ValueError(f"horizon must be positive, got {horizon}")
    xa, ta, Ta = summary_arrays(x, t_x, T)
    ya = as_array("y", y)
    if len(ya) != len(xa) or (ya < 0).any() or (ya != np.round(ya)).any():
        raise ValueError("y must hold one whole non-negative count per customer")
    alive = model_p_alive(fit, xa, ta, Ta)
    (xu, Tu), idx = group_rows(xa, Ta)
    surv = _survival_alive(fit, horizon, xu, Tu)
    k_max = surv.shape[1]

    def at_least(j: FloatArray) -> FloatArray:
        cols = np.clip(j.astype(np.intp) - 1, 0, k_max - 1)
        return np.where(j <= 0, 1.0, alive * surv[idx, cols] * (j <= k_max))

    prob = at_least(ya) - at_least(ya + 1.0)
    return np.log(np.maximum(prob, PROBABILITY_FLOOR))
