"""Open the warehouse, build every chart, render the page and write it atomically.

The warehouse is opened read-only and closed before the page is written; the page is written to
a temporary file beside --out and renamed over it.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from customer_tiers.orchestration.config import MEMORY_LIMIT, WORK_SUFFIX
from customer_tiers.orchestration.report.base import MARTS_SCHEMA, Chart, Context, Skip
from customer_tiers.orchestration.report.charts import CHARTS, ChartSpec
from customer_tiers.orchestration.report.template import page_html, section_html
from customer_tiers.orchestration.report.text import LANGS, Lang, text


class ReportError(Exception):
    """The report could not be made (no warehouse, no marts, unwritable --out): exit 2."""


@dataclass(frozen=True)
class ReportSummary:
    warehouse: Path
    out: Path
    lang: Lang
    drawn: list[str]  # chart keys, in page order
    skipped: list[tuple[str, str]]  # chart key, why (in English)
    bytes: int


def _open(warehouse: Path) -> duckdb.DuckDBPyConnection:
    if warehouse.name.endswith(WORK_SUFFIX):
        raise ReportError(
            f"--warehouse {warehouse}: this is a run's work copy; "
            "report on the published file instead (without the suffix)"
        )
    if not warehouse.is_file():
        raise ReportError(f"--warehouse {warehouse}: no such file")
    try:
        # read_only: a run replaces the file with os.replace; the report never writes it.
        return duckdb.connect(str(warehouse), read_only=True, config={"memory_limit": MEMORY_LIMIT})
    except duckdb.Error as err:
        raise ReportError(f"--warehouse {warehouse}: not a readable DuckDB file: {err}") from err


def _marts(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    rows = con.execute(
        "select table_name from information_schema.tables "
        "where table_catalog = current_database() and table_schema = ?",
        [MARTS_SCHEMA],
    ).fetchall()
    return frozenset(name for (name,) in rows)


def _subtitle(ctx: Context, warehouse: Path) -> str:
    as_of: object = None
    customers: int | None = None
    if "report_headlines" in ctx.marts:  # the run summary's figures, one row
        rows = ctx.rows("select as_of, customers from marts.report_headlines")
        if rows:
            as_of, customers = rows[0]
    return ctx.t(
        "page.subtitle",
        warehouse=warehouse.name,
        as_of=as_of.isoformat() if isinstance(as_of, date) else "–",
        customers="–" if customers is None else f"{customers:,}",
    )


def _build(ctx: Context) -> list[tuple[ChartSpec, Chart | Skip]]:
    return [(spec, spec.build(ctx)) for spec in CHARTS]


def _render(
    lang: Lang, subtitle: str, outcomes: list[tuple[ChartSpec, Chart | Skip]], plotly_js: str
) -> str:
    sections, charts = [], []
    for spec, outcome in outcomes:
        title = text(lang, f"{spec.key}.title")
        if isinstance(outcome, Skip):
            skipped = text(lang, "skipped", reason=outcome.says(lang))
            sections.append(
                section_html(spec.key, title, note=None, skipped=skipped, wide=spec.wide, height=0)
            )
            continue
        sections.append(
            section_html(
                spec.key,
                outcome.title or title,
                note=outcome.note,
                skipped=None,
                wide=spec.wide,
                height=outcome.height,
            )
        )
        layout = {**outcome.layout, "height": outcome.height}
        charts.append(
            {"key": spec.key, "data": outcome.data, "layout": layout, "facts": outcome.facts}
        )
    payload = {"lang": lang, "charts": charts}
    return page_html(
        lang=lang,
        title=text(lang, "page.title"),
        subtitle=subtitle,
        sections=sections,
        payload=payload,
        plotly_js=plotly_js,
    )


def _write_atomically(out: Path, content: str) -> int:
    """Write beside --out and rename over it: a reader never sees half a page."""
    data = content.encode("utf-8")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    except OSError as err:
        raise ReportError(f"--out {out}: cannot write there: {err}") from err
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; the page is for sharing
        os.replace(tmp, out)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise ReportError(f"--out {out}: cannot write the page: {err}") from err
    return len(data)


def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def write_report(warehouse: Path, out: Path, lang: Lang = "en") -> ReportSummary:
    """Write the report page of `warehouse` to `out` and say which charts were drawn or not."""
    if lang not in LANGS:
        raise ReportError(f"--lang {lang}: not one of {', '.join(LANGS)}")
    warehouse, out = warehouse.expanduser().resolve(), out.expanduser().resolve()
    con = _open(warehouse)
    try:
        marts = _marts(con)
        if not marts:
            raise ReportError(
                f"--warehouse {warehouse}: no tables in schema {MARTS_SCHEMA} "
                "(is this a published warehouse of `tiers run`?)"
            )
        ctx = Context(con, lang, marts)
        outcomes = _build(ctx)
        subtitle = _subtitle(ctx, warehouse)
    except duckdb.Error as err:
        raise ReportError(f"--warehouse {warehouse}: reading the marts failed: {err}") from err
    finally:
        con.close()
    size = _write_atomically(out, _render(lang, subtitle, outcomes, _plotly_js()))
    return ReportSummary(
        warehouse=warehouse,
        out=out,
        lang=lang,
        drawn=[spec.key for spec, o in outcomes if isinstance(o, Chart)],
        skipped=[(spec.key, o.says("en")) for spec, o in outcomes if isinstance(o, Skip)],
        bytes=size,
    )


def format_summary(summary: ReportSummary) -> str:
    """What `tiers report` prints: the page, the charts drawn, and why any were not."""
    lines = [
        f"Report of {summary.warehouse} written to {summary.out} "
        f"({summary.bytes / 1e6:.1f} MB, {summary.lang})",
        f"  charts drawn: {', '.join(summary.drawn) or 'none'}",
    ]
    lines += [f"  not drawn: {key}: {why}" for key, why in summary.skipped]
    return "\n".join(lines)
