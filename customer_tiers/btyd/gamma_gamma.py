"""Gamma-Gamma model of monetary value (Fader & Hardie 2013, "The Gamma-Gamma Model of
Monetary Value"; originally Colombo & Jiang 1999).

A customer's transaction values are Gamma(p, nu) with nu ~ Gamma(q, v) across customers (v is
the rate, FH's gamma). The sufficient statistics are x, the number of transactions averaged,
and m, their mean; here x is the BG/NBD frequency (repeat purchase days) and m the mean value
of those repeat days, so the first purchase never enters the spend model.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import digamma, gammaln

from customer_tiers.btyd._common import (
    FitError,
    FitResult,
    FloatArray,
    Params,
    as_array,
    check_weights,
    compress,
    group_rows,
    maximize,
    param_values,
    wdot,
)

GAMMA_GAMMA_PARAMS = ("p", "q", "v")


def _prepare(x: npt.ArrayLike, m: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    xa, ma = as_array("x", x), as_array("m", m)
    if len(xa) != len(ma):
        raise ValueError(f"x and m lengths differ: {len(xa)}, {len(ma)}")
    if not np.isfinite(xa).all() or (xa < 0).any() or (xa != np.floor(xa)).any():
        raise ValueError("x (frequency) must be a finite non-negative whole number")
    if np.isnan(ma[xa > 0]).any():
        raise ValueError("m is NaN for a customer with x > 0; m is only optional when x = 0")
    return xa, ma


def _usable(x: FloatArray, m: FloatArray) -> npt.NDArray[np.bool_]:
    """Customers the model can describe: repeat purchasers with a positive, finite mean."""
    with np.errstate(invalid="ignore"):
        return (x > 0) & (m > 0) & np.isfinite(m)


class _GammaGammaData:
    """Constants of the likelihood. Everything but log(v + x m) is precomputed; the gamma
    functions depend on x only and are evaluated per distinct x."""

    def __init__(self, x: FloatArray, m: FloatArray, w: FloatArray) -> None:
        self.n = float(w.sum())
        (self.xs,), x_idx = group_rows(x)
        self.wx = np.bincount(x_idx, weights=w, minlength=len(self.xs))
        log_m = np.log(m)
        self.sum_x_log_xm = float(w @ (x * (log_m + np.log(x))))
        self.sum_log_m = float(w @ log_m)
        self.x, self.xm, self.w = x, x * m, w

    def loglik_grad(self, theta: FloatArray) -> tuple[float, FloatArray]:
        """Sum of w log f(m | p, q, v, x) and its gradient in (p, q, v).

        f is FH (2013)'s density of the mean of x values with nu integrated out.
        """
        p, q, v = theta
        xs, wx, n = self.xs, self.wx, self.n
        pk = p * xs
        ll = wdot(wx, gammaln(pk + q) - gammaln(pk)) - n * gammaln(q) + n * q * np.log(v)
        ll += p * self.sum_x_log_xm - self.sum_log_m
        log_vxm = np.log(v + self.xm)
        px_q = p * self.x + q
        ll -= wdot(self.w, px_q * log_vxm)
        dig = digamma(pk + q)
        g_p = (
            wdot(wx, xs * (dig - digamma(pk))) + self.sum_x_log_xm - wdot(self.w, self.x * log_vxm)
        )
        g_q = wdot(wx, dig) - n * digamma(q) + n * np.log(v) - wdot(self.w, log_vxm)
        g_v = n * q / v - wdot(self.w, px_q / (v + self.xm))
        return float(ll), np.array([g_p, g_q, g_v])


def gamma_gamma_log_likelihood(
    params: Params,
    x: npt.ArrayLike,
    m: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> float:
    """Weighted Gamma-Gamma log-likelihood over the customers with x > 0 and m > 0."""
    xa, ma = _prepare(x, m)
    w = check_weights(weights, len(xa))
    keep = _usable(xa, ma)
    theta = np.array(param_values(params, GAMMA_GAMMA_PARAMS))
    return _GammaGammaData(xa[keep], ma[keep], w[keep]).loglik_grad(theta)[0]


def fit_gamma_gamma(
    x: npt.ArrayLike,
    m: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    require_convergence: bool = True,
    compress_rows: bool | None = None,
    initial: dict[str, float] | None = None,
) -> FitResult:
    """Maximum-likelihood Gamma-Gamma fit on the repeat customers.

    Only customers with x > 0 and m > 0 enter the likelihood (its support is m > 0). Those
    with x = 0 carry no spend information and are ignored silently; those with x > 0 but
    m <= 0 (refunds, free orders) or m = inf are dropped and their total weight is returned as
    ``FitResult.excluded``. NaN m is an error for x > 0. ``n_customers`` is the weight that
    entered the fit. Raises FitError on non-convergence unless ``require_convergence=False``,
    or when fewer than two distinct usable (x, m) rows remain.
    """
    xa, ma = _prepare(x, m)
    w = check_weights(weights, len(xa))
    keep = _usable(xa, ma)
    excluded = float(w[(xa > 0) & ~keep].sum())
    (xa, ma), w = compress((xa[keep], ma[keep]), w[keep], compress_rows)
    w_pos = w > 0
    xa, ma, w = xa[w_pos], ma[w_pos], w[w_pos]
    if len(xa) < 2:
        raise FitError(
            f"Gamma-Gamma: {len(xa)} usable customer row(s) with x > 0 and m > 0 "
            f"({excluded:g} excluded for m <= 0); at least two are needed"
        )
    n = float(w.sum())
    if initial is None:
        # Prior mean of the spend is p v / (q - 1); start at p = 1, q = 2 and match it.
        mean_m = float(w @ ma / n)
        initial = {"p": 1.0, "q": 2.0, "v": mean_m}
    theta0 = np.array(param_values(initial, GAMMA_GAMMA_PARAMS))
    data = _GammaGammaData(xa, ma, w)
    opt = maximize(data.loglik_grad, theta0, GAMMA_GAMMA_PARAMS, scale=n)
    result = FitResult(
        model="Gamma-Gamma",
        params=dict(zip(GAMMA_GAMMA_PARAMS, opt.theta.tolist(), strict=True)),
        log_likelihood=opt.log_likelihood,
        n_customers=n,
        converged=opt.converged,
        message=opt.message,
        iterations=opt.iterations,
        covariance=opt.covariance,
        excluded=excluded,
        n_rows=len(xa),
        param_names=GAMMA_GAMMA_PARAMS,
    )
    if require_convergence and not result.converged:
        raise FitError(f"Gamma-Gamma fit failed: {result.message}; params {result.params}")
    return result


def expected_avg_value(params: Params, x: npt.ArrayLike, m: npt.ArrayLike) -> FloatArray:
    """E[M | x, m]: expected average transaction value (FH 2013, posterior mean of p / nu).

    p (v + x m) / (p x + q - 1) for customers with x > 0 and m > 0 (a weighted average of the
    population mean and the customer's own mean, the weight on m growing with x).
    Rule for the rest: customers with x = 0 (no repeat spend observed) and customers with
    m <= 0 (outside the model's support; they were excluded from the fit) get the population
    mean p v / (q - 1), i.e. the posterior with no data. Requires q > 1 (finite mean).
    """
    p, q, v = param_values(params, GAMMA_GAMMA_PARAMS)
    if q <= 1.0:
        raise ValueError(f"q = {q} <= 1: the Gamma-Gamma mean spend is infinite")
    xa, ma = _prepare(x, m)
    out = np.full(len(xa), p * v / (q - 1.0))
    keep = _usable(xa, ma)
    out[keep] = p * (v + xa[keep] * ma[keep]) / (p * xa[keep] + q - 1.0)
    return out
