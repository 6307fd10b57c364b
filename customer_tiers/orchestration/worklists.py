"""`tiers worklists`: one call list per account manager from marts.customer_actions.

For every manager (and `unassigned` for actions without one) a CSV and a printable HTML page,
sorted by priority (1 first, then the deadline, then the customer id): what to do (action,
reasons, offer, channel, deadline) and whom to call (name and phone as the mart holds them, that
is masked or hashed per the privacy policy). Customers held out of an experiment (holdout =
true, the control group) are never listed: contacting them would spoil the measurement.

The CSV is written as `tiers export` writes one (orchestration/export.py: DuckDB's COPY, UTF-8
with a BOM, formula characters neutralised). The HTML page is self-contained (no script, no
link), escaped, and prints on A4 landscape.

Every file is written into a staging folder beside --out, which then replaces --out in two
renames: a failure leaves the previous worklists as they were. --out must be absent, empty or an
earlier worklists folder (it holds MARKER), so a wrong path never loses a folder of other files.
"""

from __future__ import annotations

import hashlib
import html
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import duckdb

from customer_tiers.orchestration.export import (
    ExportError,
    _add_bom,
    _check_warehouse,
    _copy_options,
    _ident,
    _literal,
    _neutralised,
    _open,
)

Lang = Literal["en", "zh"]
MART = "marts.customer_actions"
MARKER = ".tiers-worklists"
UNASSIGNED = "unassigned"

# (mart column, English header, Chinese header, text)
COLUMNS: tuple[tuple[str, str, str, bool], ...] = (
    ("priority", "priority", "优先级", False),
    ("due_on", "due_on", "截止日期", False),
    ("action", "action", "行动", True),
    ("reasons", "reasons", "原因", True),
    ("offer", "offer", "优惠", True),
    ("channel", "channel", "渠道", True),
    ("customer_id", "customer_id", "客户编号", True),
    ("customer_name", "customer_name", "客户姓名", True),
    ("phone", "phone", "电话", True),
    ("tier", "tier", "等级", True),
    ("lifecycle_stage", "lifecycle_stage", "生命周期阶段", True),
    ("value_at_stake", "value_at_stake", "涉及价值", False),
    ("experiment_id", "experiment_id", "实验编号", True),
)
ACTIONS = {
    "win_back": ("Win back", "挽回"),
    "reactivation": ("Reactivate", "唤醒"),
    "detractor_followup": ("Follow up a detractor", "跟进贬损者"),
    "callback": ("Care call", "关怀回访"),
}
CHANNELS = {
    "phone": ("phone", "电话"),
    "wechat": ("WeChat", "微信"),
    "sms": ("SMS", "短信"),
    "email": ("email", "邮件"),
}
TEXT = {
    "title": ("Worklist", "工作清单"),
    "manager": ("Account manager", "客户经理"),
    "as_of": ("as of", "数据截至"),
    "customers": ("customers to contact", "位客户待联系"),
    "unassigned": ("No manager assigned", "未分配客户经理"),
    "what": ("What to do", "做什么"),
    "whom": ("Whom to call", "联系谁"),
    "by": ("by", "截止"),
    "via": ("via", "渠道"),
    "offer": ("offer", "优惠"),
    "value": ("value at stake", "涉及价值"),
    "none": ("Nothing due.", "暂无待办。"),
}


class WorklistError(Exception):
    """The worklists could not be written (no actions mart, unusable --out): exit 2."""


@dataclass(frozen=True)
class Worklist:
    staff_id: str | None
    staff_name: str | None
    rows: int
    csv: Path
    html: Path


@dataclass(frozen=True)
class WorklistSummary:
    warehouse: Path
    out_dir: Path
    as_of: date | None
    worklists: list[Worklist]


def _pick(pair: tuple[str, str], lang: Lang) -> str:
    return pair[0] if lang == "en" else pair[1]


def file_stem(staff_id: str | None) -> str:
    """A file name for the manager: the id when it is a safe name, else the id's safe part and
    a short hash (two ids never share a file)."""
    if staff_id is None:
        return UNASSIGNED
    safe = re.sub(r"[^\w.-]", "_", staff_id).lstrip(".") or "_"
    if safe == staff_id and safe != UNASSIGNED:
        return safe
    return f"{safe}-{hashlib.sha256(staff_id.encode()).hexdigest()[:8]}"


def _reasons_column(con: duckdb.DuckDBPyConnection, lang: Lang) -> str:
    return "reasons_zh" if lang == "zh" and _has_column(con, "reasons_zh") else "reasons"


