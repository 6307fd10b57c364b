"""When a customer buys next, under BG/NBD, MBG/NBD or Pareto/NBD (pass the model's FitResult).

All three share one fact: given the customer is alive at T, their purchase rate has the
posterior lambda ~ Gamma(r+x, alpha+T) (the likelihood of a live customer is
lambda^x exp(-lambda T)). They differ in how a live customer dies:

- BG/NBD, MBG/NBD: only right after a purchase. A live customer therefore makes the next
  purchase for sure, after an Exponential(lambda) wait; mixed over the posterior,
  P(wait > t | alive) = ((alpha+T)/(alpha+T+t))^(r+x) (a Lomax distribution).
- Pareto/NBD: at any moment, after an Exponential(mu) lifetime, mu ~ Gamma(s, beta+T) given
  alive (independent of lambda). The next purchase happens by t iff the Poisson clock rings
  before t and before death: P = integral_0^t E[lambda e^(-lambda u)] E[e^(-mu u)] du
  = r' alpha'^r' beta'^s integral_0^t (alpha'+u)^-(r'+1) (beta'+u)^-s du, r' = r+x,
  alpha' = alpha+T, beta' = beta+T; a live customer may never buy again.

Dropout inside the window is included exactly in every model (no approximation).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from customer_tiers.btyd._common import (
    FitResult,
    FloatArray,
    group_rows,
    param_values,
    summary_arrays,
)
from customer_tiers.btyd.bgnbd import BGNBD_PARAMS, expected_purchases, p_alive
from customer_tiers.btyd.mbgnbd import (
    MBGNBD_PARAMS,
    mbgnbd_expected_purchases,
    mbgnbd_p_alive,
)
from customer_tiers.btyd.pareto_nbd import (
    PARETO_NBD_PARAMS,
    log_tail_integral,
    pareto_nbd_expected_purchases,
    pareto_nbd_p_alive,
)

PURCHASE_MODELS = ("BG/NBD", "MBG/NBD", "Pareto/NBD")


def _model(fit: FitResult) -> str:
    if not isinstance(fit, FitResult) or fit.model not in PURCHASE_MODELS:
        got = getattr(fit, "model", type(fit).__name__)
        raise ValueError(f"expected a FitResult of one of {PURCHASE_MODELS}, got {got}")
    return fit.model


def model_p_alive(
    fit: FitResult, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """P(alive at T | x, t_x, T) under the fit's model (BG/NBD: 1 for every x = 0)."""
    func = {"BG/NBD": p_alive, "MBG/NBD": mbgnbd_p_alive, "Pareto/NBD": pareto_nbd_p_alive}
    return func[_model(fit)](fit, x, t_x, T)


