"""`tiers worklists`: held-out customers never listed, priority order, neutralised CSV, atomic.

The warehouse is a DuckDB file with a hand-made marts.customer_actions (the mart's contract
columns): manager s1 has three customers to call (priorities 3, 1, 2, stored out of order) and
one held out of the win-back experiment; s2 has a customer whose name and reasons start with
formula characters; c7 has no manager; s3's only customer is held out, so s3 gets no list.
"""

from __future__ import annotations

import codecs
import csv
import io
from datetime import date
from pathlib import Path

import duckdb
import pytest

from customer_tiers.orchestration import worklists
from customer_tiers.orchestration.cli import main

AS_OF = date(2026, 6, 30)
# customer_id, action, reasons, reasons_zh, priority, due_on, channel, offer, staff_id,
# staff_name, customer_name, phone, tier, stage, value_at_stake, experiment_id, holdout
ROWS = [
    ("c3", "callback", "cadence call", "定期回访", 3, "2026-07-20", "wechat", None, "s1", "王芳",
     "李*", "*******0003", "Silver", "active", 120.0, None, False),
    ("c1", "win_back", "at risk: 40 days late", "流失风险：晚了40天", 1, "2026-07-03", "phone",
     "10% off", "s1", "王芳", "张*", "*******0001", "Gold", "at_risk", 900.0, "win_back-v1",
     False),
    ("held-1", "win_back", "at risk: 35 days late", "流失风险：晚了35天", 2, "2026-07-04", "phone",
     "10% off", "s1", "王芳", "赵*", "*******0009", "Gold", "at_risk", 800.0, "win_back-v1",
     True),
    ("c2", "detractor_followup", "NPS 3 on 2026-06-20", "NPS 3 分", 2, "2026-07-05", "phone",
     None, "s1", "王芳", "王*", "*******0002", "Gold", "active", 500.0, "detractor_followup-v1",
     None),
    ("c5", "reactivation", "-dormant 90 days", "沉睡90天", 1, "2026-07-10", "sms", "+5 points",
     "s2", "Bob", "=HYPERLINK(\"http://x\")", "@123", "Bronze", "dormant", -5.0,
     "reactivation-v1", False),
    ("c7", "callback", "cadence call", "定期回访", 5, "2026-07-25", "sms", None, None, None,
     "周*", "*******0007", "Bronze", "active", 10.0, None, False),
    ("held-3", "win_back", "at risk", "流失风险", 1, "2026-07-02", "phone", None, "s3", "Eve",
     "钱*", "*******0033", "Gold", "at_risk", 700.0, "win_back-v1", True),
]  # fmt: skip


def _warehouse(path: Path, drop_column: str | None = None) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.customer_actions (customer_id varchar, as_of date, action "
            "varchar, reasons varchar, reasons_zh varchar, priority integer, due_on date, "
            "channel varchar, offer varchar, staff_id varchar, staff_name varchar, "
            "customer_name varchar, phone varchar, tier varchar, lifecycle_stage varchar, "
            "value_at_stake double, experiment_id varchar, holdout boolean)"
        )
        for row in ROWS:
            con.execute(
                "insert into marts.customer_actions values "
                "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [row[0], AS_OF, *row[1:]],
            )
        if drop_column:
            con.execute(f"alter table marts.customer_actions drop column {drop_column}")
    return path


