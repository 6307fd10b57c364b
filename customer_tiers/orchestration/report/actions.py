"""The report's action sections: actions due per manager, and each experiment's measured effect.

`actions_chart` shows the actions of marts.customer_actions a manager has to make (held-out
customers excluded: nobody contacts them) by main action, with the first deadline, as counted
in marts.report_action_counts.
`effects_chart` draws each experiment's pooled lift (marts.action_effects) with its 95%
interval and says it in words a manager reads: "win-back calls brought back 8.1 points more
customers, 95% interval 2.3 to 13.9". Both follow base.py's chart contract (a Chart or a Skip
from a Context); their words are in text.py with the rest of the page's.
"""

from __future__ import annotations

from typing import Any

from customer_tiers.orchestration.report.base import Chart, Context, Skip, axis, base_layout
from customer_tiers.orchestration.report.text import TEXT

MAX_MANAGERS = 40  # rows of the actions table (the managers with most actions first)
ACTION_ORDER = ("win_back", "reactivation", "detractor_followup", "callback")


def _points(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}"


def _money(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def effect_sentence(ctx: Context, row: dict[str, Any]) -> str:
    """One experiment's pooled effect in words (row: a pooled row of marts.action_effects)."""
    action = row["action"]
    key = f"effects.says.{action}"
    label = ctx.t(f"do.{action}") if f"do.{action}" in TEXT else action
    says = ctx.t(key) if key in TEXT else ctx.t("effects.says.other", action=label)
    lift, low, high = row["lift"], row["lift_ci_low"], row["lift_ci_high"]
    if lift is None:
        return ""
    if row["min_detectable_lift"] is None:
        # no lift up to 100 points reaches 80% power at these sizes (one held-out customer,
        # say): the interval exists but says nothing a manager should act on
        return ctx.t(
            "effects.too_few", action=label, treated=row["n_treatment"], control=row["n_control"]
        )
    more = ctx.t("effects.word.more" if lift >= 0 else "effects.word.fewer")
    sentence = ctx.t(
        "effects.more",
        says=says,
        points=_points(abs(lift)),
        more=more,
        low=_points(low),
        high=_points(high),
    )
    sentence += ctx.t(
        "effects.sizes",
        treated=row["n_treatment"],
        control=row["n_control"],
        window=row["window_days"],
    )
    if low is not None and high is not None and low <= 0 <= high:
        sentence += ctx.t("effects.unclear")
    if row["revenue_lift"] is not None:
        value = row["revenue_lift"]
        sentence += ctx.t(
            "effects.revenue",
            sign="+" if value >= 0 else "−",
            value=_money(abs(value)),
            low=_money(row["revenue_lift_ci_low"]),
            high=_money(row["revenue_lift_ci_high"]),
        )
    if row["srm_flag"]:
        sentence += ctx.t("effects.srm", p=f"{row['srm_p_value']:.1g}")
    return sentence


def effects_chart(ctx: Context) -> Chart | Skip:
    if skip := ctx.missing("action_effects"):
        return Skip("reason.no_effects") if skip.reason == "reason.empty" else skip
    described = ctx.con.execute("select * from marts.action_effects limit 0").description
    names = [column[0] for column in described]
    rows = [
        dict(zip(names, values, strict=True))
        for values in ctx.rows(
            "select * from marts.action_effects where scope = 'pooled' and lift is not null "
            "order by action, experiment_id"
        )
    ]
    if not rows:
        return Skip("reason.no_effects")
    labels = [
        f"{ctx.t('do.' + r['action']) if 'do.' + r['action'] in TEXT else r['action']} "
        f"({r['experiment_id']})"
        for r in rows
    ]
    lifts = [r["lift"] * 100 for r in rows]
    data = [
        {
            "type": "scatter",
            "mode": "markers",
            "x": lifts,
            "y": labels,
            "marker": {"size": 11, "color": "#1f4fb8"},
            "error_x": {
                "type": "data",
                "symmetric": False,
                "array": [
                    (r["lift_ci_high"] * 100 - lift) if r["lift_ci_high"] is not None else 0
                    for r, lift in zip(rows, lifts, strict=True)
                ],
                "arrayminus": [
                    (lift - r["lift_ci_low"] * 100) if r["lift_ci_low"] is not None else 0
                    for r, lift in zip(rows, lifts, strict=True)
                ],
                "color": "#1f4fb8",
                "thickness": 2,
            },
            "hovertemplate": "%{y}: %{x:.1f}<extra></extra>",
        }
    ]
    layout = base_layout(
        xaxis=axis(ctx.t("effects.x"), zeroline=True, zerolinecolor="#c0392b", zerolinewidth=2),
        yaxis=axis("", type="category", automargin=True),
        margin={"l": 200, "r": 32, "t": 36, "b": 64},
        showlegend=False,
    )
    sentences = [effect_sentence(ctx, r) for r in rows]
    facts = {"sentences": sentences, "experiments": [r["experiment_id"] for r in rows]}
    return Chart(data, layout, note=" ".join(sentences), facts=facts, height=120 + 48 * len(rows))


def actions_chart(ctx: Context) -> Chart | Skip:
    if skip := ctx.missing("report_action_counts"):
        return skip
    [(held,)] = ctx.rows(
        "select coalesce(sum(actions), 0) from marts.report_action_counts where holdout"
    )
    counts = ctx.rows(
        "select staff_id, staff_name, action, actions, first_due_on "
        "from marts.report_action_counts where not holdout"
    )
    if not counts:
        return Skip("reason.no_actions")
    actions = sorted(
        {row[2] for row in counts},
        key=lambda a: (ACTION_ORDER.index(a) if a in ACTION_ORDER else len(ACTION_ORDER), a),
    )
    managers: dict[Any, dict[str, Any]] = {}
    for staff_id, staff_name, action, n, due in counts:
        entry = managers.setdefault(staff_id, {"name": staff_name, "total": 0, "due": due})
        entry[action] = n
        entry["total"] += n
        entry["due"] = min(entry["due"], due)
    ranked = sorted(managers.items(), key=lambda kv: (-kv[1]["total"], str(kv[0])))
    shown = ranked[:MAX_MANAGERS]

    def who(staff_id: Any, entry: dict[str, Any]) -> str:
        if staff_id is None:
            return ctx.t("actions.unassigned")
        return f"{entry['name']} ({staff_id})" if entry["name"] else str(staff_id)

    def word(action: str) -> str:
        return ctx.t(f"do.{action}") if f"do.{action}" in TEXT else action

    headers = [ctx.t("actions.manager"), *(word(a) for a in actions)]
    headers += [ctx.t("actions.total"), ctx.t("actions.first_due")]
    columns = [[who(sid, e) for sid, e in shown]]
    columns += [[f"{e.get(a, 0):,}" for _, e in shown] for a in actions]
    columns += [[f"{e['total']:,}" for _, e in shown], [str(e["due"]) for _, e in shown]]
    data = [
        {
            "type": "table",
            "header": {
                "values": [f"<b>{h}</b>" for h in headers],
                "fill": {"color": "#e8edf7"},
                "align": "left",
                "height": 30,
            },
            "cells": {
                "values": columns,
                "align": ["left"] + ["right"] * (len(actions) + 1) + ["left"],
                "height": 26,
                "fill": {"color": "#ffffff"},
                "line": {"color": "#e3e6ec"},
            },
        }
    ]
    total = sum(e["total"] for e in managers.values())
    named = sum(1 for sid in managers if sid is not None)
    note = ctx.t("actions.note", total=total, managers=named, held=held)
    if len(ranked) > len(shown):
        note += ctx.t("actions.note_top", shown=len(shown), count=len(ranked))
    facts = {
        "held_out": held,
        "total": total,
        "per_manager": {who(sid, e): {a: e.get(a, 0) for a in actions} for sid, e in ranked},
    }
    layout = base_layout(margin={"l": 8, "r": 8, "t": 32, "b": 8})
    return Chart(data, layout, note=note, facts=facts, height=32 + 30 + 26 * len(shown) + 24)
