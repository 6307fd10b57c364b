"""MBG/NBD model (Batislam, Denizel & Filiztekin 2007, "Empirical validation and comparison
of models for customer base analysis").

As BG/NBD (purchases Poisson(lambda) while alive, lambda ~ Gamma(r, alpha); dropout with
probability p ~ Beta(a, b) after a purchase), except that the customer can also drop out
right after the *first* purchase. So a one-time buyer's P(alive) falls with silence, where
under BG/NBD it stays 1. Inputs are the summary (x, t_x, T) of ``customer_tiers.btyd``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import betaln, digamma, expit, gammaln

from customer_tiers.btyd._common import (
    FitError,
    FitResult,
    FloatArray,
    Params,
    check_weights,
    compress,
    group_rows,
    maximize,
    param_values,
    summary_arrays,
    wdot,
)
from customer_tiers.btyd.bgnbd import _future_bracket

MBGNBD_PARAMS = ("r", "alpha", "a", "b")


class _MBGNBDData:
    """Per-row constants of the likelihood; the gamma/beta terms are evaluated per distinct x."""

    def __init__(self, x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray) -> None:
        self.n = float(w.sum())
        (self.xs,), x_idx = group_rows(x)
        self.wx = np.bincount(x_idx, weights=w, minlength=len(self.xs))
        self.x, self.t_x, self.T, self.w = x, t_x, T, w

    def loglik_grad(self, theta: FloatArray) -> tuple[float, FloatArray]:
        """Weighted log-likelihood and its gradient in (r, alpha, a, b).

        L = Gamma(r+x) alpha^r / Gamma(r) * B(a, b+x+1) / B(a, b)
            * [(alpha+T)^-(r+x) + a/(b+x) (alpha+t_x)^-(r+x)]   (every x, also x = 0).
        """
        r, alpha, a, b = theta
        xs, wx, n = self.xs, self.wx, self.n
        ll = wdot(wx, gammaln(r + xs) + betaln(a, b + xs + 1.0))
        ll -= n * (gammaln(r) + betaln(a, b))
        ll += n * r * np.log(alpha)
        dig_abx = digamma(a + b + xs + 1.0)
        g_r = wdot(wx, digamma(r + xs)) - n * digamma(r) + n * np.log(alpha)
        g_alpha = n * r / alpha
        g_a = wdot(wx, digamma(a + b) - dig_abx)
        g_b = wdot(wx, digamma(b + xs + 1.0) - dig_abx) + n * (digamma(a + b) - digamma(b))

        rx = r + self.x
        log_aT = np.log(alpha + self.T)
        log_atx = np.log(alpha + self.t_x)
        log_bx = np.log(b + self.x)
        a3 = -rx * log_aT
        a4 = np.log(a) - log_bx - rx * log_atx
        w = self.w
        ll += wdot(w, np.logaddexp(a3, a4))
        share4 = expit(a4 - a3)  # weight of the "dropped out after the last purchase" term
        share3 = 1.0 - share4
        g_r -= wdot(w, share3 * log_aT + share4 * log_atx)
        g_alpha -= wdot(w, rx * (share3 / (alpha + self.T) + share4 / (alpha + self.t_x)))
        g_a += wdot(w, share4) / a
        g_b -= wdot(w, share4 / (b + self.x))
        return float(ll), np.array([g_r, g_alpha, g_a, g_b])


def mbgnbd_log_likelihood(
    params: Params,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> float:
    """Weighted MBG/NBD log-likelihood at the given parameters."""
    xa, ta, Ta = summary_arrays(x, t_x, T)
    w = check_weights(weights, len(xa))
    theta = np.array(param_values(params, MBGNBD_PARAMS))
    return _MBGNBDData(xa, ta, Ta, w).loglik_grad(theta)[0]


def fit_mbgnbd(
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    require_convergence: bool = True,
    compress_rows: bool | None = None,
    initial: dict[str, float] | None = None,
) -> FitResult:
    """Maximum-likelihood MBG/NBD fit; arguments and failure modes as ``fit_bgnbd``."""
    xa, ta, Ta = summary_arrays(x, t_x, T)
    w = check_weights(weights, len(xa))
    (xa, ta, Ta), w = compress((xa, ta, Ta), w, compress_rows)
    n = float(w.sum())
    if n <= 0:
        raise FitError("MBG/NBD: no customers (total weight is zero)")
    if not (w @ (Ta > 0)) > 0:
        raise FitError("MBG/NBD: every customer has T = 0, the likelihood is constant")
    if not (w @ xa) > 0:
        raise FitError("MBG/NBD: no repeat purchases (all x = 0), the model is not identified")
    if initial is None:
        rate = (w @ xa) / (w @ Ta)
        initial = {"r": 1.0, "alpha": 1.0 / rate, "a": 1.0, "b": 1.0}
    theta0 = np.array(param_values(initial, MBGNBD_PARAMS))
    data = _MBGNBDData(xa, ta, Ta, w)
    opt = maximize(data.loglik_grad, theta0, MBGNBD_PARAMS, scale=n)
    result = FitResult(
        model="MBG/NBD",
        params=dict(zip(MBGNBD_PARAMS, opt.theta.tolist(), strict=True)),
        log_likelihood=opt.log_likelihood,
        n_customers=n,
        converged=opt.converged,
        message=opt.message,
        iterations=opt.iterations,
        covariance=opt.covariance,
        n_rows=len(xa),
        param_names=MBGNBD_PARAMS,
    )
    if require_convergence and not result.converged:
        raise FitError(f"MBG/NBD fit failed: {result.message}; params {result.params}")
    return result


def _log_dead_odds(
    r: float, alpha: float, a: float, b: float, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """log of a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x): log P(dead) - log P(alive)."""
    return np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))


def mbgnbd_p_alive(
    params: Params, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """P(alive at T | x, t_x, T) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x)).

    Also below 1 for x = 0: b/(a+b) right after the first purchase, falling as T grows.
    """
    r, alpha, a, b = param_values(params, MBGNBD_PARAMS)
    xa, ta, Ta = summary_arrays(x, t_x, T)
    return expit(-_log_dead_odds(r, alpha, a, b, xa, ta, Ta))


def mbgnbd_expected_purchases(
    params: Params,
    t: npt.ArrayLike,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
) -> FloatArray:
    """E[Y(t) | x, t_x, T]: expected purchases in the next ``t`` time units.

    P(alive) (a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; z)],
    z = t/(alpha+T+t): the BG/NBD bracket (FHL 2005 eq. 10) with b replaced by b + 1 (the
    posterior of p for a live customer is Beta(a, b+x+1) instead of Beta(a, b+x)), evaluated
    once per distinct (x, T, t) in the Euler-transformed form of ``bgnbd._future_bracket``.
    """
    r, alpha, a, b = param_values(params, MBGNBD_PARAMS)
    xa, ta, Ta = summary_arrays(x, t_x, T)
    horizon = np.broadcast_to(np.asarray(t, dtype=np.float64), xa.shape)
    if not np.isfinite(horizon).all() or (horizon < 0).any():
        raise ValueError("t must be finite and non-negative")
    (xu, Tu, tu), idx = group_rows(xa, Ta, np.ascontiguousarray(horizon))
    bracket = _future_bracket(r, alpha, a, b + 1.0, tu, xu, Tu)[idx]
    return bracket * expit(-_log_dead_odds(r, alpha, a, b, xa, ta, Ta))