def _has_column(con: duckdb.DuckDBPyConnection, column: str) -> bool:
    [(found,)] = con.execute(
        "select count(*) from information_schema.columns where table_catalog = "
        "current_database() and table_schema = 'marts' and table_name = 'customer_actions' "
        "and column_name = ?",
        [column],
    ).fetchall()
    return bool(found)


_ORDER = "src.priority, src.due_on, src.customer_id"


def _listed(staff_id: str | None) -> str:
    """The manager's rows that go on a worklist: never a held-out (control) customer."""
    manager = "NULL" if staff_id is None else _literal(staff_id)
    return f"src.holdout IS DISTINCT FROM true AND src.staff_id IS NOT DISTINCT FROM {manager}"


def _csv_select(staff_id: str | None, lang: Lang, reasons: str) -> str:
    """One manager's rows as the CSV has them."""
    inner = []
    for column, en, zh, text in COLUMNS:
        source = reasons if column == "reasons" else column
        expression = _neutralised(source) if text else f"src.{_ident(source)}"
        inner.append(f"{expression.rsplit(' AS ', 1)[0]} AS {_ident(en if lang == 'en' else zh)}")
    where = _listed(staff_id)
    return f"SELECT {', '.join(inner)} FROM {MART} AS src WHERE {where} ORDER BY {_ORDER}"


def _html_rows(
    con: duckdb.DuckDBPyConnection, staff_id: str | None, reasons: str
) -> list[dict[str, Any]]:
    columns = [reasons if c == "reasons" else c for c, *_ in COLUMNS]
    select = ", ".join(f"src.{_ident(c)}" for c in columns)
    cursor = con.execute(
        f"SELECT {select} FROM {MART} AS src WHERE {_listed(staff_id)} ORDER BY {_ORDER}"
    )
    return [dict(zip([c for c, *_ in COLUMNS], row, strict=True)) for row in cursor.fetchall()]


def _managers(con: duckdb.DuckDBPyConnection) -> list[tuple[str | None, str | None]]:
    return con.execute(
        f"SELECT src.staff_id, max(src.staff_name) FROM {MART} AS src "
        "WHERE src.holdout IS DISTINCT FROM true GROUP BY src.staff_id "
        "ORDER BY src.staff_id NULLS LAST"
    ).fetchall()


