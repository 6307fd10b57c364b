"""The project configuration (config/tiers.yml): loaded, validated, and handed to dbt as vars."""

from __future__ import annotations

import functools
import json
import os
from datetime import date
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from customer_tiers.ingest.privacy import Privacy
from customer_tiers.ingest.sources import SOURCES
from customer_tiers.orchestration.config_actions import ActionsConfig
from customer_tiers.orchestration.config_file import ConfigError as ConfigError
from customer_tiers.orchestration.config_file import describe_invalid, read_yaml
from customer_tiers.orchestration.config_recommend import RecommendationsConfig
from customer_tiers.orchestration.paths import DBT_PROJECT_DIR as DBT_PROJECT_DIR
from customer_tiers.orchestration.paths import REPO_ROOT as REPO_ROOT
from customer_tiers.orchestration.paths import shipped_path

# In the source tree, or inside the installed package (paths.shipped_path)
DEFAULT_CONFIG_PATH = shipped_path("config") / "tiers.yml"

# The analysis date reaches dbt through this environment variable, not through --vars: dbt
# throws its partial-parse state away when any var differs from the last parse (a full parse,
# about 6 s, in each dbt invocation of the day after), but re-parses only the files that read
# an environment variable whose value changed (int_as_of_resolved, macros/as_of.sql).
AS_OF_ENV = "TIERS_AS_OF"
# The published warehouse file of a run; dbt builds <it>.building (profiles.yml).
WAREHOUSE_ENV = "TIERS_WAREHOUSE"


def dbt_environment(as_of: date | None) -> dict[str, str]:
    """What a dbt invocation with this analysis date needs in its environment."""
    return {AS_OF_ENV: as_of.isoformat() if as_of else ""}


CONFIG_ENV_VAR = "TIERS_CONFIG"
# A run builds `<warehouse><WORK_SUFFIX>` and renames it over the published file.
WORK_SUFFIX = ".building"
# Every DuckDB connection of ours, dbt's profile included: DuckDB spills to disk past it rather
# than growing to 80% of RAM.
MEMORY_LIMIT = os.environ.get("TIERS_DUCKDB_MEMORY_LIMIT", "1GB")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Segment(_Strict):
    name: str
    label_zh: str
    r: tuple[int, int]
    f: tuple[int, int]


class ValueClassRule(_Strict):
    weights: dict[Literal["r", "f", "m"], float]
    min_points: dict[Literal["A", "B", "C"], float]
    labels_zh: dict[Literal["A", "B", "C", "D"], str]

    @model_validator(mode="after")
    def _descending(self) -> ValueClassRule:
        points = self.min_points
        if not points["A"] >= points["B"] >= points["C"]:
            raise ValueError("rfm.value_class.min_points must satisfy A >= B >= C")
        return self


class RfmConfig(_Strict):
    segments: list[Segment]
    value_class: ValueClassRule

    @model_validator(mode="after")
    def _grid_covered_once(self) -> RfmConfig:
        for r in range(1, 6):
            for f in range(1, 6):
                hits = [
                    s.name for s in self.segments if s.r[0] <= r <= s.r[1] and s.f[0] <= f <= s.f[1]
                ]
                if len(hits) != 1:
                    found = ", ".join(hits) or "no segment"
                    raise ValueError(
                        f"rfm.segments: cell R{r} F{f} must be in exactly one segment, "
                        f"found {found}"
                    )
        return self


AbcBasis = Literal["revenue", "profit", "frequency"]