def model_expected_purchases(
    fit: FitResult, t: npt.ArrayLike, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """E[purchases in (T, T+t] | x, t_x, T] under the fit's model (its conditional expectation)."""
    func = {
        "BG/NBD": expected_purchases,
        "MBG/NBD": mbgnbd_expected_purchases,
        "Pareto/NBD": pareto_nbd_expected_purchases,
    }
    return func[_model(fit)](fit, t, x, t_x, T)


def _pareto_log_tail(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, T: FloatArray, u: FloatArray
) -> FloatArray:
    """log integral_u^inf (alpha'+v)^-(r'+1) (beta'+v)^-s dv for a live Pareto/NBD customer."""
    return log_tail_integral(alpha + T, r + x + 1.0, beta + T, s, u)


def _pareto_log_scale(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, T: FloatArray
) -> FloatArray:
    return np.log(r + x) + (r + x) * np.log(alpha + T) + s * np.log(beta + T)


def prob_purchase_within(
    fit: FitResult, t: float, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """P(at least one purchase in (T, T+t] | x, t_x, T), dropout in the window included.

    = P(alive) * P(next purchase within t | alive). BG/NBD and MBG/NBD:
    P(alive) (1 - ((alpha+T)/(alpha+T+t))^(r+x)). Pareto/NBD: P(alive) times the integral of
    the module docstring, evaluated as r' alpha'^r' beta'^s (I(0) - I(t)) with I the tail
    integral of ``pareto_nbd.log_tail_integral`` (once per distinct (x, T)).
    """
    if not (np.isfinite(t) and t >= 0):
        raise ValueError(f"t must be finite and non-negative, got {t}")
    model = _model(fit)
    xa, ta, Ta = summary_arrays(x, t_x, T)
    alive = model_p_alive(fit, xa, ta, Ta)
    if model in ("BG/NBD", "MBG/NBD"):
        r, alpha, _a, _b = param_values(fit, BGNBD_PARAMS)
        return alive * -np.expm1(-(r + xa) * np.log1p(t / (alpha + Ta)))
    r, alpha, s, beta = param_values(fit, PARETO_NBD_PARAMS)
    (xu, Tu), idx = group_rows(xa, Ta)
    log_i0 = _pareto_log_tail(r, alpha, s, beta, xu, Tu, np.zeros_like(xu))
    log_it = _pareto_log_tail(r, alpha, s, beta, xu, Tu, np.full_like(xu, t))
    scale = _pareto_log_scale(r, alpha, s, beta, xu, Tu)
    within = np.exp(scale + log_i0) * -np.expm1(np.minimum(log_it - log_i0, 0.0))
    return alive * within[idx]


def p_buy_again_given_alive(fit: FitResult, x: npt.ArrayLike, T: npt.ArrayLike) -> FloatArray:
    """P(a live customer ever buys again): 1 under (M)BG/NBD, E[lambda/(lambda+mu)] under
    Pareto/NBD (the integral of the module docstring to infinity)."""
    xa, Ta = np.asarray(x, dtype=np.float64), np.asarray(T, dtype=np.float64)
    if _model(fit) != "Pareto/NBD":
        return np.ones(np.broadcast(xa, Ta).shape)
    r, alpha, s, beta = param_values(fit, PARETO_NBD_PARAMS)
    log_i0 = _pareto_log_tail(r, alpha, s, beta, xa, Ta, np.zeros_like(xa + Ta))
    return np.minimum(np.exp(_pareto_log_scale(r, alpha, s, beta, xa, Ta) + log_i0), 1.0)


def median_time_to_next_purchase(
    fit: FitResult, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """Median wait from T to the next purchase, given the customer is alive at T and buys again.

    Definition (same time unit as T): the median of the posterior distribution of the wait
    for the next purchase, conditional on being alive at T and purchasing again.
    BG/NBD and MBG/NBD (a live customer always buys again): the Lomax median
    (alpha+T) (2^(1/(r+x)) - 1). Pareto/NBD: the t with I(t) = I(0)/2 (half of the
    buy-again probability reached), found by bisection on log t per distinct (x, T).
    It does not depend on t_x (that enters only through P(alive)); multiply the chance that
    the date is met by ``model_p_alive`` (and ``p_buy_again_given_alive``). With few
    purchases (small r+x) the wait distribution is heavy-tailed and the median is long.
    """
    model = _model(fit)
    xa, _ta, Ta = summary_arrays(x, t_x, T)
    if model in ("BG/NBD", "MBG/NBD"):
        names = BGNBD_PARAMS if model == "BG/NBD" else MBGNBD_PARAMS
        r, alpha, _a, _b = param_values(fit, names)
        return (alpha + Ta) * np.expm1(np.log(2.0) / (r + xa))
    r, alpha, s, beta = param_values(fit, PARETO_NBD_PARAMS)
    (xu, Tu), idx = group_rows(xa, Ta)
    target = _pareto_log_tail(r, alpha, s, beta, xu, Tu, np.zeros_like(xu)) - np.log(2.0)
    lo = np.full_like(xu, -30.0)  # log t
    hi = np.log(alpha + Tu + beta)
    for _ in range(200):  # grow the upper end until I(hi) <= I(0)/2
        short = _pareto_log_tail(r, alpha, s, beta, xu, Tu, np.exp(hi)) > target
        if not short.any():
            break
        hi = np.where(short, hi + 2.0, hi)
    for _ in range(60):  # bisection: log-t precision (hi - lo) / 2^60
        mid = 0.5 * (lo + hi)
        above = _pareto_log_tail(r, alpha, s, beta, xu, Tu, np.exp(mid)) > target
        lo = np.where(above, mid, lo)
        hi = np.where(above, hi, mid)
    return np.exp(0.5 * (lo + hi))[idx]


def next_purchase_table(
    fit: FitResult,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    windows: tuple[float, ...] = (30.0, 60.0, 90.0),
) -> dict[str, FloatArray]:
    """Per-customer columns: p_alive, p_purchase_<w>d and expected_purchases_<w>d per window
    (in the summary's time unit, days in the pipeline), median_days_to_next_purchase and
    p_buy_again_given_alive."""
    xa, ta, Ta = summary_arrays(x, t_x, T)
    out = {"p_alive": model_p_alive(fit, xa, ta, Ta)}
    for w in windows:
        label = f"{w:g}d"
        out[f"p_purchase_{label}"] = prob_purchase_within(fit, w, xa, ta, Ta)
        out[f"expected_purchases_{label}"] = model_expected_purchases(fit, w, xa, ta, Ta)
    out["median_days_to_next_purchase"] = median_time_to_next_purchase(fit, xa, ta, Ta)
    out["p_buy_again_given_alive"] = p_buy_again_given_alive(fit, xa, Ta)
    return out