def _check_out(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise WorklistError(f"--out {out_dir}: not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
        raise WorklistError(
            f"--out {out_dir}: the folder holds other files; give a new or empty folder "
            "(an earlier worklists folder is replaced whole)"
        )


def _swap_in(stage: Path, out_dir: Path) -> None:
    previous = out_dir.with_name(f".{out_dir.name}.previous")
    shutil.rmtree(previous, ignore_errors=True)
    if out_dir.exists():
        out_dir.rename(previous)
    stage.rename(out_dir)
    shutil.rmtree(previous, ignore_errors=True)


def write_worklists(
    warehouse: Path,
    out_dir: Path,
    lang: Lang = "en",
    progress: Callable[[str], None] | None = None,
) -> WorklistSummary:
    """Write every manager's CSV and HTML worklist to `out_dir`; see the module docstring."""
    report = progress or (lambda _line: None)
    warehouse, out_dir = warehouse.expanduser().resolve(), out_dir.expanduser().resolve()
    _check_warehouse(warehouse)
    _check_out(out_dir)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.worklists-", dir=out_dir.parent))
    except OSError as err:
        raise WorklistError(f"--out {out_dir}: cannot write there: {err}") from err
    try:
        con = _open(warehouse, stage / ".spill")
        try:
            if not _has_column(con, "customer_id"):
                raise WorklistError(
                    f"--warehouse {warehouse}: no table {MART} (publish it with this "
                    "version's `tiers run` first)"
                )
            as_of = _as_of(con)
            reasons = _reasons_column(con, lang)
            written = []
            for staff_id, staff_name in _managers(con):
                stem = file_stem(staff_id)
                report(f"  {stem} ...")
                csv_path, html_path = stage / f"{stem}.csv", stage / f"{stem}.html"
                body = csv_path.with_name(csv_path.name + ".body")
                con.execute(
                    f"COPY ({_csv_select(staff_id, lang, reasons)}) TO {_literal(str(body))} "
                    f"({_copy_options('csv')})"
                ).fetchall()
                _add_bom(body, csv_path)
                rows = _html_rows(con, staff_id, reasons)
                html_path.write_text(
                    render_page(rows, staff_id, staff_name, as_of, lang), encoding="utf-8"
                )
                written.append((staff_id, staff_name, len(rows), stem))
        finally:
            con.close()
        shutil.rmtree(stage / ".spill", ignore_errors=True)
        (stage / MARKER).write_text("written by tiers worklists\n", encoding="utf-8")
        _swap_in(stage, out_dir)
    except duckdb.Error as err:
        raise WorklistError(f"worklists from {warehouse} failed: {err}") from err
    except OSError as err:
        raise WorklistError(f"worklists to {out_dir} failed: {err}") from err
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    lists = [
        Worklist(sid, name, n, out_dir / f"{stem}.csv", out_dir / f"{stem}.html")
        for sid, name, n, stem in written
    ]
    return WorklistSummary(warehouse, out_dir, as_of, lists)


def _as_of(con: duckdb.DuckDBPyConnection) -> date | None:
    [(as_of,)] = con.execute(f"SELECT max(as_of) FROM {MART}").fetchall()
    return as_of


_STYLE = """
body{font-family:system-ui,"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:1.5em;
color:#111}h1{font-size:1.3em;margin:0 0 .2em}p.meta{color:#444;margin:0 0 1em}
table{border-collapse:collapse;width:100%;font-size:.9em}th,td{border:1px solid #bbb;
padding:.35em .5em;vertical-align:top;text-align:left}th{background:#eee}
td.n{text-align:right;white-space:nowrap}tr{page-break-inside:avoid}
.what b{display:block}.small{color:#444;font-size:.9em}
@page{size:A4 landscape;margin:12mm}@media print{body{margin:0}th{background:#eee!important;
-webkit-print-color-adjust:exact;print-color-adjust:exact}}
"""


def _cell(value: object) -> str:
    return "" if value is None else html.escape(str(value))


def render_page(
    rows: list[dict[str, Any]],
    staff_id: str | None,
    staff_name: str | None,
    as_of: date | None,
    lang: Lang,
) -> str:
    """The printable worklist page of one manager (every value escaped, nothing external)."""
    t = {key: _pick(pair, lang) for key, pair in TEXT.items()}
    if staff_id is None:
        who = t["unassigned"]
    else:
        who = f"{t['manager']}: " + (f"{staff_name} ({staff_id})" if staff_name else staff_id)
    head = f"{t['title']} · {who}"
    meta = f"{t['as_of']} {as_of or ''} · {len(rows):,} {t['customers']}"
    body = [f"<tr><th>#</th><th>{t['what']}</th><th>{t['whom']}</th><th>{t['value']}</th></tr>"]
    for row in rows:
        action = _pick(ACTIONS.get(row["action"], (row["action"], row["action"])), lang)
        channel = row["channel"]
        channel = _pick(CHANNELS.get(channel, (channel, channel)), lang) if channel else None
        details = [f"{t['by']} {_cell(row['due_on'])}"]
        if channel:
            details.append(f"{t['via']} {_cell(channel)}")
        if row["offer"]:
            details.append(f"{t['offer']}: {_cell(row['offer'])}")
        whom = [_cell(row["customer_name"]) or _cell(row["customer_id"])]
        whom.append(f'<span class="small">{_cell(row["customer_id"])}')
        whom.append(f"{_cell(row['phone'])}</span>")
        tier = " · ".join(_cell(v) for v in (row["tier"], row["lifecycle_stage"]) if v)
        value = row["value_at_stake"]
        body.append(
            f'<tr><td class="n">{_cell(row["priority"])}</td>'
            f'<td class="what"><b>{_cell(action)}</b>{_cell(row["reasons"])}'
            f'<div class="small">{" · ".join(details)}</div></td>'
            f'<td>{"<br>".join(whom)}<div class="small">{tier}</div></td>'
            f'<td class="n">{"" if value is None else f"{float(value):,.0f}"}</td></tr>'
        )
    table = f"<table>{''.join(body)}</table>" if rows else f"<p>{t['none']}</p>"
    return (
        f'<!DOCTYPE html>\n<html lang="{"en" if lang == "en" else "zh-CN"}"><head>'
        f'<meta charset="utf-8"><title>{html.escape(head)}</title><style>{_STYLE}</style>'
        f'</head><body><h1>{html.escape(head)}</h1><p class="meta">{html.escape(meta)}</p>'
        f"{table}</body></html>\n"
    )


def format_summary(summary: WorklistSummary) -> str:
    lines = [
        f"Worklists of {len(summary.worklists)} managers as of {summary.as_of} "
        f"from {summary.warehouse} in {summary.out_dir}"
    ]
    for item in summary.worklists:
        who = item.staff_id or UNASSIGNED
        lines.append(f"  {who:<16} {item.rows:>8,} customers  {item.csv.name}, {item.html.name}")
    return "\n".join(lines)


__all__ = ["ExportError", "WorklistError", "format_summary", "write_worklists"]
