"""Shared machinery: the fit result, input checks, row compression and the ML driver.

Every likelihood in this package is a weighted sum over customers, so rows with identical
sufficient statistics can be merged into one row carrying their count as a weight; the driver
maximises on log-parameters (keeps them positive), polishes with Newton steps and derives the
covariance from a finite-difference Hessian on the natural scale.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from scipy.optimize import minimize

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.intp]

# exp(±18.4) = 1e±8: wide enough for day- or week-scaled data; an optimum on this box
# means the likelihood keeps improving towards 0 or infinity (parameter not identified).
LOG_BOUND = float(np.log(1e8))
# Max |d mean-LL / d log-param| accepted as a stationary point (per customer, so scale-free).
GRADIENT_TOLERANCE = 1e-6


class FitError(RuntimeError):
    """A maximum-likelihood fit that did not converge, or data that cannot identify the model."""


@dataclass(frozen=True)
class FitResult:
    """Outcome of an ML fit.

    ``covariance`` is the inverse of the Hessian of the negative log-likelihood at the
    optimum on the natural parameter scale, rows/columns in ``param_names`` order; None when
    that Hessian is not positive definite. ``n_customers`` is the sum of the weights of the
    rows that entered the likelihood; ``excluded`` counts customers that were left out of it
    (Gamma-Gamma: repeat customers with a non-positive average value).
    """

    model: str
    params: dict[str, float]
    log_likelihood: float
    n_customers: float
    converged: bool
    message: str
    iterations: int
    covariance: FloatArray | None
    excluded: float = 0.0
    n_rows: int = 0
    param_names: tuple[str, ...] = field(default=())

    @property
    def standard_errors(self) -> dict[str, float] | None:
        """Square roots of the covariance diagonal, or None without a covariance."""
        if self.covariance is None:
            return None
        return dict(zip(self.param_names, np.sqrt(np.diag(self.covariance)).tolist(), strict=True))


Params = Mapping[str, float] | FitResult


def param_values(params: Params, names: Sequence[str]) -> tuple[float, ...]:
    """The named parameters as floats, from a FitResult or a plain mapping."""
    values = params.params if isinstance(params, FitResult) else params
    missing = [n for n in names if n not in values]
    if missing:
        raise KeyError(f"missing parameter(s) {missing}; expected {list(names)}")
    out = tuple(float(values[n]) for n in names)
    if not all(np.isfinite(v) and v > 0 for v in out):
        named = dict(zip(names, out, strict=True))
        raise ValueError(f"parameters must be finite and positive, got {named}")
    return out


def as_array(name: str, values: npt.ArrayLike) -> FloatArray:
    """A 1-D float64 view/copy of ``values``."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr


def check_summary(x: FloatArray, t_x: FloatArray, T: FloatArray) -> None:
    """Validate the summary: finite, x whole, 0 <= t_x <= T, and t_x = 0 where x = 0."""
    if not (len(x) == len(t_x) == len(T)):
        raise ValueError(f"x, t_x, T lengths differ: {len(x)}, {len(t_x)}, {len(T)}")
    if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(T).all()):
        raise ValueError("x, t_x and T must be finite")
    if (x < 0).any() or (x != np.floor(x)).any():
        raise ValueError("x (frequency) must be a non-negative whole number")
    if (t_x < 0).any() or (t_x > T).any():
        raise ValueError("recency must satisfy 0 <= t_x <= T")
    if (t_x[x == 0] != 0).any():
        raise ValueError("customers with x = 0 must have t_x = 0")


