"""Time and peak memory of the whole pipeline, of the mart stage alone, and of a one-query floor.

    python benchmarks/bench_pipeline.py --customers 100000 [1000000 ...] [--workdir /tmp/bench]
        [--seed 42] [--as-of 2026-06-30] [--repeat 3] [--select MODEL ...] [--keep]

For each number of customers N:

1. generate: `write_demo_data` writes the demo sources (~10.4 order lines per customer) into
   `<workdir>/sources-<N>-seed<S>`; a folder finished earlier for the same N and seed is reused.
2. `tiers run`: the whole pipeline (ingest, checks, dbt build, publish) in a subprocess, with a
   per-stage breakdown from the Dagster step timings (a throw-away DAGSTER_HOME) and a per-node
   breakdown of the dbt build from its run_results.json.
3. mart stage: `tiers dbt -- run --select <RFM_ABC_SELECT>` (customer_rfm, customer_abc and the
   intermediate models they are built from; no staging, no tests) on a copy of the published
   warehouse, with the per-model times from dbt's run_results.json. A wider --select (e.g.
   `intermediate marts`) also runs models the floor does not compute; the summed run time of
   customer_rfm, customer_abc and their upstream models is reported either way. The same
   command with one one-row model (STARTUP_SELECT) measures dbt's fixed start-up, which the
   table also subtracts from the mart stage.
4. floor: one hand-written DuckDB query that computes the same R/F/M scores and ABC classes
   from raw.orders and raw.products into a table, in a fresh Python process. Its output is
   compared with the marts.

Every measured command runs in its own child process. Wall time is taken around the child;
"peak" is the ru_maxrss that /usr/bin/time reports for it (the largest single process of its
tree, exact) and "tree" the largest sum of RSS over the child and its descendants, sampled every
0.1 s (catches `tiers run` and the dbt process it starts being alive together; may miss short
spikes). The mart stage and the floor can be repeated (--repeat) on a noisy machine.

Prints a Markdown table and writes `<workdir>/results-<N>.json` per size. Without --keep the
warehouse copies are deleted afterwards; the generated sources are kept for reruns.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO / "dbt_project"
TIERS = Path(sys.executable).with_name("tiers")
GENERATED_MARKER = ".bench_generated.json"
TIME_BIN = Path("/usr/bin/time")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
MIB = 1024 * 1024
SLOWEST_MODELS = 5

# --- Measuring a child process ---------------------------------------------------------------


@dataclass
class Measured:
    """One command run in a child process: wall time, memory, exit code and its logs."""

    command: list[str]
    seconds: float
    peak_rss_mb: float  # ru_maxrss of the command: the largest single process of its tree
    tree_rss_mb: float  # largest sampled sum of RSS over the whole tree
    returncode: int
    stdout: str
    stderr: str
    largest_processes: list[dict[str, Any]]  # sampled peak RSS of the biggest processes


def _children_by_parent() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def _rss_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def tree_rss_bytes(root: int) -> dict[int, int]:
    """Resident set size of `root` and of each of its descendants, now, by pid."""
    children = _children_by_parent()
    sizes: dict[int, int] = {}
    stack = [root]
    while stack:
        pid = stack.pop()
        sizes[pid] = _rss_bytes(pid)
        stack.extend(children.get(pid, ()))
    return sizes


def _process_name(pid: int) -> str:
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    words = [Path(a.decode(errors="replace")).name for a in argv[:3] if a]
    return " ".join(words)


class TreeRssSampler(threading.Thread):
    """Samples the RSS of a process tree until stopped; keeps the largest sum seen and the
    largest RSS of each process (to tell which one peaked)."""

    def __init__(self, root: int, interval_s: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.interval_s = interval_s
        self.peak_bytes = 0
        self.process_peaks: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            sizes = tree_rss_bytes(self.root)
            self.peak_bytes = max(self.peak_bytes, sum(sizes.values()))
            for pid, rss in sizes.items():
                self.process_peaks[pid] = max(self.process_peaks.get(pid, 0), rss)
                if pid not in self.names:
                    self.names[pid] = _process_name(pid)
            self._stop_event.wait(self.interval_s)

    def stop(self) -> int:
        self._stop_event.set()
        self.join()
        return self.peak_bytes

    def largest(self, count: int = 3) -> list[dict[str, Any]]:
        ranked = sorted(self.process_peaks.items(), key=lambda item: item[1], reverse=True)
        return [
            {"process": self.names.get(pid, "?"), "peak_rss_mb": round(rss / MIB)}
            for pid, rss in ranked[:count]
        ]


def run_measured(
    command: Sequence[str], log_stem: Path, env: dict[str, str] | None = None
) -> Measured:
    """Run `command` from the repository root, stdout/stderr to `<log_stem>.out/.err`.

    The peak comes from /usr/bin/time (%M: the ru_maxrss its wait4 returns for the command).
    Taking wait4 here instead would over-report: Linux folds the high-water RSS of the forked
    copy of this (large, dagster-importing) process into the child's ru_maxrss at exec.
    """
    out_path, err_path = log_stem.with_suffix(".out"), log_stem.with_suffix(".err")
    rss_path = log_stem.with_suffix(".maxrss")
    wrapped = [str(TIME_BIN), "-f", "%M", "-o", str(rss_path), *command]
    use_time = TIME_BIN.exists()
    with out_path.open("w") as out, err_path.open("w") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            wrapped if use_time else command, stdout=out, stderr=err, env=env, cwd=REPO
        )
        sampler = TreeRssSampler(proc.pid)
        sampler.start()
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        tree_peak = sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    max_rss_kib = _time_max_rss_kib(rss_path) if use_time else usage.ru_maxrss
    return Measured(
        command=list(command),
        seconds=seconds,
        peak_rss_mb=max_rss_kib * 1024 / MIB,
        tree_rss_mb=tree_peak / MIB,
        returncode=proc.returncode,
        stdout=str(out_path),
        stderr=str(err_path),
        largest_processes=sampler.largest(),
    )


def _time_max_rss_kib(path: Path) -> int:
    """The %M that /usr/bin/time wrote last (after any 'Command exited with ...' line)."""
    lines = path.read_text().split() if path.exists() else []
    return int(lines[-1]) if lines and lines[-1].isdigit() else 0


def _tail(path: str, lines: int = 5) -> str:
    return "\n".join(Path(path).read_text(errors="replace").splitlines()[-lines:])


# --- 1. Generating the sources ---------------------------------------------------------------


@dataclass
class Generated:
    directory: str
    rows: dict[str, int]
    seconds: float
    reused: bool


def generate_sources(workdir: Path, customers: int, seed: int) -> Generated:
    """The demo sources for (customers, seed), written once and reused while the marker stays."""
    directory = workdir / f"sources-{customers}-seed{seed}"
    marker = directory / GENERATED_MARKER
    if marker.exists():
        saved = json.loads(marker.read_text())
        if saved.get("customers") == customers and saved.get("seed") == seed:
            return Generated(str(directory), saved["rows"], saved["seconds"], reused=True)
    from customer_tiers.ingest.demo_data import write_demo_data

    shutil.rmtree(directory, ignore_errors=True)
    started = time.perf_counter()
    summary = write_demo_data(directory, customers=customers, seed=seed)
    seconds = time.perf_counter() - started
    marker.write_text(
        json.dumps({"customers": customers, "seed": seed, "rows": summary.rows, "seconds": seconds})
    )
    return Generated(str(directory), summary.rows, seconds, reused=False)


# --- 2. tiers run ------------------------------------------------------------------------------

STAGE_OF_STEP = (
    (re.compile(r"^raw_sources$"), "ingest"),
    (re.compile(r"_(expectations|reconciliation)$"), "checks"),
    (re.compile(r"^dbt_models"), "dbt"),
    (re.compile(r"^serve__published_warehouse$"), "publish"),
)
LOG_LINE = re.compile(r"^(\d\d):(\d\d):(\d\d) (\S+): ")


def _stage(step_key: str) -> str:
    for pattern, stage in STAGE_OF_STEP:
        if pattern.search(step_key):
            return stage
    return step_key  # a step this script does not know yet (e.g. a new asset): its own line


def dagster_stage_seconds(dagster_home: Path) -> dict[str, float]:
    """Seconds per stage of the one run recorded in `dagster_home`, and the run's own span as
    `run` (the caller turns the rest of the process's wall time into `outside_run`: imports,
    the dbt parse that refreshes the manifest, the summary)."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        runs = instance.get_runs(limit=1)
        if not runs:
            return {}
        stages: dict[str, float] = {}
        for step in instance.get_run_step_stats(runs[0].run_id):
            if step.start_time is None or step.end_time is None:
                continue
            stage = _stage(step.step_key)
            stages[stage] = stages.get(stage, 0.0) + step.end_time - step.start_time
        stats = instance.get_run_stats(runs[0].run_id)
        if stats.start_time is not None and stats.end_time is not None:
            stages["run"] = stats.end_time - stats.start_time
        return stages
    finally:
        instance.dispose()


