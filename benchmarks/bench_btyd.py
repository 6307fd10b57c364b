"""Time the btyd pipeline on synthetic customers: fits, predictions, CLV with its interval.

    PYTHONPATH=. python benchmarks/bench_btyd.py [--customers 1000000] [--seed 1] [--json]

Customers are drawn from the BG/NBD process with CDNOW-like parameters (days), observed for
1..730 whole days; t_x is floored to whole days as a day-level export would give it, so many
customers share (x, t_x, T) and the fit merges them into weighted rows. (Flooring t_x makes
the data deviate slightly from the continuous-time model, so the recovered parameters are
close to, not exactly at, the true ones.) Spend per repeat customer comes from the
Gamma-Gamma model. Reported: wall time per stage, the per-customer fit on all rows
(compression off) and the automatic compressed fit, and the end-to-end total
(compressed BG/NBD fit + Gamma-Gamma fit + predictions + CLV with delta-method interval).
Then, per purchase model (BG/NBD, MBG/NBD, Pareto/NBD, all fitted to the same data): fit,
next-purchase table and 80% predictive interval of purchases (365 days; the value interval on
20,000 customers, per 1,000); the target
(issue 19) is fit + predictions <= 15 s per model at 1M customers.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from customer_tiers.btyd import (  # noqa: E402
    expected_avg_value,
    expected_purchases,
    fit_bgnbd,
    fit_gamma_gamma,
    fit_mbgnbd,
    fit_pareto_nbd,
    next_purchase_table,
    p_alive,
    predicted_clv,
    predictive_interval,
)
from customer_tiers.btyd.simulate import simulate_bgnbd, simulate_gamma_gamma  # noqa: E402

TRUE_BGNBD = {"r": 0.243, "alpha": 30.9, "a": 0.793, "b": 2.426}
TRUE_GG = {"p": 6.25, "q": 3.74, "v": 15.44}

R = TypeVar("R")


def timed(timings: dict[str, float], name: str, func: Callable[[], R]) -> R:
    start = time.perf_counter()
    out = func()
    timings[name] = time.perf_counter() - start
    return out


def run(customers: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    timings: dict[str, float] = {}

    def simulate() -> tuple[np.ndarray, ...]:
        T = rng.integers(1, 731, customers).astype(np.float64)
        x, t_x = simulate_bgnbd(TRUE_BGNBD, T, rng)
        return x, np.floor(t_x), T, simulate_gamma_gamma(TRUE_GG, x, rng)

    x, t_x, T, m = timed(timings, "simulate", simulate)
    plain = timed(timings, "bgnbd_fit_all_rows", lambda: fit_bgnbd(x, t_x, T, compress_rows=False))
    bg = timed(timings, "bgnbd_fit_compressed", lambda: fit_bgnbd(x, t_x, T))
    gg = timed(timings, "gamma_gamma_fit", lambda: fit_gamma_gamma(x, m))

    def predict() -> None:
        p_alive(bg, x, t_x, T)
        expected_purchases(bg, 365.0, x, t_x, T)
        expected_avg_value(gg, x, m)

    timed(timings, "p_alive+expected_purchases+avg_value", predict)
    clv = timed(timings, "clv_with_interval", lambda: predicted_clv(bg, gg, x, t_x, T, m))
    timings["end_to_end"] = sum(
        timings[k]
        for k in (
            "bgnbd_fit_compressed",
            "gamma_gamma_fit",
            "p_alive+expected_purchases+avg_value",
            "clv_with_interval",
        )
    )
    # Issue 19: every purchase model's fit and per-customer predictions (next purchase in
    # 30/60/90 days, median wait, 80% predictive interval of purchases and value over a year).
    per_model: dict[str, dict[str, float]] = {}
    for name, fit_func in (
        ("bg_nbd", None),
        ("mbg_nbd", fit_mbgnbd),
        ("pareto_nbd", fit_pareto_nbd),
    ):
        stage: dict[str, float] = {}
        fit = bg if fit_func is None else timed(stage, "fit", lambda f=fit_func: f(x, t_x, T))
        stage.setdefault("fit", timings["bgnbd_fit_compressed"])
        timed(stage, "next_purchase", lambda f=fit: next_purchase_table(f, x, t_x, T))
        timed(
            stage,
            "purchases_interval",
            lambda f=fit: predictive_interval(f, 365.0, x, t_x, T),
        )
        # The value interval (bisection on Gamma-Gamma CDFs) is far slower: timed on the
        # first 20,000 customers only and reported per 1,000 customers.
        sub = slice(0, min(customers, 20_000))
        value_s: dict[str, float] = {}
        timed(
            value_s,
            "v",
            lambda f=fit, s=sub: predictive_interval(f, 365.0, x[s], t_x[s], T[s], gg, m[s]),
        )
        stage["total"] = sum(stage.values())
        stage["value_interval_per_1k_customers"] = value_s["v"] * 1000 / len(x[sub])
        per_model[name] = {k: round(v, 3) for k, v in stage.items()}
        per_model[name]["log_likelihood"] = round(fit.log_likelihood, 1)
    max_rel_diff = max(abs(plain.params[k] / bg.params[k] - 1) for k in bg.params)
    return {
        "customers": customers,
        "repeat_customers": int((x > 0).sum()),
        "bgnbd_rows_after_compression": bg.n_rows,
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "bgnbd_true": TRUE_BGNBD,
        "bgnbd_fitted": {k: round(v, 4) for k, v in bg.params.items()},
        "bgnbd_plain_vs_compressed_max_rel_diff": max_rel_diff,
        "gamma_gamma_true": TRUE_GG,
        "gamma_gamma_fitted": {k: round(v, 4) for k, v in gg.params.items()},
        "bgnbd_iterations": bg.iterations,
        "gamma_gamma_iterations": gg.iterations,
        "clv_total": float(clv.clv.sum()),
        "clv_median_relative_sd": float(np.median(clv.sd / clv.clv)),
        "purchase_models_s": per_model,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the result as JSON only")
    args = parser.parse_args()
    result = run(args.customers, args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{result['customers']:,} customers, {result['repeat_customers']:,} with x > 0, "
        f"{result['bgnbd_rows_after_compression']:,} distinct (x, t_x, T) rows"
    )
    for name, seconds in result["timings_s"].items():
        print(f"  {name:<40} {seconds:8.2f} s")
    print(f"  BG/NBD true   {result['bgnbd_true']}")
    print(f"  BG/NBD fitted {result['bgnbd_fitted']}")
    print(
        f"  plain vs compressed fit, max relative difference: "
        f"{result['bgnbd_plain_vs_compressed_max_rel_diff']:.1e}"
    )
    print(f"  Gamma-Gamma true   {result['gamma_gamma_true']}")
    print(f"  Gamma-Gamma fitted {result['gamma_gamma_fitted']}")
    print(f"  median sd/CLV: {result['clv_median_relative_sd']:.4f}")
    for name, stage in result["purchase_models_s"].items():
        print(f"  {name:<11} " + ", ".join(f"{k} {v:g}" for k, v in stage.items()))


if __name__ == "__main__":
    main()