def summary_arrays(
    x: npt.ArrayLike, t_x: npt.ArrayLike, T: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The (x, t_x, T) summary as validated float64 arrays."""
    xa, ta, Ta = as_array("x", x), as_array("t_x", t_x), as_array("T", T)
    check_summary(xa, ta, Ta)
    return xa, ta, Ta


def check_weights(weights: npt.ArrayLike | None, n: int) -> FloatArray:
    """Weights default to ones; they must be finite and non-negative."""
    if weights is None:
        return np.ones(n)
    w = as_array("weights", weights)
    if len(w) != n:
        raise ValueError(f"weights has length {len(w)}, expected {n}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("weights must be finite and non-negative")
    return w


def group_rows(*columns: FloatArray) -> tuple[tuple[FloatArray, ...], IntArray]:
    """Distinct rows of the given columns and, per input row, the index of its distinct row.

    A lexsort plus a run-length pass: about 10x faster than ``np.unique(..., axis=0)``,
    which sorts a void view of the rows.
    """
    n = len(columns[0])
    if n == 0:
        return tuple(c[:0] for c in columns), np.zeros(0, dtype=np.intp)
    order = np.lexsort(columns[::-1])
    starts = np.ones(n, dtype=bool)
    starts[1:] = False
    for c in columns:
        s = c[order]
        starts[1:] |= s[1:] != s[:-1]
    group_sorted = np.cumsum(starts) - 1
    inverse = np.empty(n, dtype=np.intp)
    inverse[order] = group_sorted
    first = order[starts]
    return tuple(c[first] for c in columns), inverse


def compress(
    columns: tuple[FloatArray, ...], weights: FloatArray, mode: bool | None
) -> tuple[tuple[FloatArray, ...], FloatArray]:
    """Merge identical rows, summing their weights.

    ``mode`` True always merges, False never; None merges when it removes at least a fifth
    of the rows (the likelihood cost is linear in rows, the grouping is one sort).
    """
    if mode is False or len(weights) == 0:
        return columns, weights
    unique, inverse = group_rows(*columns)
    if mode is None and len(unique[0]) > 0.8 * len(weights):
        return columns, weights
    summed = np.bincount(inverse, weights=weights, minlength=len(unique[0]))
    keep = summed > 0
    return tuple(c[keep] for c in unique), summed[keep]


def wdot(w: FloatArray, v: FloatArray) -> float:
    """sum(w * v) without BLAS: OpenBLAS spreads a dot product over 10k elements across its
    threads, and on a busy machine their spinning makes each of the likelihood's dozen dots
    per evaluation 50-200x slower than this single-threaded loop."""
    return float(np.einsum("i,i->", w, v))


LogLikGrad = Callable[[FloatArray], tuple[float, FloatArray]]


@dataclass(frozen=True)
class _Optimum:
    theta: FloatArray
    log_likelihood: float
    converged: bool
    message: str
    iterations: int
    covariance: FloatArray | None


def _natural_hessian(loglik_grad: LogLikGrad, theta: FloatArray) -> FloatArray:
    """Hessian of the log-likelihood by central differences of its analytic gradient.

    Differencing the gradient (rather than the function twice) keeps ~8 accurate digits
    with a relative step of 1e-5.
    """
    k = len(theta)
    hess = np.empty((k, k))
    for j in range(k):
        h = 1e-5 * theta[j]
        up, down = theta.copy(), theta.copy()
        up[j] += h
        down[j] -= h
        hess[:, j] = (loglik_grad(up)[1] - loglik_grad(down)[1]) / (2.0 * h)
    return 0.5 * (hess + hess.T)


def _inverse_if_pd(matrix: FloatArray) -> FloatArray | None:
    try:
        chol = np.linalg.cholesky(matrix)
    except np.linalg.LinAlgError:
        return None
    inv_chol = np.linalg.inv(chol)
    return inv_chol.T @ inv_chol


def maximize(
    loglik_grad: LogLikGrad,
    theta0: FloatArray,
    names: Sequence[str],
    scale: float,
    max_iter: int = 2000,
    newton_step_tol: float = 1e-12,
) -> _Optimum:
    """Maximise a log-likelihood over positive parameters.

    L-BFGS-B on u = log(theta) with the analytic gradient (objective divided by ``scale``,
    the number of customers, so tolerances are per customer), then up to 20 Newton steps
    with the finite-difference Hessian to polish the last digits. Converged means: finite,
    no parameter on the log-box edge, max |d mean-LL / du| < GRADIENT_TOLERANCE and a
    negative-definite Hessian; otherwise the message says which condition failed.
    The polish stops once the largest log-parameter step is below ``newton_step_tol``
    (raise it for a finite-difference gradient, whose noise keeps steps from vanishing).
    """

    def objective(u: FloatArray) -> tuple[float, FloatArray]:
        theta = np.exp(u)
        ll, grad = loglik_grad(theta)
        if not np.isfinite(ll) or not np.isfinite(grad).all():
            # Steer the line search away from overflow instead of aborting it.
            return 1e300, np.zeros_like(u)
        return -ll / scale, -(grad * theta) / scale

    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(theta0)
    u0 = np.clip(np.log(theta0), -LOG_BOUND + 1.0, LOG_BOUND - 1.0)
    res = minimize(
        objective,
        u0,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": max_iter, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
    )
    u = np.asarray(res.x, dtype=np.float64)
    iterations = int(res.nit)
    notes = [f"L-BFGS-B ({res.nit} iterations): {res.message}"]
    newton_steps = 0

    # Newton polish on the log scale: H_u = D H D + diag(theta * g), D = diag(theta).
    for _ in range(20):
        theta = np.exp(u)
        ll, grad = loglik_grad(theta)
        if not np.isfinite(ll) or np.abs(u).max() >= LOG_BOUND - 1e-3:
            break
        hess = _natural_hessian(loglik_grad, theta)
        hess_u = theta[:, None] * hess * theta[None, :] + np.diag(theta * grad)
        try:
            step = -np.linalg.solve(hess_u, grad * theta)
        except np.linalg.LinAlgError:
            break
        if np.linalg.eigvalsh(hess_u).max() >= 0:
            break  # not a local maximum: Newton would walk uphill on -LL
        for _ in range(30):
            trial = np.exp(u + step)
            ll_trial, _g = loglik_grad(trial)
            if np.isfinite(ll_trial) and ll_trial >= ll - 1e-12 * abs(ll):
                break
            step *= 0.5
        else:
            break
        u = np.clip(u + step, -LOG_BOUND, LOG_BOUND)
        newton_steps += 1
        if np.abs(step).max() < newton_step_tol:
            break

    iterations += newton_steps
    notes.append(f"{newton_steps} Newton polish step(s)")
    theta = np.exp(u)
    ll, grad = loglik_grad(theta)
    grad_u = grad * theta / scale
    covariance = None
    if np.isfinite(ll):
        hess = _natural_hessian(loglik_grad, theta)
        covariance = _inverse_if_pd(-hess) if np.isfinite(hess).all() else None

    problems = []
    if not np.isfinite(ll) or not np.isfinite(grad).all():
        problems.append("log-likelihood or gradient is not finite at the optimum")
    on_edge = [n for n, v in zip(names, u, strict=True) if abs(v) >= LOG_BOUND - 1e-3]
    if on_edge:
        problems.append(
            f"parameter(s) {on_edge} ran to the search bound (1e-8 or 1e8): "
            "the data do not identify the model"
        )
    max_grad = float(np.abs(grad_u).max()) if np.isfinite(grad_u).all() else float("inf")
    if max_grad >= GRADIENT_TOLERANCE:
        problems.append(f"gradient not zero (max |dLL/dlog param| per customer = {max_grad:.3g})")
    if covariance is None:
        problems.append("Hessian of -LL is not positive definite (flat or saddle point)")
    drifting = [n for n, v in zip(names, u, strict=True) if abs(v) > np.log(1e6)]
    if problems and drifting and not on_edge:
        problems.append(
            f"parameter(s) {drifting} drifted beyond 1e6 or below 1e-6: the likelihood keeps "
            "rising towards a boundary, typically too few or degenerate customers"
        )
    converged = not problems
    notes.append("converged" if converged else "NOT converged: " + "; ".join(problems))
    return _Optimum(theta, float(ll), converged, "; ".join(notes), iterations, covariance)