def log_stage_seconds(stderr: Path) -> dict[str, float]:
    """Fallback: first-to-last log line per stage (1 s resolution; checks do not log)."""
    spans: dict[str, list[int]] = {}
    for line in stderr.read_text(errors="replace").splitlines():
        match = LOG_LINE.match(line)
        if match:
            h, m, s, step = match.groups()
            clock = int(h) * 3600 + int(m) * 60 + int(s)
            span = spans.setdefault(_stage(step), [clock, clock])
            span[1] = clock
    return {stage: float(end - start) for stage, (start, end) in spans.items()}


DBT_BUILDS = ("dbt_models", "dbt_models_after_predictions", "dbt_models_after_assignments")


def dbt_build_breakdown(target_root: Path) -> list[dict[str, Any]]:
    """Per-kind seconds of each dbt build inside `tiers run`, from the run_results.json each
    build leaves in `<DBT_TARGET_PATH>/<build name>/` (orchestration/project.py build_args)."""
    invocations = []
    for name in DBT_BUILDS:
        results_path = target_root / name / "run_results.json"
        if not results_path.exists():
            continue
        results = json.loads(results_path.read_text())
        kinds: dict[str, float] = {}
        for node in results["results"]:
            kind = _node_kind(node)
            kinds[kind] = kinds.get(kind, 0.0) + node["execution_time"]
        invocations.append(
            {
                "target": str(results_path.parent),
                "elapsed_s": results["elapsed_time"],
                "summed_node_s": kinds,
                "node_s": {
                    node["unique_id"]: node["execution_time"] for node in results["results"]
                },
                "slowest": slowest_nodes(results, SLOWEST_MODELS),
            }
        )
    return invocations