class AbcConfig(_Strict):
    mode: Literal["share", "threshold", "combined"]
    shares: dict[Literal["A", "B"], float]
    thresholds: dict[AbcBasis, dict[Literal["A", "B"], float]]
    # mode combined: a class's minimum value per month on each basis named, all at once
    combined: dict[Literal["A", "B"], dict[AbcBasis, float]]
    labels_zh: dict[Literal["A", "B", "C"], str]

    @model_validator(mode="after")
    def _sane(self) -> AbcConfig:
        a, b = self.shares["A"], self.shares["B"]
        if not (a > 0 and b >= 0 and a + b <= 1):
            raise ValueError("abc.shares: need 0 < A, 0 <= B and A + B <= 1")
        for basis, limits in self.thresholds.items():
            if limits["A"] < limits["B"]:
                raise ValueError(f"abc.thresholds.{basis}: A must be >= B")
        if set(self.combined) != {"A", "B"} or not all(self.combined.values()):
            raise ValueError("abc.combined: need A and B, each with at least one basis")
        return self


class ClvBacktestConfig(_Strict):
    """The backtest of every run (docs/clv_backtest.md): calibration to as_of - holdout_days."""

    holdout_days: int = Field(default=180, gt=0)
    min_holdout_days: int = Field(default=30, gt=0)
    # candidate models are fitted and compared on at most this many calibration customers
    # (a fixed-seed sample), so the backtest's cost stays bounded at any size
    sample_customers: int = Field(default=10000, ge=100)
    # predicted / actual repeat purchases and revenue outside [low, high]: a warning
    ratio_low: float = Field(default=0.8, gt=0)
    ratio_high: float = Field(default=1.25, gt=0)
    blocking: bool = False  # the warning fails the run (exit 1) instead

    @model_validator(mode="after")
    def _ordered_band(self) -> ClvBacktestConfig:
        if self.ratio_low >= self.ratio_high:
            raise ValueError("clv.backtest.ratio_low must be below ratio_high")
        return self


class ClvConfig(_Strict):
    horizon_days: int = Field(gt=0)
    monthly_discount_rate: float = Field(ge=0)
    interval: float = Field(gt=0, lt=1)
    lifespan_years: float = Field(gt=0)
    # the purchase model that drives the marts; auto: the best holdout log-likelihood
    model: Literal["auto", "bg_nbd", "mbg_nbd", "pareto_nbd"] = "auto"
    # historical CLV annualises purchases over at least this many days of tenure
    min_tenure_days: int = Field(default=365, gt=0)
    backtest: ClvBacktestConfig = ClvBacktestConfig()


class ChurnLevel(_Strict):
    name: str
    p_alive_below: float = Field(ge=0, le=1)
    overdue_factor: float = Field(gt=0)
    # P(at least one purchase in the next 90 days) below this also meets the level; 0 (the
    # default) switches the test off. A customer without a prediction never meets it.
    p_purchase_90d_below: float = Field(default=0.0, ge=0, le=1)
    act_within_days: int = Field(ge=0)


class ChurnConfig(_Strict):
    levels: list[ChurnLevel] = Field(min_length=1)
    win_back_cost: float = Field(ge=0)


class ScheduleConfig(_Strict):
    cron: str
    timezone: str

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        # Dagster refuses an unknown zone only when the Definitions load; checked here, a typo
        # is a configuration error (exit 2 with the file's name), not a traceback.
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(
                f"schedule.timezone {value!r} is not an IANA time zone (e.g. Asia/Shanghai)"
            ) from err
        return value


class SensorConfig(_Strict):
    """The landing-folder sensor (orchestration/defs/sensors.py)."""

    # How often the daemon looks at the folder; each look only lists files (no warehouse).
    min_interval_seconds: int = Field(default=60, ge=1)
    # A file modified less than this long ago is still being written: it waits for a later look.
    settle_seconds: int = Field(default=30, ge=0)


RepurchaseBand = Literal[">70%", "30-70%", "<30%"]
RecommendAnswer = Literal["yes", "maybe", "no"]


class SatisfactionLabel(_Strict):
    level: int = Field(ge=1, le=5)
    label: str
    label_zh: str


