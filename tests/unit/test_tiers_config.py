"""The tier, lifecycle and playbook sections of the configuration."""

from pathlib import Path

import pytest

from customer_tiers.orchestration.config import (
    ConfigError,
    PurchaseChanceLimits,
    load_config,
    resolve_playbooks,
)


def _override(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tiers.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_tiers_reach_dbt() -> None:
    tiers = load_config().dbt_vars(None)["tiers"]
    levels = tiers["tiers"]["levels"]
    assert [(lv["name"], lv["label_zh"], lv["weight"]) for lv in levels] == [
        ("Diamond", "钻石", 4.0),
        ("Gold", "金", 3.0),
        ("Silver", "银", 2.0),
        ("Bronze", "铜", 1.0),
    ]
    assert tiers["lifecycle"]["overdue"]["dormant"] == {
        "factor": 4.0,
        "min_days": 60,
        "max_days": 365,
        "fallback_days": 180,
    }
    # 4 tiers x 8 stages, resolved once in Python
    assert len(tiers["playbooks"]["resolved"]) == 32


def test_stage_adjusts_the_tier_playbook() -> None:
    config = load_config()
    rows = {
        (r["tier"], r["stage"]): r for r in resolve_playbooks(config.tiers.levels, config.playbooks)
    }
    # Silver: every 60 days by WeChat; at_risk caps the cadence at 7 days, calls by phone and
    # adds the win-back offer to the tier's actions
    assert rows[("Silver", "regular")]["contact_every_days"] == 60
    assert rows[("Silver", "at_risk")] == {
        "tier": "Silver",
        "stage": "at_risk",
        "playbook": "Silver / at_risk",
        "contact_every_days": 7,
        "channel": "phone",
        "benefits": "member points x2",
        "care_actions": ["birthday_greeting", "win_back_offer"],
    }
    # Diamond's 14 days is already under the new-customer cap of 14; dormant's cap of 30 leaves it
    assert rows[("Diamond", "new")]["contact_every_days"] == 14
    assert rows[("Diamond", "dormant")]["contact_every_days"] == 14
    assert rows[("Bronze", "dormant")]["contact_every_days"] == 30
    # churned: no scheduled contact, no care actions
    assert rows[("Gold", "churned")]["contact_every_days"] is None
    assert rows[("Gold", "churned")]["care_actions"] == []


def test_renamed_tiers_need_their_own_playbooks(tmp_path: Path) -> None:
    path = _override(
        tmp_path,
        "tiers:\n  levels:\n"
        "    - {name: VIP, label_zh: 贵宾, weight: 2, value: {abc_classes: [A]}}\n"
        "    - {name: Member, label_zh: 会员, weight: 1}\n",
    )
    with pytest.raises(ConfigError, match="no playbook for tier VIP, Member"):
        load_config(path)
    path.write_text(
        path.read_text(encoding="utf-8") + "playbooks:\n  tiers:\n"
        "    VIP: {contact_every_days: 7, channel: phone}\n"
        "    Member: {channel: email}\n",
        encoding="utf-8",
    )
    config = load_config(path)
    rows = resolve_playbooks(config.tiers.levels, config.playbooks)
    assert {r["tier"] for r in rows} == {"VIP", "Member"}
    member_new = next(r for r in rows if r["playbook"] == "Member / new")
    assert member_new["contact_every_days"] == 14  # no cadence of its own: the stage's cap


def test_purchase_chance_rules_default_when_left_out(tmp_path: Path) -> None:
    """The shipped file sets the purchase-chance thresholds; a file without them still runs:
    a churn level without p_purchase_90d_below has the test off (0), and a lifecycle section
    without it takes the documented defaults 0.15 / 0.08 / 0.03 (an override file merges
    into the shipped one, so the defaults are checked on the class)."""
    assert PurchaseChanceLimits().model_dump() == {
        "at_risk": 0.15,
        "dormant": 0.08,
        "churned": 0.03,
    }
    shipped = load_config().dbt_vars(None)["tiers"]
    assert [lv["p_purchase_90d_below"] for lv in shipped["churn"]["levels"]] == [0.1, 0.2]
    assert shipped["lifecycle"]["p_purchase_90d_below"] == {
        "at_risk": 0.15,
        "dormant": 0.08,
        "churned": 0.03,
    }
    text = (
        "churn:\n  levels:\n"
        "    - {name: high, p_alive_below: 0.3, overdue_factor: 3, act_within_days: 7}\n"
        "lifecycle:\n  p_purchase_90d_below: {at_risk: 0.2}\n"
    )
    tiers = load_config(_override(tmp_path, text)).dbt_vars(None)["tiers"]
    assert tiers["churn"]["levels"][0]["p_purchase_90d_below"] == 0.0
    # 0 switches a stage's test off and is left out of the order
    off = "lifecycle:\n  p_purchase_90d_below: {at_risk: 0, dormant: 0, churned: 0.03}\n"
    assert load_config(_override(tmp_path, off)).lifecycle.p_purchase_90d_below.at_risk == 0
    assert tiers["lifecycle"]["p_purchase_90d_below"] == {
        "at_risk": 0.2,
        "dormant": 0.08,
        "churned": 0.03,
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "tiers:\n  levels:\n"
            "    - {name: A, label_zh: 甲, weight: 1, lifecycle_stages: [new]}\n",
            "the last tier must have no condition",
        ),
        (
            "tiers:\n  levels:\n"
            "    - {name: A, label_zh: 甲, weight: 1, value: {abc_classes: [A]}, "
            "min_value_signals: 2}\n"
            "    - {name: B, label_zh: 乙, weight: 1}\n",
            "min_value_signals 2 but only 1 value signals given",
        ),
        (
            "lifecycle:\n  overdue:\n    at_risk: {factor: 5, min_days: 30, max_days: 180, "
            "fallback_days: 90}\n",
            r"lifecycle.overdue.\*.factor: need at_risk <= dormant <= churned",
        ),
        ("lifecycle:\n  labels: []\n", "need exactly one label per stage"),
        (
            "lifecycle:\n  p_purchase_90d_below: {at_risk: 0.05, dormant: 0.08}\n",
            r"lifecycle.p_purchase_90d_below: need at_risk >= dormant >= churned \(0 = off\), "
            r"found \[0.05, 0.08, 0.03\]",
        ),
        (
            "lifecycle:\n  p_purchase_90d_below: {churned: 1.5}\n",
            "lifecycle.p_purchase_90d_below.churned: Input should be less than or equal to 1",
        ),
        (
            "churn:\n  levels:\n    - {name: high, p_alive_below: 0.3, overdue_factor: 3, "
            "p_purchase_90d_below: -0.1, act_within_days: 7}\n",
            "churn.levels.0.p_purchase_90d_below: Input should be greater than or equal to 0",
        ),
        ("tiers:\n  levels:\n    - {name: none, label_zh: 无, weight: 1}\n", "'none' is reserved"),
        ("groups:\n  age_band_starts: [30, 20]\n", "need increasing ages"),
    ],
)
def test_invalid_tier_configuration_is_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(_override(tmp_path, text))
