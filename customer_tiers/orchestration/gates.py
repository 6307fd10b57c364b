"""Two gates of a run besides the suites, with their rule and their words in one place.

* The quarantined share: a source blocks the run when the share of its rows read this run
  that went to quarantine is above its threshold (`quality.max_quarantined_share`). Used by
  the `quarantine_share` asset check, `tiers check` and the run summary.
* The analysis date against the data: a date more than `time.max_days_after_latest_order`
  days after the latest order counts the days since as days without purchases. Used by the
  `as_of_window` asset check, the run summary and `tiers backfill`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from customer_tiers.orchestration.config import TiersConfig


@dataclass(frozen=True)
class QuarantineShare:
    """One source's quarantined rows against its threshold."""

    source: str
    read: int
    quarantined: int
    threshold: float

    @property
    def share(self) -> float | None:
        """Quarantined / read; None when nothing was read (nothing to judge)."""
        return self.quarantined / self.read if self.read else None

    @property
    def blocks(self) -> bool:
        return self.share is not None and self.share > self.threshold

    def describe(self) -> str:
        """E.g. `3 of 10 rows (30.00%) quarantined, above the threshold 1.00%: blocks`."""
        if self.share is None:
            return f"no rows read (threshold {self.threshold:.2%})"
        where = "above" if self.blocks else "within"
        text = (
            f"{self.quarantined:,} of {self.read:,} rows ({self.share:.2%}) quarantined, "
            f"{where} the threshold {self.threshold:.2%}"
        )
        return f"{text}: blocks" if self.blocks else text


def quarantine_share(
    config: TiersConfig, source: str, read: int, quarantined: int
) -> QuarantineShare:
    return QuarantineShare(source, read, quarantined, config.quality.max_quarantined_share[source])


def after_latest_order(
    dates: Sequence[date], latest_order: date | None, max_days: int, *, backfill: bool = False
) -> str | None:
    """What to tell about analysis dates more than max_days after the latest order, or None.

    Such a date counts the days since the latest order as days without purchases: right when
    the export is current, an artificial decline (customers drifting to at_risk, dormant,
    churned) when the export simply ends earlier."""
    if latest_order is None:
        return None
    late = [d for d in dates if (d - latest_order).days > max_days]
    if not late:
        return None
    limit = f"more than time.max_days_after_latest_order ({max_days})"
    if backfill:
        head = (
            f"{len(late)} of the dates are {limit} days after the latest order ({latest_order}): "
            f"{_date_list(late)}"
        )
        fix = f"end the backfill at {latest_order} instead"
    else:
        days = (late[0] - latest_order).days
        head = (
            f"the analysis date {late[0]} is {days} days after the latest order "
            f"({latest_order}), {limit}"
        )
        fix = f"run with --as-of {latest_order} instead"
    return (
        f"{head}; the days since count as days without purchases, so customers drift towards "
        f"at_risk, dormant and churned: if the export just ends earlier, {fix}"
    )


def _date_list(dates: Sequence[date]) -> str:
    if len(dates) <= 4:
        return ", ".join(map(str, dates))
    return f"{dates[0]}, {dates[1]}, ..., {dates[-1]} ({len(dates)} dates)"