def _node_kind(node: dict[str, Any]) -> str:
    resource_type = node["unique_id"].split(".", 1)[0]
    if resource_type == "model" and node.get("relation_name"):
        schema = node["relation_name"].split(".")[1].strip('"')
        return f"model:{schema}"
    return resource_type


def time_tiers_run(sources: Path, run_dir: Path, as_of: date) -> dict[str, Any]:
    warehouse = run_dir / "warehouse.duckdb"
    dagster_home = run_dir / "dagster_home"
    dagster_home.mkdir(parents=True)
    (dagster_home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    # the builds' run results land in the run folder, not the shared dbt_project/target
    target_root = run_dir / "dbt_run_target"
    env = {**os.environ, "DAGSTER_HOME": str(dagster_home), "DBT_TARGET_PATH": str(target_root)}
    command = [str(TIERS), "run", "--sources", str(sources), "--warehouse", str(warehouse)]
    measured = run_measured(
        [*command, "--as-of", as_of.isoformat()], run_dir / "tiers_run", env=env
    )
    try:
        stages, stage_source = dagster_stage_seconds(dagster_home), "dagster step stats"
    except Exception as err:  # any failure here only costs the breakdown
        print(f"  (no Dagster step stats: {err}; using log lines)", file=sys.stderr)
        stages, stage_source = log_stage_seconds(Path(measured.stderr)), "log lines"
    if "run" in stages:
        stages["outside_run"] = measured.seconds - stages.pop("run")
    return {
        "measured": asdict(measured),
        "warehouse": str(warehouse),
        "stages_s": stages,
        "stages_from": stage_source,
        "dbt_build": dbt_build_breakdown(target_root),
    }


# --- 3. The mart stage alone ---------------------------------------------------------------------


def slowest_nodes(results: dict[str, Any], count: int) -> list[dict[str, Any]]:
    nodes = sorted(results["results"], key=lambda n: n["execution_time"], reverse=True)
    return [
        {
            "node": n["unique_id"].split(".", 2)[-1],
            "kind": _node_kind(n),
            "seconds": round(n["execution_time"], 3),
            "execute_s": round(_phase_seconds(n, "execute"), 3),
            "status": n["status"],
        }
        for n in nodes[:count]
    ]


def _phase_seconds(node: dict[str, Any], phase: str) -> float:
    for timing in node.get("timing", []):
        if timing["name"] == phase and timing.get("started_at") and timing.get("completed_at"):
            started = _iso_seconds(timing["started_at"])
            return _iso_seconds(timing["completed_at"]) - started
    return 0.0


def _iso_seconds(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


RFM_ABC_MARTS = ("model.customer_tiers.customer_rfm", "model.customer_tiers.customer_abc")
# What the floor computes, as dbt models: customer_rfm, customer_abc and the intermediate models
# they are built from. Staging is left out: its views cost nothing to rebuild, and the
# incremental staging of the order lines holds the rows the run loaded.
RFM_ABC_SELECT = (
    "int_as_of_resolved",
    "int_order_lines_costed",
    "int_orders_summarized",
    "int_customers_summarized",
    "int_customers_rfm_scored",
    "int_customers_abc_classified",
    "customer_rfm",
    "customer_abc",
)

# One model of one row: its `tiers dbt -- run` measures what every dbt invocation costs.
STARTUP_SELECT = ("int_as_of_resolved",)


def upstream_nodes(manifest: dict[str, Any], roots: Sequence[str]) -> set[str]:
    """`roots` and every node they are built from (dbt's parent_map, transitively)."""
    parents: dict[str, list[str]] = manifest.get("parent_map", {})
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if node not in seen:
            seen.add(node)
            stack.extend(parents.get(node, ()))
    return seen


def time_mart_stage(
    published: Path, run_dir: Path, as_of: date, select: Sequence[str]
) -> dict[str, Any]:
    """`tiers dbt --warehouse <published> -- run --select <select>` on a fresh work copy of the
    published warehouse (`<published>.building`), as an analyst reruns models (README,
    Development): same warehouse and `--as-of` as the `tiers run` before it.

    dbt writes its target and logs under run_dir, so dbt_project/target is not touched (other
    people run dbt there). `rfm_abc_models_s` sums the run times of the models customer_rfm and
    customer_abc are built from (themselves included): the part the floor also computes.
    `dbt_parse` says whether dbt reused the partial parse of that run ("partial") or parsed the
    whole project again ("full": it does when the vars or the warehouse path differ)."""
    warehouse = published
    work_copy = warehouse.with_name(warehouse.name + ".building")
    work_copy.with_name(work_copy.name + ".wal").unlink(missing_ok=True)
    shutil.copyfile(published, work_copy)
    target, logs = run_dir / "dbt_target", run_dir / "dbt_logs"
    results_path, manifest_path = target / "run_results.json", target / "manifest.json"
    results_path.unlink(missing_ok=True)  # never read an earlier repetition's results
    partial_parse = DBT_PROJECT_DIR / "target" / "partial_parse.msgpack"
    if partial_parse.exists():  # as dagster-dbt does: lets dbt skip a full parse when valid
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(partial_parse, target / partial_parse.name)
    command = [
        str(TIERS), "dbt", "--warehouse", str(warehouse), "--as-of", as_of.isoformat(), "--",
        "run", "--select", *select, "--target-path", str(target), "--log-path", str(logs),
    ]  # fmt: skip
    measured = run_measured(command, run_dir / "mart_stage")
    stdout = Path(measured.stdout).read_text(errors="replace")
    outcome: dict[str, Any] = {
        "measured": asdict(measured),
        "select": list(select),
        "work_copy": str(work_copy),
        "dbt_parse": "full" if "Unable to do partial parsing" in stdout else "partial",
    }
    if results_path.exists():
        results = json.loads(results_path.read_text())
        outcome["dbt_elapsed_s"] = results["elapsed_time"]
        outcome["models"] = slowest_nodes(results, len(results["results"]))
        if manifest_path.exists():
            lineage = upstream_nodes(json.loads(manifest_path.read_text()), RFM_ABC_MARTS)
            outcome["rfm_abc_models_s"] = sum(
                n["execution_time"] for n in results["results"] if n["unique_id"] in lineage
            )
    return outcome


# --- 4. The floor ------------------------------------------------------------------------------

FLOOR_SQL = """
create or replace table out.floor_rfm_abc as
with
lines as (
    select
        o.customer_id,
        o.order_id,
        cast(o.ordered_at as date) as order_date,
        o.amount,
        o.amount - coalesce(
            coalesce(o.cost, cast(coalesce(o.quantity, 1) as decimal(18, 4)) * p.unit_cost), 0
        ) as profit
    from w.raw.orders as o
    left join w.raw.products as p on o.product_id = p.product_id
    where cast(o.ordered_at as date) <= date '{as_of}'
),
orders as (
    select
        customer_id,
        min(order_date) as order_date,
        bool_or(amount > 0) as is_purchase,
        sum(amount) as revenue,
        sum(profit) as profit
    from lines
    group by customer_id, order_id
),
customers as (
    select
        customer_id,
        date '{as_of}' - max(order_date) filter (where is_purchase) as recency_days,
        count(*) filter (where is_purchase) as frequency,
        sum(revenue) as monetary,
        sum(profit) as profit
    from orders
    group by customer_id
    having count(*) filter (where is_purchase) > 0
),
ranked as (
    select
        *,
        count(*) over () as n,
        rank() over (order by recency_days desc) as r_rank,
        rank() over (order by frequency) as f_rank,
        rank() over (order by monetary) as m_rank,
        rank() over (order by profit) as p_rank
    from customers
)
-- customers whose value is at least mine = n - (ascending rank - 1)
select
    customer_id,
    recency_days,
    frequency,
    monetary,
    profit,
    1 + (5 * (r_rank - 1)) // n as r_score,
    1 + (5 * (f_rank - 1)) // n as f_score,
    1 + (5 * (m_rank - 1)) // n as m_score,
    {abc_revenue} as abc_revenue,
    {abc_profit} as abc_profit,
    {abc_frequency} as abc_frequency
from ranked
"""


def _abc_case(rank: str, share_a: float, share_b: float) -> str:
    at_or_above = f"(n - {rank} + 1)"
    a = f"cast({share_a} as decimal(9, 6))"
    b = f"cast({share_b} as decimal(9, 6))"
    return (
        f"case when {at_or_above} <= {a} * n then 'A' "
        f"when {at_or_above} <= ({a} + {b}) * n then 'B' else 'C' end"
    )


def floor_sql(as_of: date, share_a: float, share_b: float) -> str:
    return FLOOR_SQL.format(
        as_of=as_of.isoformat(),
        abc_revenue=_abc_case("m_rank", share_a, share_b),
        abc_profit=_abc_case("p_rank", share_a, share_b),
        abc_frequency=_abc_case("f_rank", share_a, share_b),
    )


def floor_child(warehouse: Path, out: Path, sql: str) -> None:
    """Child process: run the floor query, print its own timing as JSON on the last line."""
    import duckdb

    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"attach '{warehouse}' as w (read_only)")
    con.execute(f"attach '{out}' as out")
    attached = time.perf_counter()
    con.execute(sql)
    queried = time.perf_counter()
    rows = con.execute("select count(*) from out.floor_rfm_abc").fetchone()
    con.execute("detach out")  # checkpoints the new table to disk
    done = time.perf_counter()
    print(
        json.dumps(
            {"attach_s": attached - started, "query_s": queried - attached,
             "checkpoint_s": done - queried, "rows": rows[0] if rows else None}
        )
    )  # fmt: skip


def abc_shares() -> tuple[str, float, float]:
    from customer_tiers.orchestration.config import load_config

    abc = load_config().abc
    return abc.mode, abc.shares["A"], abc.shares["B"]


def time_floor(published: Path, run_dir: Path, as_of: date) -> dict[str, Any]:
    mode, share_a, share_b = abc_shares()
    out = run_dir / "floor.duckdb"
    out.unlink(missing_ok=True)
    sql = floor_sql(as_of, share_a, share_b)
    (run_dir / "floor.sql").write_text(sql)
    command = [
        sys.executable, str(Path(__file__).resolve()), "--floor-child",
        "--floor-warehouse", str(published), "--floor-out", str(out),
        "--floor-sql", str(run_dir / "floor.sql"),
    ]  # fmt: skip
    measured = run_measured(command, run_dir / "floor")
    outcome: dict[str, Any] = {"measured": asdict(measured), "out": str(out), "abc_mode": mode}
    lines = [line for line in Path(measured.stdout).read_text().splitlines() if line[:1] == "{"]
    if lines:
        outcome.update(json.loads(lines[-1]))
    return outcome


# --- Comparing the floor with the marts ----------------------------------------------------------

COUNT_QUERIES = {
    "r_score": (
        "select r_score, count(*) from m.marts.customer_rfm group by all",
        "select r_score, count(*) from f.floor_rfm_abc group by all",
    ),
    "f_score": (
        "select f_score, count(*) from m.marts.customer_rfm group by all",
        "select f_score, count(*) from f.floor_rfm_abc group by all",
    ),
    "m_score": (
        "select m_score, count(*) from m.marts.customer_rfm group by all",
        "select m_score, count(*) from f.floor_rfm_abc group by all",
    ),
    "abc_class": (
        "select basis, abc_class, count(*) from m.marts.customer_abc group by all",
        "select basis, abc_class, count(*) from (unpivot f.floor_rfm_abc "
        "on abc_revenue as revenue, abc_profit as profit, abc_frequency as frequency "
        "into name basis value abc_class) group by all",
    ),
}

DIFFERING_CUSTOMERS = """
create temp table differing as
with abc as (
    pivot m.marts.customer_abc on basis in ('revenue', 'profit', 'frequency')
    using any_value(abc_class) group by customer_id
)
select
    customer_id,
    concat(r.r_score, r.f_score, r.m_score) as marts_rfm,
    concat(f.r_score, f.f_score, f.m_score) as floor_rfm,
    concat(abc.revenue, abc.profit, abc.frequency) as marts_abc_rev_prof_freq,
    concat(f.abc_revenue, f.abc_profit, f.abc_frequency) as floor_abc_rev_prof_freq,
    cast(f.monetary as varchar) as floor_monetary,
    cast(f.profit as varchar) as floor_profit
from m.marts.customer_rfm as r
join abc using (customer_id)
full join f.floor_rfm_abc as f using (customer_id)
where r.r_score is distinct from f.r_score
    or r.f_score is distinct from f.f_score
    or r.m_score is distinct from f.m_score
    or abc.revenue is distinct from f.abc_revenue
    or abc.profit is distinct from f.abc_profit
    or abc.frequency is distinct from f.abc_frequency
"""


def compare_with_marts(marts_db: Path, floor_db: Path) -> dict[str, Any]:
    """Counts per r/f/m score and per (basis, abc_class) in the marts against the floor, and
    the customers whose scores or classes differ (a sample of 5 with the floor's values).

    Both sides compute cost and profit in DECIMAL, as the models do, so sums are exact and
    ties at a class cut stay ties."""
    import duckdb

    con = duckdb.connect()
    try:
        con.execute(f"attach '{marts_db}' as m (read_only)")
        con.execute(f"attach '{floor_db}' as f (read_only)")
        counts: dict[str, Any] = {}
        for name, (mart_sql, floor_query) in COUNT_QUERIES.items():
            mart_rows = sorted(con.execute(mart_sql).fetchall())
            floor_rows = sorted(con.execute(floor_query).fetchall())
            counts[name] = {"equal": mart_rows == floor_rows, "marts": mart_rows}
            if mart_rows != floor_rows:
                counts[name]["floor"] = floor_rows
        con.execute(DIFFERING_CUSTOMERS)
        row = con.execute("select count(*) from differing").fetchone()
        sample = con.execute("select * from differing order by customer_id limit 5")
        names = [d[0] for d in sample.description]
        examples = [dict(zip(names, values, strict=True)) for values in sample.fetchall()]
    finally:
        con.close()
    differing = row[0] if row else None
    return {
        "equal": all(c["equal"] for c in counts.values()) and differing == 0,
        "customers_differing": differing,
        "differing_sample": examples,
        "counts": counts,
    }


# --- Putting it together -----------------------------------------------------------------------


@dataclass
class Options:
    workdir: Path
    seed: int
    as_of: date
    keep: bool
    repeat: int
    mart_select: list[str]


@dataclass
class SizeResult:
    customers: int
    seed: int
    as_of: str
    lines: int = 0
    generate: dict[str, Any] = field(default_factory=dict)
    tiers_run: dict[str, Any] = field(default_factory=dict)
    mart_stage: dict[str, Any] = field(default_factory=dict)  # the fastest repetition
    # `tiers dbt -- run` of one one-row model: dbt's fixed cost (interpreter, dbt import,
    # loading the partial parse and every macro, connecting), whatever the data size
    dbt_startup: dict[str, Any] = field(default_factory=dict)  # the fastest repetition
    floor: dict[str, Any] = field(default_factory=dict)  # the fastest repetition
    floor_vs_marts: dict[str, Any] = field(default_factory=dict)
    machine_load: dict[str, Any] = field(default_factory=dict)
    code_state: dict[str, Any] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


def machine_load() -> dict[str, Any]:
    """Load average and CPU pressure: other work on the machine makes the timings noisy."""
    load: dict[str, Any] = {"loadavg_1_5_15": [round(x, 2) for x in os.getloadavg()]}
    pressure = Path("/proc/pressure/cpu")
    if pressure.exists():
        some = pressure.read_text().splitlines()[0].split()
        load["cpu_pressure_some"] = dict(item.split("=") for item in some[1:4])
    return load


def code_state() -> dict[str, Any]:
    """Which models were measured: the commit and the uncommitted changes to dbt_project."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True)
        return done.stdout.strip()

    return {
        "git_head": git("rev-parse", "--short", "HEAD"),
        "uncommitted_in_dbt_project": git("status", "--short", "--", "dbt_project").splitlines(),
    }


def _check(result: SizeResult, what: str, measured: dict[str, Any]) -> bool:
    if measured["returncode"] == 0:
        return True
    result.failures.append(f"{what} exited {measured['returncode']}: {_tail(measured['stderr'])}")
    return False


def _fastest(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest successful repetition, with every repetition's wall time attached."""
    ok = [r for r in runs if r["measured"]["returncode"] == 0] or runs
    best = dict(min(ok, key=lambda r: r["measured"]["seconds"]))
    best["all_seconds"] = [round(r["measured"]["seconds"], 2) for r in runs]
    return best


def bench_marts_and_floor(
    result: SizeResult, published: Path, run_dir: Path, opts: Options
) -> None:
    """Mart stage and floor, alternated `repeat` times; keeps the fastest of each."""
    marts, floors, startups = [], [], []
    for i in range(opts.repeat):
        _say(f"[{result.customers:,}] mart stage ({i + 1}/{opts.repeat})")
        marts.append(time_mart_stage(published, run_dir, opts.as_of, opts.mart_select))
        _say(f"[{result.customers:,}] floor ({i + 1}/{opts.repeat})")
        floors.append(time_floor(published, run_dir, opts.as_of))
        _say(f"[{result.customers:,}] dbt start-up ({i + 1}/{opts.repeat})")
        startups.append(time_mart_stage(published, run_dir, opts.as_of, STARTUP_SELECT))
    result.mart_stage, result.floor = _fastest(marts), _fastest(floors)
    result.dbt_startup = _fastest(startups)
    mart_ok = _check(result, "mart stage", marts[-1]["measured"])
    if not _check(result, "floor", floors[-1]["measured"]):
        return
    marts_db = Path(marts[-1]["work_copy"]) if mart_ok else published
    result.floor_vs_marts = compare_with_marts(marts_db, Path(floors[-1]["out"]))
    result.floor_vs_marts["marts_from"] = str(marts_db)
    if not result.floor_vs_marts["equal"]:
        result.failures.append("floor output differs from the marts (see floor_vs_marts)")


def bench_size(customers: int, opts: Options) -> SizeResult:
    result = SizeResult(customers=customers, seed=opts.seed, as_of=opts.as_of.isoformat())
    result.machine_load["before"] = machine_load()
    result.code_state = code_state()
    _say(f"[{customers:,}] generating sources")
    generated = generate_sources(opts.workdir, customers, opts.seed)
    result.generate, result.lines = asdict(generated), generated.rows.get("orders", 0)
    run_dir = opts.workdir / f"run-{customers}"
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    try:
        _say(f"[{customers:,}] tiers run ({result.lines:,} order lines)")
        result.tiers_run = time_tiers_run(Path(generated.directory), run_dir, opts.as_of)
        if _check(result, "tiers run", result.tiers_run["measured"]):
            published = Path(result.tiers_run["warehouse"])
            bench_marts_and_floor(result, published, run_dir, opts)
    finally:
        result.machine_load["after"] = machine_load()
        if not opts.keep:
            shutil.rmtree(run_dir, ignore_errors=True)
    return result


def _say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


# --- Reporting ---------------------------------------------------------------------------------


def _seconds(section: dict[str, Any]) -> float | None:
    measured = section.get("measured")
    return measured["seconds"] if measured and measured["returncode"] == 0 else None


def _peak(section: dict[str, Any]) -> str:
    measured = section.get("measured")
    if not measured:
        return "-"
    return f"{measured['peak_rss_mb']:.0f} / {measured['tree_rss_mb']:.0f}"


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _ratio(numerator: float | None, denominator: float | None) -> str:
    if numerator is None or not denominator:
        return "-"
    return f"{numerator / denominator:.1f}x"


TABLE_HEADER = (
    "| lines | customers | generate s | `tiers run` s | run peak MB | mart stage s | mart peak MB "
    "| mart dbt elapsed s | RFM+ABC models s | dbt start-up s | floor s | floor peak MB "
    "| floor query s | mart/floor wall | (mart - start-up)/floor wall | mart/floor in-SQL "
    "| RFM+ABC/floor in-SQL | floor = marts |"
)


def summary_table(results: Sequence[SizeResult]) -> str:
    """Wall times are whole child processes; "in-SQL" compares dbt's elapsed time (or the sum of
    the RFM/ABC lineage model times) with the floor query alone. Peak MB: largest process /
    sampled sum over the process tree."""
    rows = [TABLE_HEADER, "|" + "---|" * (TABLE_HEADER.count("|") - 1)]
    for r in results:
        reused = " (reused)" if r.generate.get("reused") else ""
        mart_s, floor_s = _seconds(r.mart_stage), _seconds(r.floor)
        mart_sql, floor_query = r.mart_stage.get("dbt_elapsed_s"), r.floor.get("query_s")
        rfm_abc = r.mart_stage.get("rfm_abc_models_s")
        startup_s = _seconds(r.dbt_startup)
        net_s = mart_s - startup_s if mart_s is not None and startup_s is not None else None
        check = r.floor_vs_marts.get("equal")
        cells = [
            f"{r.lines:,}", f"{r.customers:,}", _fmt(r.generate.get("seconds")) + reused,
            _fmt(_seconds(r.tiers_run)), _peak(r.tiers_run),
            _fmt(mart_s), _peak(r.mart_stage), _fmt(mart_sql), _fmt(rfm_abc), _fmt(startup_s),
            _fmt(floor_s), _peak(r.floor), _fmt(floor_query),
            _ratio(mart_s, floor_s), _ratio(net_s, floor_s),
            _ratio(mart_sql, floor_query), _ratio(rfm_abc, floor_query),
            "-" if check is None else ("yes" if check else "NO"),
        ]  # fmt: skip
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows)


