"""Every word of `tiers report`'s page, in English and Chinese, and text() to pick one.

One table for the whole page (the charts, the actions and experiments sections), so the font
build (font.py's fixed_text_characters) reads every fixed Chinese text from this one file.
"""

from __future__ import annotations

from typing import Any, Literal

Lang = Literal["en", "zh"]
LANGS: tuple[Lang, ...] = ("en", "zh")

# Every word on the page, in English and Chinese.
TEXT: dict[str, tuple[str, str]] = {
    "page.title": ("Customer report", "客户分析报告"),
    "page.subtitle": (
        "{warehouse} · as of {as_of} · {customers} customers",
        "{warehouse} · 分析日期 {as_of} · 客户 {customers} 人",
    ),
    "skipped": ("Not drawn: {reason}.", "未绘制：{reason}。"),
    "customers": ("Customers", "客户数"),
    "revenue": ("Revenue", "收入"),
    "revenue_share": ("Share of revenue", "收入占比"),
    "tiers.title": ("Tiers: customers and share of revenue", "客户分层：人数与收入占比"),
    "tiers.x": ("Tier", "层级"),
    "tiers.note": (
        "Bars: customers per tier (left axis) and the tier's share of net revenue (right axis).",
        "柱形：各层级客户数（左轴）及其净收入占比（右轴）。",
    ),
    "segments.title": (
        "RFM segments: customers and share of revenue",
        "RFM 客户分群：人数与收入占比",
    ),
    "segments.x": ("Segment", "分群"),
    "segments.note": (
        "Customers with a purchase, by the named segment of their R x F scores.",
        "有购买记录的客户，按 R × F 评分所属的分群统计。",
    ),
    "pareto.title": ("Pareto (Lorenz) curve of revenue", "收入帕累托（洛伦兹）曲线"),
    "pareto.x": ("Share of customers, best first", "客户占比（按收入从高到低）"),
    "pareto.y": ("Cumulative share of revenue", "累计收入占比"),
    "pareto.curve": ("Customers", "客户"),
    "pareto.equal": ("Equal shares", "均等分布"),
    "pareto.top": ("Top {top}", "前 {top}"),
    "pareto.note": (
        "The top {top} of customers ({count:,} of {total:,}) bring {share} of revenue.",
        "前 {top} 的客户（{total:,} 人中的 {count:,} 人）贡献了 {share} 的收入。",
    ),
    "pareto.no_top": (
        "A tie at the top is larger than {top} of customers: no top-{top} figure.",
        "最高值的并列客户超过 {top}，无法给出前 {top} 的数字。",
    ),
    "rfm.title": (
        "Customers and revenue by recency (R) and frequency (F) score",
        "按最近购买（R）与购买频次（F）评分的客户数与收入",
    ),
    "rfm.x": ("F score (5 = most orders)", "F 评分（5 = 购买最多）"),
    "rfm.y": ("R score (5 = most recent)", "R 评分（5 = 最近购买）"),
    "rfm.note": (
        "Each cell is one R x F combination; hover for its segment.",
        "每个格子是一个 R × F 组合，悬停可查看所属分群。",
    ),
    "migration.title": ("Tier migration", "层级迁移"),
    "migration.title_dates": ("Tier migration {start} → {end}", "层级迁移 {start} → {end}"),
    "migration.x": ("Tier on {day}", "{day} 的层级"),
    "migration.y": ("Tier on {day}", "{day} 的层级"),
    "migration.none_from": ("not a customer yet", "尚非客户"),
    "migration.none_to": ("gone", "已离开"),
    "migration.note": (
        "{upgrade:,} moved up, {downgrade:,} down, {same:,} stayed, {new:,} new, {lost:,} gone.",
        "升级 {upgrade:,} 人，降级 {downgrade:,} 人，不变 {same:,} 人，"
        "新增 {new:,} 人，离开 {lost:,} 人。",
    ),
    "nps.title": ("NPS trend with its 95% margin of error", "NPS 趋势及 95% 误差范围"),
    "nps.x.quarter": ("Quarter", "季度"),
    "nps.x.month": ("Month", "月份"),
    "nps.y": ("NPS (points, −100 to 100)", "NPS（分，−100 到 100）"),
    "nps.responses": ("responses", "份回答"),
    "nps.note": (
        "Error bars: 95% margin of error. Periods with fewer than 30 responses are anecdotes.",
        "误差线：95% 误差范围。回答少于 30 份的期间仅供参考。",
    ),
    "nps.partial": ("* period not over yet.", "* 期间尚未结束。"),
    "clv.title": ("Customer lifetime value distribution", "客户终身价值分布"),
    "clv.x.predicted": ("Predicted CLV, next 365 days", "预测客户终身价值（未来 365 天）"),
    "clv.x.historical": ("Historical CLV", "历史客户终身价值"),
    "clv.median": ("median {value}", "中位数 {value}"),
    "clv.note.predicted": (
        "Customers by expected net revenue over the next 365 days ({model} x Gamma-Gamma), "
        "{count:,} customers, on a log scale; the first bar also holds the {below:,} below "
        "{floor}.",
        "按未来 365 天预期净收入（{model} × Gamma-Gamma）统计的客户数，共 {count:,} 人，"
        "对数刻度；第一根柱还包含低于 {floor} 的 {below:,} 人。",
    ),
    "clv.note.historical": (
        "The models could not be fitted, so historical CLV is shown: {count:,} customers, "
        "on a log scale; the first bar also holds the {below:,} below {floor}.",
        "模型未能拟合，因此显示历史客户终身价值：共 {count:,} 人，对数刻度；"
        "第一根柱还包含低于 {floor} 的 {below:,} 人。",
    ),
    # the CLV backtest (charts_backtest.py)
    "backtest.actual": ("Actual", "实际"),
    "backtest.predicted": ("Predicted", "预测"),
    "backtest.window": (
        "The {model} model was refitted on the history up to {calibration_end} and checked on "
        "the {days} days to {as_of}.",
        "{model} 模型用截至 {calibration_end} 的历史数据重新拟合，"
        "再用此后到 {as_of} 的 {days} 天数据检验。",
    ),
    "deciles.title": (
        "Backtest: holdout revenue by decile of predicted value",
        "回测：按预测价值十分位的验证期收入",
    ),
    "deciles.x": (
        "Decile of predicted holdout revenue (1 = highest)",
        "预测验证期收入十分位（1 = 最高）",
    ),
    "deciles.y": ("Net revenue in the holdout", "验证期净收入"),
    "deciles.note": (
        "The 10% of customers the model ranked highest brought {share} of the holdout revenue "
        "({actual} actual against {predicted} predicted).",
        "模型排名前 10% 的客户贡献了验证期 {share} 的收入（实际 {actual}，预测 {predicted}）。",
    ),
    "deciles.note_none": (
        "No customer bought in the holdout, so there is no top-decile share.",
        "验证期内没有客户购买，无法计算前 10% 客户的收入占比。",
    ),
    "calibration.title": (
        "Backtest: predicted against observed share buying, by P(alive)",
        "回测：按存活概率分组的预测与实际购买比例",
    ),
    "calibration.predicted": ("Predicted share buying in the holdout", "预测验证期购买比例"),
    "calibration.observed": ("Observed share buying in the holdout", "验证期实际购买比例"),
    "calibration.alive": ("Mean P(alive)", "平均存活概率"),
    "calibration.band": ("P(alive)", "存活概率"),
    "calibration.bands": ("P(alive) bands", "存活概率分组"),
    "calibration.diagonal": ("Predicted = observed", "预测 = 实际"),
    "calibration.note": (
        "Each point is one of {bands} bands of P(alive) at the calibration end (larger = more "
        "customers): the share the model expected to buy in the holdout against the share that "
        "did. On the diagonal the model is right; below it, it expected too many buyers.",
        "每个点是校准期末按存活概率划分的 {bands} 个分组之一（点越大客户越多）：横轴为模型预计在"
        "验证期购买的客户比例，纵轴为实际购买的比例。落在对角线上说明预测准确，"
        "落在对角线下方说明预测的购买客户偏多。",
    ),
    "calibration.overall": (
        "All {customers:,} customers: {predicted} predicted to buy, {observed} did.",
        "全部 {customers:,} 位客户：预测购买比例 {predicted}，实际 {observed}。",
    ),
    "tracking.title": (
        "Backtest: cumulative repeat purchases per week, actual against expected",
        "回测：每周累计重复购买次数，实际与预测",
    ),
    "tracking.x": ("Week ending", "周末日期"),
    "tracking.y": ("Cumulative repeat purchase days", "累计重复购买天数"),
    "tracking.actual": ("Actual", "实际"),
    "tracking.expected": ("Expected by the model", "模型预期"),
    "tracking.week_end": ("Week ending", "周末日期"),
    "tracking.calibration_end": ("calibration end", "校准期结束"),
    "tracking.note": (
        "The repeat purchase days of the {customers:,} customers who had bought by the "
        "calibration end (the dotted line), week by week: {actual} actual against {expected} "
        "expected by then, {holdout_actual} against {holdout_expected} in the holdout. The "
        "expected curve adds up each customer's expected repeat purchases since their first "
        "purchase under the model fitted on the calibration period: it uses when each customer "
        "first bought, not what they did after.",
        "校准期结束（虚线）前已购买的 {customers:,} 位客户逐周累计的重复购买天数："
        "截至校准期结束实际 {actual}、预期 {expected}，验证期内实际 {holdout_actual}、"
        "预期 {holdout_expected}。预期曲线按校准期拟合的模型，把每位客户自首次购买以来的"
        "预期重复购买次数相加：只用到每位客户的首次购买日期，不用其之后的购买记录。",
    ),
    "churn.title": ("Churn watch list", "流失预警名单"),
    "churn.title_count": (
        "Churn watch list: the first {shown:,} of {total:,} customers",
        "流失预警名单：{total:,} 位客户中的前 {shown:,} 位",
    ),
    "churn.customer": ("Customer", "客户"),
    "churn.risk": ("Risk", "风险"),
    "churn.action": ("Action", "行动"),
    "churn.deadline": ("Act by", "截止日期"),
    "churn.p_alive": ("P(alive)", "存活概率"),
    "churn.days": ("Days since last order", "距上次购买天数"),
    "churn.gap": ("Expected days between orders", "预期购买间隔天数"),
    "churn.value": ("Value at stake", "潜在价值"),
    "churn.note": (
        "Soonest deadline first, then the most value at stake.",
        "按截止日期从近到远，再按潜在价值从高到低排列。",
    ),
    "action.win_back": ("win back", "挽回"),
    "action.let_go": ("let go", "放弃"),
    "risk.high": ("high", "高"),
    "risk.medium": ("medium", "中"),
    "risk.low": ("low", "低"),
    "managers.title": ("Account-manager loads", "客户经理负载"),
    "managers.x": ("Account manager", "客户经理"),
    "managers.capacity": ("Capacity", "容量上限"),
    "managers.inactive": ("{name} (inactive)", "{name}（停用）"),
    "managers.weighted": ("weighted load", "加权负载"),
    "managers.note": (
        "Customers per manager by tier; the red mark is the manager's capacity. "
        "Mean weighted load of the active managers: {mean}.",
        "各客户经理按层级的客户数；红色标记为容量上限。在职客户经理的平均加权负载：{mean}。",
    ),
    "managers.note_top": (
        " The {shown:,} most loaded of {total:,} managers are shown.",
        " 显示 {total:,} 位客户经理中负载最高的 {shown:,} 位。",
    ),
    "reason.absent": ("marts.{mart} is not in the warehouse", "仓库中没有 marts.{mart}"),
    "reason.empty": ("marts.{mart} is empty", "marts.{mart} 为空"),
    "reason.one_snapshot": (
        "tier_history has only one snapshot ({day}); migration needs runs on two analysis dates "
        "(tiers backfill)",
        "tier_history 只有一个快照（{day}），层级迁移需要两个分析日期的运行（tiers backfill）",
    ),
    "reason.no_pair": (
        "marts.tier_migration has no rows for {start} → {end}",
        "marts.tier_migration 中没有 {start} → {end} 的数据",
    ),
    "reason.no_revenue": (
        "total revenue is 0, so there is no Pareto curve",
        "总收入为 0，无法绘制帕累托曲线",
    ),
    "reason.no_nps": ("no survey response has an NPS answer", "没有含 NPS 评分的问卷回答"),
    "reason.no_clv": ("no customer has a CLV above 0", "没有客户的终身价值大于 0"),
    "reason.backtest_skipped": (
        "this run has no CLV backtest ({why})",
        "本次运行没有 CLV 回测（{why}）",
    ),
    "reason.backtest_section": (
        "marts.clv_backtest has no {section} rows",
        "marts.clv_backtest 中没有 {section} 部分的数据",
    ),
    # the actions and experiments sections (actions.py)
    "actions.title": ("Actions due per account manager", "各客户经理待办行动"),
    "actions.manager": ("Account manager", "客户经理"),
    "actions.total": ("Total", "合计"),
    "actions.first_due": ("First deadline", "最早截止"),
    "actions.unassigned": ("no manager", "未分配"),
    "actions.note": (
        "{total:,} customers to contact by {managers:,} managers (main action of each; "
        "tiers worklists writes their lists). {held:,} customers are held out as control "
        "groups and not contacted.",
        "{managers:,} 位客户经理共需联系 {total:,} 位客户（按每位客户的主要行动统计；"
        "tiers worklists 生成清单）。另有 {held:,} 位客户作为对照组，不予联系。",
    ),
    "actions.note_top": (
        " The {shown:,} managers with most actions of {count:,} are shown.",
        " 显示 {count:,} 位客户经理中待办最多的 {shown:,} 位。",
    ),
    "do.win_back": ("Win back", "挽回"),
    "do.reactivation": ("Reactivate", "唤醒"),
    "do.detractor_followup": ("Detractor follow-up", "跟进贬损者"),
    "do.callback": ("Care call", "关怀回访"),
    "effects.title": ("Measured effect of the actions", "行动的实测效果"),
    "effects.x": (
        "More customers buying than in the control group (points)",
        "比对照组多出的购买客户（百分点）",
    ),
    "effects.y": ("Action", "行动"),
    "effects.says.win_back": ("win-back calls brought back", "挽回联系使回购客户"),
    "effects.says.reactivation": ("reactivation offers brought back", "唤醒联系使回购客户"),
    "effects.says.detractor_followup": (
        "detractor follow-ups brought back",
        "跟进贬损者使回购客户",
    ),
    "effects.says.other": ("{action} brought back", "{action} 使回购客户"),
    "effects.more": (
        "{says} {points} points {more} customers, 95% interval {low} to {high}",
        "{says}{more} {points} 个百分点，95% 置信区间 {low} 至 {high}",
    ),
    "effects.word.more": ("more", "多了"),
    "effects.word.fewer": ("fewer", "少了"),
    "effects.sizes": (
        " ({treated:,} contacted, {control:,} held out, {window} days after each list).",
        "（联系 {treated:,} 人，对照 {control:,} 人，各名单后 {window} 天内）。",
    ),
    "effects.too_few": (
        "{action}: too few customers to measure ({treated:,} contacted, {control:,} held out): "
        "even a lift of 100 points could not be told from chance.",
        "{action}：人数太少，无法衡量（联系 {treated:,} 人，对照 {control:,} 人）："
        "即使多出 100 个百分点，也无法与偶然区分。",
    ),
    "effects.unclear": (
        " The interval includes no effect: not proven yet.",
        " 区间包含零：效果尚未得到证实。",
    ),
    "effects.revenue": (
        " Revenue per customer {sign}{value}, 95% interval {low} to {high}.",
        " 每位客户收入 {sign}{value}，95% 置信区间 {low} 至 {high}。",
    ),
    "effects.srm": (
        " Warning: the split is far from the planned hold-out (p = {p}); check the control "
        "group before trusting this.",
        " 警告：分组比例与计划的对照比例差异显著（p = {p}），请先检查对照组再采信此结果。",
    ),
    "reason.no_effects": (
        "no experiment's measurement window has ended yet",
        "尚无实验的观测期结束",
    ),
    "reason.no_actions": ("no action is due", "暂无待办行动"),
}


def text(lang: Lang, key: str, **params: Any) -> str:
    """The words of `key` in `lang`, with `params` filled in."""
    english, chinese = TEXT[key]
    return (chinese if lang == "zh" else english).format(**params)
