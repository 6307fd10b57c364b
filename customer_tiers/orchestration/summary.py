"""The run summary printed by `tiers run`, read from the published warehouse: the run's own
tables (load audit, quarantine, validation results) and the reporting marts
(models/marts/reporting), which hold every figure of the marts once, for the report too."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from customer_tiers.orchestration.config import load_config
from customer_tiers.orchestration.gates import after_latest_order


@dataclass(frozen=True)
class ParetoFigure:
    basis: str
    top_customers: int
    customers: int
    top_value_share: float | None  # share of the basis total brought by class A


@dataclass(frozen=True)
class RunSummary:
    warehouse: Path
    as_of: str | None
    sources: list[tuple[str, str, int, int, int]]  # source, status, read, loaded, quarantined
    quarantine_reasons: list[tuple[str, str, int]]  # source, reason, rows
    warnings: list[tuple[str, str, str, int | None]]  # source, expectation, column, unexpected
    segments: list[tuple[str, str, int]]  # segment, label_zh, customers
    value_classes: list[tuple[str, int]]
    abc_classes: list[tuple[str, int, float | None]]  # class, customers, revenue share
    pareto: ParetoFigure | None
    customers: int
    clv_fitted_customers: int | None = None  # None: the models could not be fitted
    clv_monetary_excluded: int = 0  # repeat customers left out of the Gamma-Gamma fit
    churn: list[tuple[str, str, int]] = field(default_factory=list)  # level, action, customers
    nps: tuple[str, int, float, float] | None = None  # period, responses, nps, margin
    tiers: list[tuple[str, str, int]] = field(default_factory=list)  # tier, label_zh, customers
    stages: list[tuple[str, str, int]] = field(default_factory=list)  # stage, label_zh, customers
    unassigned: int = 0  # customers no account manager had room for
    migration: tuple[str, int, int, int, int] | None = None  # from as_of, up, down, new, lost
    # source, column, referenced source, rule, unresolved rows, distinct ids
    unresolved: list[tuple[str, str, str, str, int, int]] = field(default_factory=list)
    not_loaded: list[tuple[str, str, str]] = field(default_factory=list)  # source, file, why
    extra: list[str] = field(default_factory=list)
    # quality.max_quarantined_share per source; the note when the analysis date is too long
    # after the latest order (orchestration/gates.py)
    max_quarantined_share: dict[str, float] = field(default_factory=dict)
    as_of_note: str | None = None


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )


def read_summary(warehouse: Path, run_id: str) -> RunSummary:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        sources = con.execute(
            # a source is 'absent', or 'loaded' when any of its files was read this run
            "select source, min(status), sum(rows_read), sum(rows_loaded), "
            "sum(rows_quarantined) from raw.load_audit where run_id = ? "
            "and status not in ('duplicate', 'skipped') group by source order by source",
            [run_id],
        ).fetchall()
        # files present but not loaded (duplicates, non-data files), with why (ingest/landing.py)
        not_loaded = con.execute(
            "select source, file, note from raw.load_audit where run_id = ? "
            "and status in ('duplicate', 'skipped') order by all",
            [run_id],
        ).fetchall()
        reasons: list[tuple[str, str, int]] = []
        for source, *_ in sources:
            if _table_exists(con, "quarantine", source):
                reasons += con.execute(
                    f"select '{source}', _reason_category, count(*) from quarantine.{source} "
                    "group by all order by 3 desc, 2"
                ).fetchall()
        warnings = []
        if _table_exists(con, "quality", "validation_results"):
            warnings = con.execute(
                'select source, expectation, "column", unexpected_count '
                "from quality.validation_results "
                "where run_id = ? and not success and severity = 'warning' order by all",
                [run_id],
            ).fetchall()
        (latest_order,) = con.execute(
            "select max(cast(ordered_at as date)) from raw.orders"
        ).fetchone()
        # every mart figure below is a column or row of a reporting mart (models/marts/reporting),
        # which the report reads too: one definition each
        headline = con.execute(
            "select as_of, customers, pareto_customers, pareto_top_customers, "
            "pareto_top_revenue_share, clv_fitted_customers, clv_monetary_excluded, nps_period, "
            "nps_responses, nps, nps_moe_95, customers_without_manager, migration_from_as_of, "
            "customers_upgraded, customers_downgraded, customers_new, customers_lost "
            "from marts.report_headlines"
        ).fetchone()
        segments = con.execute(
            "select rfm_segment, rfm_segment_zh, customers from marts.report_segment_counts "
            "order by customers desc, rfm_segment"
        ).fetchall()
        value_classes = con.execute(
            "select value_class, customers from marts.report_value_class_counts order by 1"
        ).fetchall()
        abc = con.execute(
            "select abc_class, customers, value_share from marts.report_abc_classes "
            "where basis = 'revenue' order by 1"
        ).fetchall()
        churn = con.execute(
            "select risk_level, action, customers from marts.report_churn_counts order by 1, 2"
        ).fetchall()
        tiers = con.execute(
            "select tier, tier_label_zh, customers from marts.report_tier_counts "
            "order by tier_rank, tier"
        ).fetchall()
        stages = con.execute(
            "select lifecycle_stage, lifecycle_stage_zh, customers from marts.report_stage_counts "
            "order by customers desc, lifecycle_stage"
        ).fetchall()
        unresolved = con.execute(
            "select source_name, reference_column, referenced_source, applied_rule, "
            "unresolved_rows, unresolved_ids from quality.referential_integrity "
            "where unresolved_rows > 0 order by 1, 2"
        ).fetchall()
    finally:
        con.close()
    config = load_config()
    (
        as_of,
        customers,
        in_abc,
        top_customers,
        top_share,
        fitted,
        excluded,
        nps_period,
        nps_responses,
        nps_score,
        nps_margin,
        unassigned,
        since,
        *moves,
    ) = headline
    as_of_note = None
    if as_of:
        max_days = config.time.max_days_after_latest_order
        as_of_note = after_latest_order([as_of], latest_order, max_days)
    # the Pareto figure as report_headlines defines it; none when no customer is in the top
    pareto = (
        ParetoFigure(
            "revenue", top_customers, in_abc, float(top_share) if top_share is not None else None
        )
        if top_customers
        else None
    )
    nps = None
    if nps_period is not None and nps_score is not None:
        nps = (nps_period, nps_responses, float(nps_score), float(nps_margin or 0.0))
    return RunSummary(
        warehouse=warehouse,
        as_of=str(as_of) if as_of else None,
        sources=sources,
        quarantine_reasons=reasons,
        warnings=warnings,
        segments=segments,
        value_classes=value_classes,
        abc_classes=[(c, n, float(s) if s is not None else None) for c, n, s in abc],
        pareto=pareto,
        customers=customers,
        clv_fitted_customers=fitted,
        clv_monetary_excluded=excluded,
        churn=churn,
        nps=nps,
        tiers=tiers,
        stages=stages,
        unassigned=unassigned,
        migration=(since.isoformat(), *moves) if since is not None else None,
        unresolved=unresolved,
        not_loaded=list(not_loaded),
        max_quarantined_share=dict(config.quality.max_quarantined_share),
        as_of_note=as_of_note,
    )


def _pct(share: float | None) -> str:
    return "n/a" if share is None else f"{share * 100:.1f}%"


def format_summary(summary: RunSummary) -> str:
    lines = [f"Analysis as of {summary.as_of or '(no orders)'}"]
    if summary.as_of_note:
        lines.append(f"warning: {summary.as_of_note}")
    lines += ["", "Sources"]
    for source, status, read, loaded, quarantined in summary.sources:
        if status == "absent":
            lines.append(f"  {source:<10} absent: the marts that need it are empty")
        elif status == "unchanged":
            lines.append(f"  {source:<10} no new or changed file; the rows loaded before stay")
        else:
            counts = f"{read:>12,} read {loaded:>12,} loaded {quarantined:>9,} quarantined"
            threshold = summary.max_quarantined_share.get(source)
            if read and threshold is not None:
                counts += f" ({quarantined / read:.2%}, max {threshold:.2%})"
            lines.append(f"  {source:<10} {counts}")
    if summary.not_loaded:
        lines += ["", "Files not loaded (raw.load_audit)"]
        lines += [f"  {s:<10} warning: {name}: {why}" for s, name, why in summary.not_loaded]
    if summary.quarantine_reasons:
        lines += ["", "Quarantined rows by reason (schema quarantine)"]
        lines += [f"  {s:<10} {n:>9,}  {reason}" for s, reason, n in summary.quarantine_reasons]
    if summary.warnings:
        lines += ["", "Data-quality warnings (not blocking)"]
        for source, expectation, column, unexpected in summary.warnings:
            count = f"{unexpected:,} rows" if unexpected is not None else "failed"
            lines.append(f"  {source:<10} {expectation} on {column or 'table'}: {count}")
    if summary.unresolved:
        lines += [
            "",
            "References that do not resolve (quality.referential_integrity; none dropped)",
        ]
        rules = {
            "derive": "kept with an empty profile",
            "keep": "kept",
            "reassign": "given an active manager",
        }
        for source, column, target, rule, rows, ids in summary.unresolved:
            lines.append(
                f"  {source}.{column}: {rows:,} rows ({ids:,} ids) not in {target}: "
                f"{rules.get(rule, rule)}"
            )
    lines += ["", f"Customers: {summary.customers:,}", "", "RFM segments"]
    lines += [f"  {name:<20} {zh:<8} {n:>10,}" for name, zh, n in summary.segments]
    lines += ["", "RFM value classes"]
    lines += [f"  {cls}  {n:>10,}" for cls, n in summary.value_classes]
    lines += ["", "ABC classes by revenue"]
    lines += [
        f"  {cls}  {n:>10,} customers  {_pct(s):>7} of revenue" for cls, n, s in summary.abc_classes
    ]
    if summary.pareto:
        p = summary.pareto
        lines += [
            "",
            f"Pareto: the top {p.top_customers / p.customers * 100:.0f}% of customers "
            f"({p.top_customers:,} of {p.customers:,}) bring {_pct(p.top_value_share)} of revenue.",
        ]
    if summary.clv_fitted_customers is None:
        lines += ["", "CLV models: not fitted (see the warning below); predicted columns empty"]
    else:
        lines += ["", f"CLV models: fitted on {summary.clv_fitted_customers:,} customers"]
        if summary.clv_monetary_excluded:
            lines += [
                f"  {summary.clv_monetary_excluded:,} repeat customers with repeat purchases "
                "worth zero or less left out of the Gamma-Gamma fit (population mean used)"
            ]
    if summary.churn:
        lines += ["Churn watch list"]
        lines += [f"  {level:<8} {action:<9} {n:>10,}" for level, action, n in summary.churn]
    if summary.nps:
        period, responses, score, margin = summary.nps
        lines += [f"NPS {period}: {score:+.1f} ± {margin:.1f} points ({responses:,} responses)"]
    if summary.tiers:
        lines += ["", "Tiers"]
        lines += [f"  {tier:<10} {n:>10,}  {zh}" for tier, zh, n in summary.tiers]
        lines += ["Lifecycle stages"]
        lines += [f"  {stage:<10} {n:>10,}  {zh}" for stage, zh, n in summary.stages]
    if summary.migration:
        since, up, down, new, lost = summary.migration
        lines += [
            f"Since {since}: {up:,} customers moved up a tier, {down:,} down, {new:,} new, "
            f"{lost:,} gone"
        ]
    if summary.unassigned:
        lines += [
            f"{summary.unassigned:,} customers have no account manager: every active manager is "
            "at capacity (marts.account_assignment, reason no_capacity)"
        ]
    lines += [
        "",
        f"Warehouse: {summary.warehouse} (schema `marts`; BI tools open it read-only)",
        "Dagster UI: make dev, then http://127.0.0.1:3000",
    ]
    return "\n".join(lines + summary.extra)