def details(result: SizeResult) -> Iterator[str]:
    yield f"\n### {result.customers:,} customers, {result.lines:,} order lines"
    stages = result.tiers_run.get("stages_s", {})
    if stages:
        parts = ", ".join(f"{k} {v:.1f}" for k, v in stages.items())
        yield f"- `tiers run` stages (s, {result.tiers_run['stages_from']}): {parts}"
    largest = result.tiers_run.get("measured", {}).get("largest_processes", [])
    if largest:
        parts = ", ".join(f"{p['process']} {p['peak_rss_mb']}" for p in largest)
        yield f"- `tiers run` largest processes (sampled peak MB): {parts}"
    for build in result.tiers_run.get("dbt_build", []):
        kinds = ", ".join(f"{k} {v:.1f}" for k, v in sorted(build["summed_node_s"].items()))
        yield f"- dbt build in `tiers run`: elapsed {build['elapsed_s']:.1f} s; summed: {kinds}"
    sections = (
        ("mart stage", result.mart_stage),
        ("floor", result.floor),
        ("dbt start-up", result.dbt_startup),
    )
    for name, section in sections:
        if len(section.get("all_seconds", [])) > 1:
            yield f"- {name} wall per repetition (s): {section['all_seconds']} (table: fastest)"
    if result.mart_stage.get("dbt_parse"):
        yield f"- mart stage dbt parse: {result.mart_stage['dbt_parse']}"
    models = result.mart_stage.get("models", [])
    if models:
        slowest = ", ".join(f"{m['node']} {m['seconds']:.2f}" for m in models[:SLOWEST_MODELS])
        yield f"- slowest mart-stage models (s): {slowest}"
    if result.floor_vs_marts:
        differing = result.floor_vs_marts["customers_differing"]
        unequal = [k for k, c in result.floor_vs_marts["counts"].items() if not c["equal"]]
        yield (
            f"- floor vs marts: counts differ for {unequal or 'none'}; "
            f"customers differing: {differing}"
        )
        for example in result.floor_vs_marts.get("differing_sample", []):
            yield f"  - {example}"
    if result.machine_load:
        loads = {k: v.get("loadavg_1_5_15") for k, v in result.machine_load.items()}
        yield f"- machine load average (1/5/15 min): {loads}"
    for failure in result.failures:
        yield f"- FAILED: {failure}"