class LoyaltyGrade(_Strict):
    """One loyalty grade: every condition given must hold (a missing answer meets none)."""

    grade: str
    label: str
    label_zh: str
    min_satisfaction: int | None = Field(default=None, ge=1, le=5)
    repurchase_bands: list[RepurchaseBand] | None = None
    recommend: list[RecommendAnswer] | None = None

    @model_validator(mode="before")
    @classmethod
    def _yaml_booleans(cls, data: Any) -> Any:
        # YAML 1.1 reads a bare yes / no as true / false.
        if isinstance(data, dict) and isinstance(data.get("recommend"), list):
            answers = {True: "yes", False: "no"}
            data = {**data, "recommend": [answers.get(a, a) for a in data["recommend"]]}
        return data

    @property
    def has_conditions(self) -> bool:
        conditions = (self.min_satisfaction, self.repurchase_bands, self.recommend)
        return any(c is not None for c in conditions)


class VoiceConfig(_Strict):
    min_responses: int = Field(ge=1)
    followup_days: int = Field(ge=1)
    low_rating_max: int = Field(ge=1, le=5)
    complaint_categories: list[str]
    satisfaction_labels: list[SatisfactionLabel]
    loyalty_grades: list[LoyaltyGrade] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> VoiceConfig:
        levels = sorted(s.level for s in self.satisfaction_labels)
        if levels != [1, 2, 3, 4, 5]:
            raise ValueError("voice.satisfaction_labels: need exactly one label per level 1-5")
        grades = [g.grade for g in self.loyalty_grades]
        if len(set(grades)) != len(grades):
            raise ValueError("voice.loyalty_grades: each grade may appear only once")
        if self.loyalty_grades[-1].has_conditions:
            raise ValueError(
                "voice.loyalty_grades: the last grade must have no condition (it takes everyone "
                f"the grades before it do not), found conditions on {grades[-1]}"
            )
        return self


LifecycleStage = Literal[
    "prospect", "new", "one_time", "regular", "loyal", "at_risk", "dormant", "churned"
]
LIFECYCLE_STAGES: tuple[str, ...] = (
    "prospect", "new", "one_time", "regular", "loyal", "at_risk", "dormant", "churned"
)  # fmt: skip
OverdueStage = Literal["at_risk", "dormant", "churned"]
AbcClass = Literal["A", "B", "C"]
ValueClass = Literal["A", "B", "C", "D"]


class OverdueLimit(_Strict):
    """Days since the last order past which a customer is in the stage."""

    factor: float = Field(gt=0)
    min_days: int = Field(ge=0)
    max_days: int = Field(ge=0)
    fallback_days: int = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> OverdueLimit:
        if self.min_days > self.max_days:
            raise ValueError("lifecycle.overdue: min_days must be <= max_days")
        return self


class LoyalRule(_Strict):
    min_orders: int = Field(ge=2)
    loyalty_grades: list[str] = []
    value_classes: list[ValueClass] = []
    abc_classes: list[AbcClass] = []


class StageLabel(_Strict):
    stage: LifecycleStage
    label: str
    label_zh: str


