"""Time account-manager assignment (分户) on synthetic customers and managers.

    PYTHONPATH=. python benchmarks/bench_assignment.py [--customers 1000000] [--managers 500]

Two timed runs: a fresh assignment (nobody has a manager yet) and a rerun in which every
customer starts with the manager the fresh run gave them, 1% new customers arrive and one
manager is deactivated. Tiers are Diamond/Gold/Silver/Bronze (weights 4/3/2/1, 5/15/30/50%);
a tenth of the managers have unlimited capacity, the rest room for 1,500..2,500 customers.
Reported: seconds per run (data generation excluded), reason counts, the spread of weighted
loads, and the process's peak RSS.
"""

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from customer_tiers.assignment import AssignmentResult, assign_accounts

TIER_SHARE = [0.05, 0.15, 0.30, 0.50]
TIER_WEIGHT = np.array([4.0, 3.0, 2.0, 1.0])


def make_customers(n: int, rng: np.random.Generator, prefix: str = "C") -> pd.DataFrame:
    tier = rng.choice(len(TIER_SHARE), size=n, p=TIER_SHARE)
    value = rng.gamma(2.0, 300.0, size=n).round(2)
    value[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "customer_id": pd.array([f"{prefix}{i:08d}" for i in range(n)], dtype="str"),
            "tier_rank": tier,
            "weight": TIER_WEIGHT[tier],
            "priority_value": value,
            "current_staff_id": pd.Series([None] * n, dtype=object),
        }
    )


def make_managers(m: int, rng: np.random.Generator) -> pd.DataFrame:
    capacity = rng.integers(1_500, 2_501, size=m).astype(float)
    capacity[rng.random(m) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "staff_id": [f"S{j:04d}" for j in range(m)],
            "capacity": capacity,
            "active": np.ones(m, dtype=bool),
        }
    )


def peak_rss_kib() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def timed(func: Any, *args: Any) -> tuple[AssignmentResult, float]:
    start = time.perf_counter()
    out = func(*args)
    return out, time.perf_counter() - start


def summary(result: AssignmentResult, seconds: float) -> dict[str, Any]:
    active = result.loads[result.loads["active"]]
    load = active["weighted_load"]
    return {
        "seconds": round(seconds, 3),
        "reasons": result.assignments["reason"].value_counts().sort_index().to_dict(),
        "weighted_load_min_mean_max": [
            round(float(x), 1) for x in (load.min(), load.mean(), load.max())
        ],
    }


def run(customers: int, managers: int, seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    people = make_customers(customers, rng)
    staff = make_managers(managers, rng)
    data_kib = peak_rss_kib()
    fresh, fresh_s = timed(assign_accounts, people, staff)

    # Rerun: yesterday's managers become current, 1% newcomers, one manager leaves.
    current = fresh.assignments.set_index("customer_id")["staff_id"]
    people["current_staff_id"] = people["customer_id"].map(current).astype(object)
    newcomers = make_customers(max(1, customers // 100), rng, prefix="N")
    staff.loc[0, "active"] = False
    rerun_input = pd.concat([people, newcomers], ignore_index=True)
    rerun, rerun_s = timed(assign_accounts, rerun_input, staff)

    return {
        "customers": customers,
        "managers": managers,
        "fresh": summary(fresh, fresh_s),
        "rerun": summary(rerun, rerun_s),
        "peak_rss_mib_after_data": round(data_kib / 1024, 1),
        "peak_rss_mib": round(peak_rss_kib() / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--managers", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args()
    result = run(args.customers, args.managers, args.seed)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['customers']:,} customers, {result['managers']} managers")
    for name in ("fresh", "rerun"):
        part = result[name]
        print(f"  {name:5s} {part['seconds']:7.3f} s  reasons {part['reasons']}")
        print(f"        weighted load min/mean/max {part['weighted_load_min_mean_max']}")
    print(
        f"  peak RSS {result['peak_rss_mib']:.1f} MiB for the whole process"
        f" ({result['peak_rss_mib_after_data']:.1f} MiB once the input data was built)"
    )


if __name__ == "__main__":
    main()