# --- Command line ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--customers", type=int, nargs="+", default=[100_000], help="one run per size given"
    )
    parser.add_argument(
        "--workdir", type=Path, default=Path("/tmp/bench"), help="sources, warehouses, JSON"
    )
    parser.add_argument("--seed", type=int, default=42, help="seed of the demo data")
    parser.add_argument(
        "--as-of", type=date.fromisoformat, default=date(2026, 6, 30), help="analysis date"
    )
    parser.add_argument("--keep", action="store_true", help="keep the warehouses of each size")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run mart stage and floor N times, keep the fastest"
    )
    parser.add_argument(
        "--select",
        nargs="+",
        default=list(RFM_ABC_SELECT),
        help="dbt selection of the mart stage (default: the models customer_rfm and "
        "customer_abc are built from, staging excluded)",
    )
    parser.add_argument("--floor-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--floor-warehouse", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--floor-out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--floor-sql", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.floor_child:
        floor_child(args.floor_warehouse, args.floor_out, args.floor_sql.read_text())
        return 0
    sys.path.insert(0, str(REPO))
    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    opts = Options(workdir, args.seed, args.as_of, args.keep, max(1, args.repeat), args.select)
    results: list[SizeResult] = []
    for customers in args.customers:
        result = bench_size(customers, opts)
        (workdir / f"results-{customers}.json").write_text(json.dumps(asdict(result), indent=2))
        results.append(result)
    print(summary_table(results))
    for result in results:
        print("\n".join(details(result)))
    print(f"\nJSON: {', '.join(str(workdir / f'results-{r.customers}.json') for r in results)}")
    return 1 if any(r.failures for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