class PurchaseChanceLimits(_Strict):
    """P(at least one purchase in the next 90 days) below which a customer is in the stage,
    whatever the days since the last order (0 switches a stage's test off)."""

    at_risk: float = Field(default=0.15, ge=0, le=1)
    dormant: float = Field(default=0.08, ge=0, le=1)
    churned: float = Field(default=0.03, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> PurchaseChanceLimits:
        # a later stage is checked first, so a higher threshold than an earlier stage's would
        # leave that stage's test nothing to catch; 0 (off) is left out of the order
        limits = [self.at_risk, self.dormant, self.churned]
        used = [limit for limit in limits if limit > 0]
        if used != sorted(used, reverse=True):
            raise ValueError(f"need at_risk >= dormant >= churned (0 = off), found {limits}")
        return self


class LifecycleConfig(_Strict):
    new_within_days: int = Field(ge=0)
    overdue: dict[OverdueStage, OverdueLimit]
    churned_p_alive_below: float = Field(ge=0, le=1)
    p_purchase_90d_below: PurchaseChanceLimits = PurchaseChanceLimits()
    loyal: LoyalRule
    labels: list[StageLabel]

    @model_validator(mode="after")
    def _complete(self) -> LifecycleConfig:
        if set(self.overdue) != {"at_risk", "dormant", "churned"}:
            raise ValueError("lifecycle.overdue: need at_risk, dormant and churned")
        for field in ("factor", "min_days", "max_days", "fallback_days"):
            limits = [getattr(self.overdue[s], field) for s in ("at_risk", "dormant", "churned")]
            if limits != sorted(limits):
                raise ValueError(
                    f"lifecycle.overdue.*.{field}: need at_risk <= dormant <= churned, "
                    f"found {limits}"
                )
        stages = sorted(label.stage for label in self.labels)
        if stages != sorted(LIFECYCLE_STAGES):
            raise ValueError(
                "lifecycle.labels: need exactly one label per stage: " + ", ".join(LIFECYCLE_STAGES)
            )
        return self


class ValueSignals(_Strict):
    abc_classes: list[AbcClass] | None = None
    value_classes: list[ValueClass] | None = None
    clv_top_share: float | None = Field(default=None, gt=0, le=1)

    @property
    def count(self) -> int:
        return sum(
            s is not None for s in (self.abc_classes, self.value_classes, self.clv_top_share)
        )


class TierLevel(_Strict):
    """One tier: every condition given must hold (see config/tiers.yml)."""

    name: str = Field(min_length=1)
    label_zh: str
    weight: float = Field(gt=0)
    value: ValueSignals | None = None
    min_value_signals: int = Field(default=1, ge=1)
    lifecycle_stages: list[LifecycleStage] | None = None
    loyalty_grades: list[str] | None = None
    exclude_loyalty_grades: list[str] | None = None

    @model_validator(mode="after")
    def _reachable(self) -> TierLevel:
        signals = self.value.count if self.value else 0
        if self.value is not None and self.min_value_signals > signals:
            raise ValueError(
                f"tiers.levels {self.name}: min_value_signals {self.min_value_signals} but only "
                f"{signals} value signals given"
            )
        return self

    @property
    def has_conditions(self) -> bool:
        conditions = (
            self.value, self.lifecycle_stages, self.loyalty_grades, self.exclude_loyalty_grades
        )  # fmt: skip
        return any(c is not None for c in conditions)


class TiersRules(_Strict):
    levels: list[TierLevel] = Field(min_length=1)

    @model_validator(mode="after")
    def _complete(self) -> TiersRules:
        names = [level.name for level in self.levels]
        if len(set(names)) != len(names):
            raise ValueError("tiers.levels: each tier name may appear only once")
        if "none" in names:
            raise ValueError("tiers.levels: 'none' is reserved (tier_migration's not-a-customer)")
        if self.levels[-1].has_conditions:
            raise ValueError(
                "tiers.levels: the last tier must have no condition (it takes everyone the tiers "
                f"before it do not), found conditions on {names[-1]}"
            )
        return self


class TierPlaybook(_Strict):
    contact_every_days: int | None = Field(default=None, gt=0)
    channel: str
    benefits: str = ""
    care_actions: list[str] = []


class StageAdjustment(_Strict):
    max_contact_every_days: int | None = Field(default=None, gt=0)
    channel: str | None = None
    add_care_actions: list[str] = []
    stop_contact: bool = False


class PlaybooksConfig(_Strict):
    tiers: dict[str, TierPlaybook]
    stages: dict[LifecycleStage, StageAdjustment] = {}


class CareCalendarConfig(_Strict):
    days_ahead: int = Field(ge=1, le=366)


class GroupsConfig(_Strict):
    age_band_starts: list[int] = Field(min_length=1)

    @model_validator(mode="after")
    def _increasing(self) -> GroupsConfig:
        starts = self.age_band_starts
        if any(b <= a for a, b in pairwise(starts)) or starts[0] < 0:
            raise ValueError("groups.age_band_starts: need increasing ages from 0 up")
        return self


def resolve_playbooks(levels: list[TierLevel], playbooks: PlaybooksConfig) -> list[dict[str, Any]]:
    """One playbook per tier and lifecycle stage: the tier's, adjusted by the stage's."""
    rows = []
    for level in levels:
        base = playbooks.tiers[level.name]
        for stage in LIFECYCLE_STAGES:
            adjust = playbooks.stages.get(stage, StageAdjustment())
            every = base.contact_every_days
            if adjust.max_contact_every_days is not None:
                every = min(every or adjust.max_contact_every_days, adjust.max_contact_every_days)
            actions = [*base.care_actions, *adjust.add_care_actions]
            if adjust.stop_contact:
                every, actions = None, []
            rows.append(
                {
                    "tier": level.name,
                    "stage": stage,
                    "playbook": f"{level.name} / {stage}",
                    "contact_every_days": every,
                    "channel": adjust.channel or base.channel,
                    "benefits": base.benefits,
                    "care_actions": list(dict.fromkeys(actions)),
                }
            )
    return rows


class PrivacyConfig(_Strict):
    personal_data: Literal["mask", "hash", "keep"]
    salt_env: str = Field(min_length=1)

    def settings(self) -> Privacy:
        """The loader's settings; the salt is read from the environment, never from a file."""
        salt = os.environ.get(self.salt_env, "")
        if self.personal_data == "hash" and not salt:
            raise ConfigError(
                f"privacy.personal_data is 'hash' but the salt variable {self.salt_env} is not "
                "set: export it (a long random secret, the same for every run) or choose mask"
            )
        return Privacy(self.personal_data, salt if self.personal_data == "hash" else "")


class QualityConfig(_Strict):
    """How many bad rows a source may have: a run blocks when the share of a source's rows read
    this run that went to quarantine is above its threshold (docs/contract.md)."""

    max_quarantined_share: dict[str, float]

    @model_validator(mode="after")
    def _per_source(self) -> QualityConfig:
        shares = self.max_quarantined_share
        unknown = sorted(set(shares) - set(SOURCES))
        if unknown:
            raise ValueError(
                f"quality.max_quarantined_share: unknown source(s) {', '.join(unknown)}; "
                f"the sources are {', '.join(SOURCES)}"
            )
        missing = [s for s in SOURCES if s not in shares]
        if missing:
            raise ValueError(f"quality.max_quarantined_share: no share for {', '.join(missing)}")
        bad = [f"{s}: {v}" for s, v in shares.items() if not 0 <= v <= 1]
        if bad:
            raise ValueError(
                f"quality.max_quarantined_share: a share is between 0 and 1 ({', '.join(bad)})"
            )
        return self


class TimeConfig(_Strict):
    """An analysis date more than max_days_after_latest_order days after the latest order is
    reported as a warning, or blocks the run when `block` is true."""

    max_days_after_latest_order: int = Field(ge=0)
    block: bool


class TiersConfig(_Strict):
    rfm: RfmConfig
    abc: AbcConfig
    clv: ClvConfig
    churn: ChurnConfig
    schedule: ScheduleConfig
    sensor: SensorConfig = Field(default_factory=SensorConfig)
    voice: VoiceConfig
    lifecycle: LifecycleConfig
    tiers: TiersRules
    playbooks: PlaybooksConfig
    care_calendar: CareCalendarConfig
    groups: GroupsConfig
    privacy: PrivacyConfig
    quality: QualityConfig
    time: TimeConfig
    actions: ActionsConfig
    recommendations: RecommendationsConfig
    source_path: str = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> TiersConfig:
        # Playbooks of tiers that are not configured are ignored: a configuration file that
        # renames the tiers is merged over the defaults, whose playbooks stay in the mapping.
        missing = [lv.name for lv in self.tiers.levels if lv.name not in self.playbooks.tiers]
        if missing:
            raise ValueError(f"playbooks.tiers: no playbook for tier {', '.join(missing)}")
        return self

    def dbt_tiers(self) -> dict[str, Any]:
        """The configuration as the models read it (macros/cfg.sql)."""
        # Scheduling and the run's gates are Dagster's business, not the models'.
        tiers = self.model_dump(mode="json", exclude={"schedule", "sensor", "quality", "time"})
        # dbt reads the playbook of each (tier, stage) pair, resolved once here.
        tiers["playbooks"]["resolved"] = resolve_playbooks(self.tiers.levels, self.playbooks)
        return tiers

    def dbt_vars(self, as_of: date | None) -> dict[str, Any]:
        """The vars every dbt invocation gets: the configuration, the unit tests' fixed one
        (UNIT_TEST_CONFIG_PATH), and the analysis date."""
        return {
            "tiers": self.dbt_tiers(),
            "tiers_unit_test": unit_test_tiers(),
            "as_of": as_of.isoformat() if as_of else None,
        }

    def dbt_vars_json(self, as_of: date | None) -> str:
        return json.dumps(self.dbt_vars(as_of), ensure_ascii=False, sort_keys=True)


# A class of abc.combined is one rule (all of its minimums at once): an override's class replaces
# the default's whole, so `B: {revenue: 100, profit: 40}` does not keep the default's frequency.
_REPLACED_WHOLE = {("abc", "combined", "A"), ("abc", "combined", "B")}


def _deep_merge(
    base: dict[str, Any], override: dict[str, Any], path: tuple[str, ...] = ()
) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        here = (*path, key)
        if (
            isinstance(value, dict)
            and isinstance(merged.get(key), dict)
            and here not in _REPLACED_WHOLE
        ):
            merged[key] = _deep_merge(merged[key], value, here)
        else:
            merged[key] = value
    return merged


def load_config(path: Path | str | None = None) -> TiersConfig:
    """Defaults from config/tiers.yml, overridden key by key by `path` or $TIERS_CONFIG."""
    files = [DEFAULT_CONFIG_PATH]
    data = read_yaml(DEFAULT_CONFIG_PATH)
    override = path or os.environ.get(CONFIG_ENV_VAR)
    if override and Path(override).resolve() != DEFAULT_CONFIG_PATH:
        files.append(Path(override))
        data = _deep_merge(data, read_yaml(Path(override)))
    try:
        return TiersConfig.model_validate({**data, "source_path": str(files[-1])})
    except ValidationError as err:
        raise ConfigError(describe_invalid(err, files)) from err


# dbt's unit tests run with this configuration, never the user's (macros/cfg.sql): their expected
# rows are worked by hand from its values, so no valid --config can fail them.
UNIT_TEST_CONFIG_PATH = DBT_PROJECT_DIR / "unit_test_config.yml"


@functools.cache
def _unit_test_config() -> TiersConfig:
    # Sections the file leaves out (nothing dbt reads) come from the shipped defaults.
    files = [DEFAULT_CONFIG_PATH, UNIT_TEST_CONFIG_PATH]
    data = {**read_yaml(DEFAULT_CONFIG_PATH), **read_yaml(UNIT_TEST_CONFIG_PATH)}
    try:
        return TiersConfig.model_validate({**data, "source_path": str(UNIT_TEST_CONFIG_PATH)})
    except ValidationError as err:
        raise ConfigError(describe_invalid(err, files)) from err


def unit_test_tiers() -> dict[str, Any]:
    """The unit tests' configuration as the models read it (the var `tiers_unit_test`)."""
    return _unit_test_config().dbt_tiers()
