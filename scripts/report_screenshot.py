"""docs/report.png: a screenshot of `tiers report` on the demo warehouse (`make report-screenshot`).

The demo warehouse has one analysis date, so the migration chart would say "only one snapshot".
The screenshot is taken from a copy that first gets a run 91 days before the demo's date and then
the demo's date again (so every other mart is the demo's own): two tier_history snapshots and
every chart drawn. The published demo warehouse is not changed.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # for tests.e2e.chromium: the browser tests' Chromium flags

from customer_tiers.orchestration.cli import main as tiers  # noqa: E402
from customer_tiers.orchestration.errors import EXIT_OK  # noqa: E402
from customer_tiers.orchestration.report import format_summary, write_report  # noqa: E402
from tests.e2e.chromium import HEADLESS_CHROMIUM_FLAGS  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
WINDOW = "1280,3000"
EARLIER = timedelta(days=91)


def _latest_as_of(warehouse: Path) -> str:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return con.execute("select max(as_of) from marts.customer_tiers").fetchone()[0]
    finally:
        con.close()


def _with_two_snapshots(sources: Path, warehouse: Path, work: Path) -> Path:
    copy = work / "warehouse.duckdb"
    shutil.copyfile(warehouse, copy)
    latest = _latest_as_of(copy)
    for day in (latest - EARLIER, latest):
        argv = ["run", "--sources", str(sources), "--warehouse", str(copy)]
        if tiers([*argv, "--as-of", day.isoformat()]) != EXIT_OK:
            sys.exit(f"the run as of {day} failed")
    return copy


def _screenshot(page: Path, png: Path, profile: Path) -> None:
    subprocess.run(
        [
            str(CHROMIUM),
            *HEADLESS_CHROMIUM_FLAGS,
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--window-size={WINDOW}",
            f"--screenshot={png}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=Path, default=Path("var/demo"))
    parser.add_argument("--warehouse", type=Path, default=Path("var/warehouse.duckdb"))
    parser.add_argument("--out", type=Path, default=Path("docs/report.png"))
    parser.add_argument("--lang", choices=["en", "zh"], default="en")
    args = parser.parse_args()
    if not CHROMIUM.exists():
        sys.exit(f"{CHROMIUM} is missing: make browser")
    with tempfile.TemporaryDirectory(prefix="report-screenshot-") as tmp:
        work = Path(tmp)
        warehouse = _with_two_snapshots(args.sources, args.warehouse, work)
        page = work / "report.html"
        print(format_summary(write_report(warehouse, page, lang=args.lang)))
        args.out.parent.mkdir(parents=True, exist_ok=True)
        _screenshot(page, args.out.resolve(), work / "profile")
    print(f"screenshot: {args.out}")


if __name__ == "__main__":
    main()