def _csv(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    return list(csv.DictReader(io.StringIO(data[len(codecs.BOM_UTF8) :].decode("utf-8"))))


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_worklists_per_manager_sorted_without_held_out_customers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse, out = _warehouse(tmp_path / "w.duckdb"), tmp_path / "lists"
    assert main(["worklists", "--warehouse", str(warehouse), "--out", str(out)]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        ".tiers-worklists", "s1.csv", "s1.html", "s2.csv", "s2.html", "unassigned.csv",
        "unassigned.html",
    ]  # fmt: skip
    for path in out.glob("*.*"):
        text = path.read_text(encoding="utf-8-sig")
        assert "held-" not in text and "钱*" not in text and "赵*" not in text, path.name
    s1 = _csv(out / "s1.csv")
    assert [(r["priority"], r["customer_id"]) for r in s1] == [
        ("1", "c1"),
        ("2", "c2"),
        ("3", "c3"),
    ]
    assert s1[0]["reasons"] == "at risk: 40 days late" and s1[0]["offer"] == "10% off"
    assert s1[0]["due_on"] == "2026-07-03" and s1[0]["phone"] == "*******0001"
    page = (out / "s1.html").read_text(encoding="utf-8")
    assert page.index("c1") < page.index("c2") < page.index("c3")
    assert "Win back" in page and "by 2026-07-03" in page and "via phone" in page
    assert "王芳 (s1)" in page and "<script" not in page and "http" not in page.split("</style>")[1]
    assert "s1" in capsys.readouterr().out


def test_csv_cells_are_neutralised_and_numbers_kept(tmp_path: Path) -> None:
    out = tmp_path / "lists"
    worklists.write_worklists(_warehouse(tmp_path / "w.duckdb"), out)
    [row] = _csv(out / "s2.csv")
    assert row["customer_name"] == '\'=HYPERLINK("http://x")'
    assert row["reasons"] == "'-dormant 90 days"
    assert row["offer"] == "'+5 points" and row["phone"] == "'@123"
    assert row["value_at_stake"] == "-5.0"  # a number, untouched
    page = (out / "s2.html").read_text(encoding="utf-8")
    assert "=HYPERLINK(&quot;http://x&quot;)" in page  # escaped in HTML, not executed


def test_chinese_lists_use_the_chinese_reasons_and_headers(tmp_path: Path) -> None:
    out = tmp_path / "lists"
    worklists.write_worklists(_warehouse(tmp_path / "w.duckdb"), out, "zh")
    rows = _csv(out / "s1.csv")
    assert [r["原因"] for r in rows] == ["流失风险：晚了40天", "NPS 3 分", "定期回访"]
    page = (out / "s1.html").read_text(encoding="utf-8")
    assert "挽回" in page and "客户经理: 王芳 (s1)" in page and 'lang="zh-CN"' in page


def test_a_failed_run_leaves_the_previous_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    warehouse, out = _warehouse(tmp_path / "w.duckdb"), tmp_path / "lists"
    worklists.write_worklists(warehouse, out)
    before = _snapshot(out)
    # a mart without a column the lists need: the warehouse named, exit 2, nothing replaced
    broken = _warehouse(tmp_path / "broken.duckdb", drop_column="offer")
    assert main(["worklists", "--warehouse", str(broken), "--out", str(out)]) == 2
    assert str(broken) in capsys.readouterr().err
    assert _snapshot(out) == before
    # a failure after the first manager's files were written: still the previous folder
    calls = []
    real = worklists.render_page

    def fail_second(*args: object, **kwargs: object) -> str:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(worklists, "render_page", fail_second)
    with pytest.raises(RuntimeError):
        worklists.write_worklists(warehouse, out, "zh")
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.duckdb", "lists", "w.duckdb"]


def test_bad_arguments_exit_2_by_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    warehouse = _warehouse(tmp_path / "w.duckdb")
    missing = tmp_path / "nope.duckdb"
    assert main(["worklists", "--warehouse", str(missing), "--out", str(tmp_path / "o")]) == 2
    assert str(missing) in capsys.readouterr().err
    other = tmp_path / "documents"
    other.mkdir()
    (other / "thesis.docx").write_bytes(b"mine")
    assert main(["worklists", "--warehouse", str(warehouse), "--out", str(other)]) == 2
    assert "holds other files" in capsys.readouterr().err
    assert (other / "thesis.docx").read_bytes() == b"mine"
    empty = tmp_path / "empty.duckdb"
    with duckdb.connect(str(empty)) as con:
        con.execute("create table t as select 1")
    assert main(["worklists", "--warehouse", str(empty), "--out", str(tmp_path / "o")]) == 2
    assert "no table marts.customer_actions" in capsys.readouterr().err
