"""Time and peak memory of the raw.orders suite: our in-DuckDB path against naive pandas.

    python benchmarks/bench_expectations.py --rows 10000000 [--pandas] [--db PATH]

The table is generated inside DuckDB (range() and hash(), ~rows/10 distinct customers, a few
deliberate outliers so the expectations count something). Each path then runs in a fresh
Python process, so its peak RSS (ru_maxrss, which only ever grows) is its own and not the
generator's; that process reports its own peak and its children's (none are expected).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from customer_tiers.ingest.sources import DUCKDB_TYPES, LINEAGE_COLUMNS, ORDERS  # noqa: E402

FOUR_YEARS_S = 4 * 365 * 86_400


def generate(db: Path, rows: int) -> None:
    """Create raw.orders with `rows` order lines, typed exactly as the contract says."""
    customers = max(rows // 10, 1)
    columns = [*ORDERS.columns, *LINEAGE_COLUMNS]
    ddl = ", ".join(f'"{c.name}" {DUCKDB_TYPES[c.type]}' for c in columns)
    with duckdb.connect(str(db)) as con:
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        con.execute("DROP TABLE IF EXISTS raw.orders")
        con.execute(f"CREATE TABLE raw.orders ({ddl})")
        # Outliers: 1 line in 10,000 has an absurd quantity, 1 in 100,000 a date in 2200,
        # 1 in 20 is a return.
        con.execute(
            f"""
            INSERT INTO raw.orders
            SELECT
                'O' || (i // 3)::VARCHAR,
                'C' || (hash(i, 1) % {customers})::VARCHAR,
                CASE WHEN hash(i, 2) % 100000 = 0 THEN TIMESTAMP '2200-01-01'
                     ELSE TIMESTAMP '2020-01-01'
                          + to_seconds((hash(i, 3) % {FOUR_YEARS_S})::BIGINT) END,
                'P' || (hash(i, 4) % 5000)::VARCHAR,
                CASE WHEN hash(i, 5) % 10000 = 0 THEN 50000 ELSE 1 + hash(i, 6) % 5 END,
                (CASE WHEN hash(i, 7) % 20 = 0 THEN -1 ELSE 1 END)
                    * (hash(i, 8) % 100000) / 100.0,
                (hash(i, 9) % 50000) / 100.0,
                ['web', 'store', 'app'][(1 + hash(i, 10) % 3)::BIGINT],
                'S' || (hash(i, 11) % 40)::VARCHAR,
                'orders.csv',
                i + 1,
                'bench'
            FROM range({rows}) AS r(i)
            """
        )
        con.execute("CHECKPOINT")


def run_duckdb_path(db: Path) -> list[tuple[str, str, int]]:
    from customer_tiers.expectations.runner import validate_source

    outcome = validate_source(db, "orders")
    return sorted(
        (o.expectation, o.column or "", o.unexpected_count or 0) for o in outcome.outcomes
    )


def run_pandas_path(db: Path) -> list[tuple[str, str, int]]:
    """The naive alternative: the whole table into pandas, then GE's pandas datasource."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    from customer_tiers.expectations.runner import suite_for

    with duckdb.connect(str(db), read_only=True) as con:
        frame = con.execute("SELECT * FROM raw.orders").df()
    context = gx.get_context(
        mode="ephemeral",
        project_config=DataContextConfig(
            store_backend_defaults=InMemoryStoreBackendDefaults(),
            analytics_enabled=False,
            progress_bars=ProgressBarsConfig(globally=False),
        ),
    )
    batch = (
        context.data_sources.add_pandas("pandas")
        .add_dataframe_asset("orders")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    result = batch.validate(
        suite_for("orders"), result_format={"result_format": "BASIC", "partial_unexpected_count": 5}
    )
    return sorted(
        (
            r.expectation_config.type,
            r.expectation_config.kwargs.get("column") or "",
            (r.result or {}).get("unexpected_count") or 0,
        )
        for r in result.results
        if r.expectation_config is not None
    )


def measure(path: str, db: Path) -> None:
    """Child process: run one path, print its figures as JSON on the last line."""
    started = time.perf_counter()
    import customer_tiers.expectations.runner  # noqa: F401  (GE's import, ~2 s, is paid once per process)

    imported = time.perf_counter()
    counts = run_duckdb_path(db) if path == "duckdb" else run_pandas_path(db)
    seconds = time.perf_counter() - imported
    usage = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(
        json.dumps(
            {"seconds": seconds, "import_seconds": imported - started,
             "peak_rss_mib": usage / 1024,
             "children_peak_rss_mib": children / 1024, "unexpected_counts": counts}
        )
    )  # fmt: skip


def spawn(path: str, db: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--measure", path, "--db", str(db)],
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1]}
    figures: dict[str, Any] = json.loads(lines[-1])
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--db", type=Path, help="DuckDB file (default: a temporary one)")
    parser.add_argument("--pandas", action="store_true", help="also time the naive pandas path")
    parser.add_argument("--measure", choices=["duckdb", "pandas"], help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.measure:
        measure(args.measure, args.db)
        return
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or Path(tmp) / "bench.duckdb"
        started = time.perf_counter()
        generate(db, args.rows)
        print(f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f} s")
        paths = ["duckdb", "pandas"] if args.pandas else ["duckdb"]
        results = {path: spawn(path, db) for path in paths}
    for path, figures in results.items():
        if "error" in figures:
            print(f"{path:>6}: failed: {figures['error']}")
            continue
        print(
            f"{path:>6}: {figures['seconds']:.1f} s "
            f"(+{figures['import_seconds']:.1f} s importing GE), "
            f"peak RSS {figures['peak_rss_mib']:.0f} MiB "
            f"(children {figures['children_peak_rss_mib']:.0f} MiB)"
        )
    if len(results) == 2 and all("error" not in f for f in results.values()):
        ours, theirs = (results[p]["unexpected_counts"] for p in ("duckdb", "pandas"))
        verdict = "agree" if ours == theirs else f"DIFFER: {ours} vs {theirs}"
        print(f"unexpected counts {verdict}")
    for path, figures in results.items():
        if "error" not in figures:
            counts = {f"{e}({c})": n for e, c, n in figures["unexpected_counts"] if n}
            print(f"{path} non-zero unexpected counts: {counts}")


if __name__ == "__main__":
    main()
