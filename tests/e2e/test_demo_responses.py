"""The demo walk-through of docs/experiments.md: a planted lift comes out of `action_effects`.

`tiers demo-data` (10,000 customers, seed 42) -> `tiers run` as of the latest order
(2026-06-30) -> `tiers demo-responses --lift 0.15` (held out customers buy in the 30 days after
with 20%, contacted ones with 35%) -> `tiers run --as-of 2026-07-30`, the date it prints, whose
action_effects measures the first date's cohort. Both runs use `churn.win_back_cost: 0` (every
at-risk customer who is not churned is worth a call), as the walk-through does.

Why this size: a run costs about 30 s whatever the size (dbt, the fits, the checks) and under
a minute at 10,000 customers, while the interval's width falls with the held-out group. At the
default cost only about one in five at-risk customers who are not churned is worth a call:
3,000 customers gave 17 held out in win_back and an interval of -0.124 to 0.295, which says
nothing (measured before the churn rules used the purchase chance, issue 19). With the cost at
0, 10,000 customers give 122 held out in win_back and 139 in reactivation, and intervals of
about +-0.07.

Why the assertions hold: the lift interval is Newcombe's 95% interval, so for a random seed it
contains the planted lift 95% of the time; for this fixed seed it does (the run is
deterministic). Measured (win_back-v1: 1,127 contacted, 391 bought; 122 held out, 17 bought):
lift 0.208, interval 0.130 to 0.265; reactivation-v1 (1,317 / 470; 139 / 26): 0.170, 0.093 to
0.232. Both exclude 0: the smallest lift these sizes detect with 80% power is 0.10 and 0.11
(min_detectable_lift), below the planted 0.15. detractor_followup-v1 (18 contacted, 1 held out)
is measured but too small to say anything; it is only counted.
"""

from __future__ import annotations

import contextlib
import csv
import io
from datetime import date
from pathlib import Path
from typing import NamedTuple

import pytest

from customer_tiers.orchestration.cli import main
from customer_tiers.orchestration.errors import EXIT_OK
from tests.conftest import query

CUSTOMERS = 10_000
LIFT = 0.15
FIRST = date(2026, 6, 30)  # the demo's latest order
SECOND = date(2026, 7, 30)  # FIRST + window_days (30)
MIN_HELD_OUT = 100  # the actions whose interval is asserted (win_back 106, reactivation 139)


@pytest.fixture(scope="module")
def walk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """(sources, warehouse after the second run, what demo-responses printed)."""
    root = tmp_path_factory.mktemp("demo_responses")
    sources, warehouse = root / "demo", root / "warehouse.duckdb"
    config = root / "demo.yml"
    config.write_text("churn:\n  win_back_cost: 0\n", encoding="utf-8")
    common = ["--sources", str(sources), "--warehouse", str(warehouse), "--config", str(config)]
    assert main(["demo-data", "--out", str(sources), "--customers", str(CUSTOMERS)]) == EXIT_OK
    assert main(["run", *common]) == EXIT_OK
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["demo-responses", *common, "--lift", str(LIFT)]) == EXIT_OK
    assert main(["run", *common, "--as-of", SECOND.isoformat()]) == EXIT_OK
    return sources, warehouse, printed.getvalue()


def _ledger(warehouse: Path) -> dict[str, tuple[int, int]]:
    """experiment_id -> (contacted, held out) of the first date's cohort."""
    rows = query(
        warehouse,
        "select experiment_id, count(*) filter (not holdout), count(*) filter (holdout) "
        "from marts.action_ledger where as_of = ? and experiment_id is not null group by 1",
        [FIRST],
    )
    return {experiment: (treated, held) for experiment, treated, held in rows}


class Effect(NamedTuple):
    experiment_id: str
    scope: str
    as_of: date | None
    n_treatment: int
    n_control: int
    buyers_treatment: int
    buyers_control: int
    lift_ci_low: float | None
    lift_ci_high: float | None
    srm_flag: bool


def _effects(warehouse: Path) -> list[Effect]:
    columns = ", ".join(Effect._fields)
    rows = query(warehouse, f"select {columns} from marts.action_effects order by 1, 2")
    return [Effect(*row) for row in rows]


def test_prints_the_file_and_the_next_date(walk: tuple[Path, Path, str]) -> None:
    sources, _, printed = walk
    path = sources / "orders" / "demo-responses_2026-07-01_2026-07-30.csv"
    assert f"{path}: " in printed
    assert printed.splitlines()[-1].endswith(f"--as-of {SECOND}")


def test_the_first_cohort_is_measured_whole(walk: tuple[Path, Path, str]) -> None:
    _, warehouse, _ = walk
    ledger = _ledger(warehouse)
    assert set(ledger) == {"detractor_followup-v1", "reactivation-v1", "win_back-v1"}
    effects = _effects(warehouse)
    # one cohort each (the second date's window has not ended), and its pooled row
    assert sorted((r.experiment_id, r.scope, r.as_of) for r in effects) == sorted(
        [(e, "cohort", FIRST) for e in ledger] + [(e, "pooled", None) for e in ledger]
    )
    for row in effects:
        assert (row.n_treatment, row.n_control) == ledger[row.experiment_id]
        assert row.srm_flag is False


def test_buyers_are_the_planted_ones(walk: tuple[Path, Path, str]) -> None:
    """The window's buyers the pipeline counts are the customers of the generated file."""
    sources, warehouse, _ = walk
    path = sources / "orders" / "demo-responses_2026-07-01_2026-07-30.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        buyers = {line["customer_id"] for line in csv.DictReader(fh)}
    members = query(
        warehouse,
        "select experiment_id, customer_id, holdout from marts.action_ledger "
        "where as_of = ? and experiment_id is not null",
        [FIRST],
    )
    for row in _effects(warehouse):
        planted = [h for e, c, h in members if e == row.experiment_id and c in buyers]
        assert row.buyers_treatment == planted.count(False)
        assert row.buyers_control == planted.count(True)


def test_the_planted_lift_is_inside_the_interval(walk: tuple[Path, Path, str]) -> None:
    _, warehouse, _ = walk
    checked = set()
    for row in _effects(warehouse):
        if row.n_control < MIN_HELD_OUT:
            continue
        checked.add(row.experiment_id)
        assert row.lift_ci_low is not None and row.lift_ci_high is not None, row
        assert row.lift_ci_low <= LIFT <= row.lift_ci_high, row
        assert row.lift_ci_low > 0, row  # informative: proven at this size (docstring)
    assert checked == {"reactivation-v1", "win_back-v1"}


def test_the_documented_numbers(walk: tuple[Path, Path, str]) -> None:
    """docs/experiments.md's table (its lifts follow from these counts): update both together."""
    _, warehouse, printed = walk
    counts = {
        (r.experiment_id, r.n_treatment, r.n_control, r.buyers_treatment, r.buyers_control)
        for r in _effects(warehouse)
        if r.scope == "cohort"
    }
    assert counts == {
        ("detractor_followup-v1", 18, 1, 3, 1),
        ("reactivation-v1", 1317, 139, 470, 26),
        ("win_back-v1", 1127, 122, 391, 17),
    }
    assert "win_back-v1: contacted 391 of 1,127 bought, held out 17 of 122" in printed
