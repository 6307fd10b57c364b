"""Pareto/NBD model (Schmittlein, Morrison & Colombo 1987) by maximum likelihood.

Purchases are Poisson(lambda) while alive, lifetimes Exponential(mu); lambda ~ Gamma(r, alpha)
and mu ~ Gamma(s, beta) independently. The likelihood follows Fader & Hardie's note "A Note
on Deriving the Pareto/NBD Model and Related Expressions" (2005), written as

    L = Gamma(r+x) alpha^r beta^s / Gamma(r)
        * [(alpha+T)^-(r+x) (beta+T)^-s + s * D],
    D = integral over tau in (t_x, T) of (alpha+tau)^-(r+x) (beta+tau)^-(s+1)

(D is the note's A_0 / (r+s+x)). D = I(t_x) - I(T) with I the tail integral of
``log_tail_integral``, a Gauss hypergeometric function evaluated in log space with the
Euler transformation chosen so the series stays bounded as its argument approaches 1; the
bracket is a log-sum-exp. I is evaluated once per distinct (x, t_x) and (x, T).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.special import digamma, expit, gammaln, hyp2f1

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

PARETO_NBD_PARAMS = ("r", "alpha", "s", "beta")
# Relative step of the central differences in r and s: truncation ~1e-10, round-off ~1e-10.
_GRAD_STEP = 1e-5


def log_tail_integral(
    A: npt.ArrayLike, p: npt.ArrayLike, B: npt.ArrayLike, q: npt.ArrayLike, y: npt.ArrayLike
) -> FloatArray:
    """log of the integral over tau in (y, inf) of (A+tau)^-p (B+tau)^-q; needs p + q > 1.

    With L the larger of A, B (exponent p_L) and S the smaller (exponent p_S),
    z = (L-S)/(L+y) in [0, 1) and c = p + q:

        I = (L+y)^(1-c) / (c-1) * 2F1(c-1, p_S; c; z)
          = (L+y)^(1-c) / (c-1) * (1-z)^(1-p_S) * 2F1(1, p_L; c; z)   (Euler).

    The first series converges at z = 1 when p_S < 1, the second when p_S > 1, so the one
    that stays bounded is used; both have positive terms (no cancellation).
    """
    A, p, B, q, y = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (A, p, B, q, y)))
    a_big = A >= B
    L = np.where(a_big, A, B)
    S = np.where(a_big, B, A)
    p_L = np.where(a_big, p, q)
    p_S = np.where(a_big, q, p)
    c = p + q
    log_Ly = np.log(L + y)
    z = (L - S) / (L + y)
    out = (1.0 - c) * log_Ly - np.log(c - 1.0)
    euler = p_S > 1.0
    out = out + np.where(
        euler,
        (1.0 - p_S) * (np.log(S + y) - log_Ly) + np.log(hyp2f1(1.0, p_L, c, z)),
        np.log(hyp2f1(c - 1.0, p_S, c, z)),
    )
    return out


def _log_d(
    r: float, alpha: float, s: float, beta: float, x: FloatArray, t_x: FloatArray, T: FloatArray
) -> FloatArray:
    """log D (see the module docstring); -inf where t_x = T. I per distinct (x, time)."""
    return _TailRows(x, t_x, T).log_d(r, alpha, s, beta)


class _TailRows:
    """The distinct (x, time) pairs behind log D, grouped once: a fit evaluates the
    likelihood hundreds of times on the same rows, and sorting 2n pairs each time cost more
    than the hypergeometric functions themselves."""

    def __init__(self, x: FloatArray, t_x: FloatArray, T: FloatArray) -> None:
        self.n = len(x)
        (self.xu, self.yu), self.idx = group_rows(np.concatenate([x, x]), np.concatenate([t_x, T]))

    def log_d(self, r: float, alpha: float, s: float, beta: float) -> FloatArray:
        log_i = log_tail_integral(alpha, r + self.xu, beta, s + 1.0, self.yu)[self.idx]
        log_i_tx, log_i_T = log_i[: self.n], log_i[self.n :]
        with np.errstate(divide="ignore"):
            return log_i_tx + np.log(-np.expm1(np.minimum(log_i_T - log_i_tx, 0.0)))


class _ParetoData:
    """Rows of the likelihood and its gradient.

    The gradient is analytic except for d log I / d(r, s), the derivatives of the tail
    integrals in their exponents, which are central differences (relative step 1e-5) on the
    distinct (x, time) pairs only; d I / d alpha = -(r+x) I(exponent + 1) and likewise for
    beta are exact. One gradient costs seven tail evaluations on the pairs and one pass over
    the rows (a difference of the whole likelihood cost nine of both).
    """

    def __init__(self, x: FloatArray, t_x: FloatArray, T: FloatArray, w: FloatArray) -> None:
        self.n = float(w.sum())
        (self.xs,), x_idx = group_rows(x)
        self.wx = np.bincount(x_idx, weights=w, minlength=len(self.xs))
        self.x, self.t_x, self.T, self.w = x, t_x, T, w
        self.tails = _TailRows(x, t_x, T)

    def loglik(self, theta: FloatArray) -> float:
        r, alpha, s, beta = theta
        ll = wdot(self.wx, gammaln(r + self.xs)) - self.n * gammaln(r)
        ll += self.n * (r * np.log(alpha) + s * np.log(beta))
        alive = -(r + self.x) * np.log(alpha + self.T) - s * np.log(beta + self.T)
        dead = np.log(s) + self.tails.log_d(r, alpha, s, beta)
        # Far from the optimum (the optimiser's trial steps) both terms can be infinite: the
        # likelihood is then NaN and the step is rejected, without a warning on every run.
        with np.errstate(invalid="ignore"):
            return float(ll + wdot(self.w, np.logaddexp(alive, dead)))

    def loglik_grad(self, theta: FloatArray) -> tuple[float, FloatArray]:
        r, alpha, s, beta = theta
        xs, wx, n, tails = self.xs, self.wx, self.n, self.tails
        ll = wdot(wx, gammaln(r + xs)) - n * gammaln(r) + n * (r * np.log(alpha) + s * np.log(beta))
        g_r = wdot(wx, digamma(r + xs)) - n * digamma(r) + n * np.log(alpha)
        g_alpha, g_s, g_beta = n * r / alpha, n * np.log(beta), n * s / beta

        # log I and d log I / d theta per distinct pair (p = r + x, q = s + 1).
        p, q, y = r + tails.xu, s + 1.0, tails.yu
        log_i = log_tail_integral(alpha, p, beta, q, y)
        h_r, h_s = _GRAD_STEP * r, _GRAD_STEP * s
        d_log_i = (
            (
                log_tail_integral(alpha, p + h_r, beta, q, y)
                - log_tail_integral(alpha, p - h_r, beta, q, y)
            )
            / (2.0 * h_r),
            -p * np.exp(log_tail_integral(alpha, p + 1.0, beta, q, y) - log_i),
            (
                log_tail_integral(alpha, p, beta, q + h_s, y)
                - log_tail_integral(alpha, p, beta, q - h_s, y)
            )
            / (2.0 * h_s),
            -q * np.exp(log_tail_integral(alpha, p, beta, q + 1.0, y) - log_i),
        )
        # D = I(t_x) - I(T) = I(t_x) (1 - rho): log D as in log_d, and
        # d log D = (d log I(t_x) - rho d log I(T)) / (1 - rho); D = 0 where t_x = T.
        at_tx, at_T = tails.idx[: tails.n], tails.idx[tails.n :]
        log_i_tx = log_i[at_tx]
        diff = np.minimum(log_i[at_T] - log_i_tx, 0.0)
        one_minus_rho = -np.expm1(diff)
        rho = np.exp(diff)
        positive = one_minus_rho > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            log_d = log_i_tx + np.log(one_minus_rho)
            d_log_d = [
                np.where(positive, (d[at_tx] - rho * d[at_T]) / one_minus_rho, 0.0) for d in d_log_i
            ]

        log_aT, log_bT = np.log(alpha + self.T), np.log(beta + self.T)
        rx = r + self.x
        alive = -rx * log_aT - s * log_bT
        dead = np.log(s) + log_d
        w = self.w
        with np.errstate(invalid="ignore"):
            ll += wdot(w, np.logaddexp(alive, dead))
            share_dead = expit(dead - alive)
        share_alive = 1.0 - share_dead
        g_r += wdot(w, share_dead * d_log_d[0] - share_alive * log_aT)
        g_alpha += wdot(w, share_dead * d_log_d[1] - share_alive * rx / (alpha + self.T))
        g_s += wdot(w, share_dead * (1.0 / s + d_log_d[2]) - share_alive * log_bT)
        g_beta += wdot(w, share_dead * d_log_d[3] - share_alive * s / (beta + self.T))
        return float(ll), np.array([g_r, g_alpha, g_s, g_beta])


def pareto_nbd_log_likelihood(
    params: Params,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
) -> float:
    """Weighted Pareto/NBD log-likelihood at the given parameters."""
    xa, ta, Ta = summary_arrays(x, t_x, T)
    w = check_weights(weights, len(xa))
    theta = np.array(param_values(params, PARETO_NBD_PARAMS))
    return _ParetoData(xa, ta, Ta, w).loglik(theta)


def fit_pareto_nbd(
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
    weights: npt.ArrayLike | None = None,
    *,
    require_convergence: bool = True,
    compress_rows: bool | None = None,
    initial: dict[str, float] | None = None,
) -> FitResult:
    """Maximum-likelihood Pareto/NBD fit; arguments and failure modes as ``fit_bgnbd``.

    The gradient is analytic but for the tail integrals' derivatives in r and s (central
    differences on the distinct (x, time) pairs, see ``_ParetoData``), accurate to about
    1e-9 relative; the Newton polish stops at log-steps below 1e-7, since that noise keeps
    smaller steps from vanishing. Standard errors come from differencing that gradient
    (``maximize``): expect about six correct digits in them rather than eight.
    """
    xa, ta, Ta = summary_arrays(x, t_x, T)
    w = check_weights(weights, len(xa))
    (xa, ta, Ta), w = compress((xa, ta, Ta), w, compress_rows)
    n = float(w.sum())
    if n <= 0:
        raise FitError("Pareto/NBD: no customers (total weight is zero)")
    if not (w @ (Ta > 0)) > 0:
        raise FitError("Pareto/NBD: every customer has T = 0, the likelihood is constant")
    if not (w @ xa) > 0:
        raise FitError("Pareto/NBD: no repeat purchases (all x = 0), the model is not identified")
    if initial is None:
        # Ignoring dropout, lambda ~ repeats / exposure; mean lifetime beta/(s-1) ~ mean T.
        rate = (w @ xa) / (w @ Ta)
        initial = {"r": 1.0, "alpha": 1.0 / rate, "s": 1.0, "beta": float(w @ Ta / n)}
    theta0 = np.array(param_values(initial, PARETO_NBD_PARAMS))
    data = _ParetoData(xa, ta, Ta, w)
    opt = maximize(data.loglik_grad, theta0, PARETO_NBD_PARAMS, scale=n, newton_step_tol=1e-7)
    result = FitResult(
        model="Pareto/NBD",
        params=dict(zip(PARETO_NBD_PARAMS, opt.theta.tolist(), strict=True)),
        log_likelihood=opt.log_likelihood,
        n_customers=n,
        converged=opt.converged,
        message=opt.message,
        iterations=opt.iterations,
        covariance=opt.covariance,
        n_rows=len(xa),
        param_names=PARETO_NBD_PARAMS,
    )
    if require_convergence and not result.converged:
        raise FitError(f"Pareto/NBD fit failed: {result.message}; params {result.params}")
    return result


def pareto_nbd_p_alive(
    params: Params, x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> FloatArray:
    """P(alive at T | x, t_x, T) = 1 / (1 + s D (alpha+T)^(r+x) (beta+T)^s) (FH note eq. 18).

    For x = 0 (t_x = 0) it falls with T: silence is evidence of an early death.
    """
    r, alpha, s, beta = param_values(params, PARETO_NBD_PARAMS)
    xa, ta, Ta = summary_arrays(x, t_x, T)
    log_odds = (
        np.log(s)
        + _log_d(r, alpha, s, beta, xa, ta, Ta)
        + (r + xa) * np.log(alpha + Ta)
        + s * np.log(beta + Ta)
    )
    return expit(-log_odds)


def pareto_nbd_expected_purchases(
    params: Params,
    t: npt.ArrayLike,
    x: npt.ArrayLike,
    t_x: npt.ArrayLike,
    T: npt.ArrayLike,
) -> FloatArray:
    """E[Y(t) | x, t_x, T] (SMC 1987; FH note eq. 19): expected purchases in the next ``t``.

    P(alive) (r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)], the bracket
    over (s-1) computed as -expm1(-(s-1) L)/(s-1) with L = log(1 + t/(beta+T)), which tends
    to L (no 0/0) as s -> 1.
    """
    r, alpha, s, beta = param_values(params, PARETO_NBD_PARAMS)
    xa, ta, Ta = summary_arrays(x, t_x, T)
    horizon = np.asarray(t, dtype=np.float64)
    if not np.isfinite(horizon).all() or (horizon < 0).any():
        raise ValueError("t must be finite and non-negative")
    big_l = np.log1p(horizon / (beta + Ta))
    sm1 = s - 1.0
    factor = big_l if abs(sm1) < 1e-10 else -np.expm1(-sm1 * big_l) / sm1
    alive = pareto_nbd_p_alive(params, xa, ta, Ta)
    return alive * (r + xa) * (beta + Ta) / (alpha + Ta) * factor
