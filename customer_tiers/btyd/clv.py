"""Customer lifetime value from a BG/NBD and a Gamma-Gamma fit, with a delta-method interval."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy.special import expit, ndtri

from customer_tiers.btyd._common import (
    FitResult,
    FloatArray,
    Params,
    as_array,
    group_rows,
    param_values,
    summary_arrays,
)
from customer_tiers.btyd.bgnbd import BGNBD_PARAMS, _future_bracket, _log_alive_odds
from customer_tiers.btyd.gamma_gamma import GAMMA_GAMMA_PARAMS, expected_avg_value

DAYS_PER_MONTH = 30.4375  # 365.25 / 12
Z_80 = float(ndtri(0.9))  # 1.2816: two-sided 80% normal interval
# Relative step of the central differences: truncation error ~ step^2 = 1e-8 relative,
# round-off ~ 1e-16 / step = 1e-12 relative.
_REL_STEP = 1e-4


@dataclass(frozen=True)
class CLVResult:
    """Per-customer CLV point estimate and its 80% delta-method interval (same units as m)."""

    clv: FloatArray
    sd: FloatArray
    lower: FloatArray
    upper: FloatArray


def month_grid(horizon_days: float) -> tuple[FloatArray, FloatArray]:
    """Month-end times in days (the last one truncated at the horizon) and month indices 1..k."""
    if not (math.isfinite(horizon_days) and horizon_days > 0):
        raise ValueError(f"horizon_days must be positive, got {horizon_days}")
    # The epsilon keeps 365.25 days = 12 months from growing a 13th, empty month.
    k = max(1, math.ceil(horizon_days / DAYS_PER_MONTH - 1e-9))
    months = np.arange(1, k + 1, dtype=np.float64)
    return np.minimum(months * DAYS_PER_MONTH, horizon_days), months


def _discounted_purchases(
    theta: tuple[float, ...],
    ends: FloatArray,
    discount: FloatArray,
    pairs: tuple[FloatArray, FloatArray],
    pair_idx: npt.NDArray[np.intp],
    x: FloatArray,
    t_x: FloatArray,
    T: FloatArray,
) -> FloatArray:
    """sum_i (E[Y(end_i)] - E[Y(end_{i-1})]) / (1+d)^i per customer, FHL (2005) eq. 10.

    Eq. 10 is P(alive) times a bracket that depends on (x, T) only, so the bracket is built
    on the distinct (x, T) pairs for all month ends at once and gathered.
    """
    r, alpha, a, b = theta
    x_pair, T_pair = pairs
    bracket = _future_bracket(r, alpha, a, b, ends[None, :], x_pair[:, None], T_pair[:, None])
    per_month = np.diff(bracket, axis=1, prepend=0.0)
    discounted = np.einsum("ij,j->i", per_month, discount)[pair_idx]  # no BLAS: see wdot
    return discounted * expit(-_log_alive_odds(r, alpha, a, b, x, t_x, T))


def _central_gradient(
    func: Callable[[tuple[float, ...]], FloatArray],
    theta: tuple[float, ...],
) -> FloatArray:
    """d func / d theta_j by central differences, func vectorised over customers: (n, k)."""
    columns = []
    for j, value in enumerate(theta):
        h = _REL_STEP * value
        up = list(theta)
        down = list(theta)
        up[j] = value + h
        down[j] = value - h
        columns.append((func(tuple(up)) - func(tuple(down))) / (2.0 * h))
    return np.column_stack(columns)


def predicted_clv(
    bgnbd: Params,
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
    """Discounted expected value of each customer's purchases over the next ``horizon_days``.

    Point estimate (the scheme of lifetimes' ``customer_lifetime_value`` with monthly
    discounting): months of 30.4375 days, the last one shorter if the horizon is not a whole
    number of months; month i (1-based) contributes
    (E[Y(end_i)] - E[Y(end_{i-1})]) * E[M] / (1 + d)^i, with E[Y] the BG/NBD conditional
    expectation (FHL 2005 eq. 10) and E[M] the Gamma-Gamma expected average value
    (FH 2013; population mean for x = 0 or m <= 0). The partial last month is
    discounted like a whole month i.

    Interval (``interval=True``, needs both fits' covariances): delta method. The gradient of
    each customer's CLV with respect to the 7 parameters (r, alpha, a, b, p, q, v) is taken by
    central differences (relative step 1e-4, vectorised over customers); its variance is
    g' Sigma g with Sigma the block-diagonal of the two fits' inverse-Hessian covariances,
    and the 80% bounds are clv -+ 1.2816 sd, the lower one clipped at 0. Assumptions: the
    MLEs are approximately normal (large sample) and CLV is close to linear in the
    parameters over their uncertainty; the two fits are independent (FH 2013 assume spend
    independent of the transaction process, so there is no cross-covariance); only parameter
    uncertainty is covered. It is a confidence interval for the customer's *expected* CLV,
    not a prediction interval for what a single customer will actually spend, which is far
    wider (Poisson purchasing, dropout and spend noise are not included).
    """
    xa, ta, Ta = summary_arrays(x, t_x, T)
    ma = as_array("m", m)
    if len(ma) != len(xa):
        raise ValueError(f"m has length {len(ma)}, expected {len(xa)}")
    if not (math.isfinite(monthly_discount_rate) and monthly_discount_rate > -1.0):
        raise ValueError(f"monthly_discount_rate must be > -1, got {monthly_discount_rate}")
    theta_bg = param_values(bgnbd, BGNBD_PARAMS)
    theta_gg = param_values(gg, GAMMA_GAMMA_PARAMS)
    ends, months = month_grid(horizon_days)
    discount = (1.0 + monthly_discount_rate) ** -months
    pairs, pair_idx = group_rows(xa, Ta)

    def purchases(theta: tuple[float, ...]) -> FloatArray:
        return _discounted_purchases(theta, ends, discount, pairs, pair_idx, xa, ta, Ta)

    def value(theta: tuple[float, ...]) -> FloatArray:
        return expected_avg_value(dict(zip(GAMMA_GAMMA_PARAMS, theta, strict=True)), xa, ma)

    n_purchases = purchases(theta_bg)
    avg_value = value(theta_gg)
    clv = n_purchases * avg_value
    if not interval:
        nan = np.full_like(clv, np.nan)
        return CLVResult(clv, nan, nan, nan)

    cov_bg = _covariance(bgnbd, "BG/NBD")
    cov_gg = _covariance(gg, "Gamma-Gamma")
    # CLV = D(theta_bg) * M(theta_gg): each block of the gradient needs only one factor.
    grad_bg = _central_gradient(purchases, theta_bg) * avg_value[:, None]
    grad_gg = _central_gradient(value, theta_gg) * n_purchases[:, None]
    variance = np.einsum("ij,jk,ik->i", grad_bg, cov_bg, grad_bg) + np.einsum(
        "ij,jk,ik->i", grad_gg, cov_gg, grad_gg
    )
    sd = np.sqrt(np.maximum(variance, 0.0))
    return CLVResult(clv, sd, np.maximum(clv - Z_80 * sd, 0.0), clv + Z_80 * sd)


def _covariance(fit: Params, name: str) -> FloatArray:
    if not isinstance(fit, FitResult) or fit.covariance is None:
        raise ValueError(
            f"the {name} fit has no parameter covariance (pass its FitResult; a fit whose "
            "Hessian is not positive definite has none): use interval=False for the point "
            "estimate only"
        )
    return fit.covariance
