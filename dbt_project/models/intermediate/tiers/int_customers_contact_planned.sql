-- The one action plan: who needs contact, why and by when, for every customer as of the
-- analysis date (config/tiers.yml: churn, playbooks, voice, actions; docs/actions.md).
-- churn_watchlist, care_calendar, detractor_followups, customer_tiers and customer_actions all
-- read it, so they cannot disagree.
--   watch list  the first churn level whose test the customer meets (P(alive) below, days
--               since the last purchase above factor x their expected gap, or the chance of
--               any purchase in the next 90 days below the level's p_purchase_90d_below; a
--               customer without a fit meets only the days test); a customer in the
--               lifecycle stages at_risk, dormant or churned meets at least the last level
--   decision    stop_contact stage: let_go; value at stake x lift x margin below the action's
--               cost: let_go; no account manager: unassigned; else reactivation (dormant) or
--               win_back, the first contact due by the level's deadline
--   main action win_back / reactivation, else detractor_followup (an open detractor or low
--               rating), else callback (the playbook's cadence); none for let_go, unassigned
--               and stop_contact customers
--   holdout     an action run as an experiment holds out the customers whose hash falls
--               below holdout_share: no contact, but the plan and the ledger keep them

{%- set churn = cfg('churn') %}
{%- set actions = cfg('actions') %}
{%- set economics = actions.economics %}
{%- set experiments = actions.experiments %}
{%- set watch_stages = ['at_risk', 'dormant', 'churned'] %}
{%- set last_level = churn.levels[-1] %}
{%- set stop_stages = [] %}
{%- for stage, adjust in cfg('playbooks.stages').items() %}
    {%- if adjust.stop_contact %}{% do stop_stages.append(stage) %}{% endif %}
{%- endfor %}
{%- set stage_labels_zh = {} %}
{%- for label in cfg('lifecycle.labels') %}
    {%- do stage_labels_zh.update({label.stage: label.label_zh}) %}
{%- endfor %}

with

tiered as (

    select * from {{ ref('int_customers_tiered') }}

),

clv as (

    select * from {{ ref('int_customers_clv_joined') }}

),

playbooks as (

    {{ playbook_rows() }}

),

assignments as (

    select *
    from {{ ref('stg_assignments__account_assignments') }}
    where as_of = (select resolved.as_of from {{ ref('int_as_of_resolved') }} as resolved)

),

staff as (

    select count(*) > 0 as has_staff from {{ ref('stg_shop__staff') }}

),

items as (

    select
        customer_id,
        count(*) as followup_items,
        min(item_date) as followup_since

    from {{ ref('int_followup_items_selected') }}
    where is_known_customer
    group by customer_id

),

measured as (

    {{ measured_lifts() }}

),

joined as (

    select
        tiered.customer_id,
        tiered.as_of,
        tiered.lifecycle_stage,
        {{ label_case('tiered.lifecycle_stage', stage_labels_zh) }} as lifecycle_stage_zh,
        tiered.lifecycle_reason,
        tiered.tier,
        tiered.tier_label_zh,
        tiered.tier_rank,
        tiered.tier_weight,
        tiered.tier_reason,
        playbooks.playbook,
        playbooks.contact_every_days,
        playbooks.channel as contact_channel,
        playbooks.benefits,
        playbooks.care_actions,
        coalesce(tiered.last_order_date, tiered.signup_date, tiered.as_of) as cadence_anchor,
        -- without a staff source nobody is assigned: the customers file's manager stands
        case
            when staff.has_staff then assignments.staff_id
            else tiered.profile_account_manager_id
        end as account_manager_id,
        assignments.assignment_reason,
        clv.p_alive,
        clv.p_purchase_90d,
        clv.days_since_last_order,
        clv.expected_days_between_orders,
        clv.predicted_clv_365d,
        -- without a model fit, last year's run rate stands in for the predicted value
        coalesce(clv.predicted_clv_365d, clv.avg_order_value * clv.purchases_per_year) as value_at_stake,
        coalesce(items.followup_items, 0) as followup_items,
        items.followup_since

    from tiered
    cross join staff
    inner join playbooks
        on
            tiered.tier = playbooks.tier
            and tiered.lifecycle_stage = playbooks.lifecycle_stage
    left join assignments on tiered.customer_id = assignments.customer_id
    left join clv on tiered.customer_id = clv.customer_id
    left join items on tiered.customer_id = items.customer_id

),

leveled as (

    select
        *,
        case
            {%- for level in churn.levels %}
                when {{ churn_level_test(level) }} then {{ sql_string(level.name) }}
            {%- endfor %}
            when {{ is_one_of('lifecycle_stage', watch_stages) }} then {{ sql_string(last_level.name) }}
        end as risk_level,
        case
            {%- for level in churn.levels %}
                when p_alive < {{ level.p_alive_below }}
                    then 'P(alive) ' || round(p_alive, 2) || ' < {{ level.p_alive_below }}'
                when days_since_last_order > {{ level.overdue_factor }} * expected_days_between_orders
                    then
                        days_since_last_order
                        || ' days since the last purchase > {{ level.overdue_factor }} x '
                        || round(expected_days_between_orders) || ' expected'
                {%- if level.p_purchase_90d_below > 0 %}
                    when p_purchase_90d < {{ level.p_purchase_90d_below }}
                        then
                            'P(purchase in 90 days) ' || round(p_purchase_90d, 3)
                            || ' < {{ level.p_purchase_90d_below }}'
                {%- endif %}
            {%- endfor %}
            when {{ is_one_of('lifecycle_stage', watch_stages) }}
                then 'stage ' || lifecycle_stage || ': ' || lifecycle_reason
        end as risk_reason,
        case
            {%- for level in churn.levels %}
                when {{ churn_level_test(level) }} then {{ level.act_within_days }}
            {%- endfor %}
            when {{ is_one_of('lifecycle_stage', watch_stages) }} then {{ last_level.act_within_days }}
        end as act_within_days,
        case when lifecycle_stage = 'dormant' then 'reactivation' else 'win_back' end as risk_action,
        case
            when contact_every_days is not null
                then {{ next_on_cadence('cadence_anchor', 'as_of', 'contact_every_days') }}
        end as cadence_next_on

    from joined

),

priced as (

    select
        leveled.*,
        coalesce(measured.measured_lift, {{ economics.assumed_lift }}) as lift,
        case when measured.measured_lift is null then 'assumed' else 'measured' end as lift_source,
        cast({{ churn.win_back_cost }} as double) as action_cost,
        leveled.value_at_stake
        * coalesce(measured.measured_lift, {{ economics.assumed_lift }})
        * {{ economics.margin }} as expected_gain

    from leveled
    left join measured on leveled.risk_action = measured.action

),

decided as (

    select
        *,
        case
            when risk_level is null then null
            when {{ is_one_of('lifecycle_stage', stop_stages) }} then 'let_go'
            when coalesce(expected_gain, 0) < action_cost then 'let_go'
            when account_manager_id is null then 'unassigned'
            else risk_action
        end as churn_action,
        case
            when risk_level is null then null
            when {{ is_one_of('lifecycle_stage', stop_stages) }}
                then 'stage ' || lifecycle_stage || ': the playbook stops contact'
            else
                'value at stake '
                || coalesce(cast(round(value_at_stake, 2) as {{ dbt.type_string() }}), 'unknown')
                || ' x lift ' || round(lift, 4) || ' (' || lift_source || ')'
                || ' x margin {{ economics.margin }} = '
                || coalesce(cast(round(expected_gain, 2) as {{ dbt.type_string() }}), 'unknown')
                || case when coalesce(expected_gain, 0) < action_cost then ' < ' else ' >= ' end
                || 'cost ' || round(action_cost, 2)
        end as economics_reason

    from priced

),

planned as (

    select
        *,
        case
            when churn_action in ('win_back', 'reactivation') then as_of + cast(act_within_days as integer)
        end as win_back_deadline,
        case
            when churn_action in ('win_back', 'reactivation') then churn_action
            when churn_action is not null then null
            when {{ is_one_of('lifecycle_stage', stop_stages) }} then null
            when followup_items > 0 then 'detractor_followup'
            when cadence_next_on is not null then 'callback'
        end as action

    from decided

),

dated as (

    select
        *,
        case action
            when 'win_back' then least(coalesce(cadence_next_on, win_back_deadline), win_back_deadline)
            when 'reactivation' then least(coalesce(cadence_next_on, win_back_deadline), win_back_deadline)
            when 'detractor_followup'
                then greatest(followup_since + {{ actions.detractor_followup_days }}, as_of + 1)
            when 'callback' then cadence_next_on
        end as due_on,
        case
            when {{ is_one_of('action', experiments.actions) }}
                then action || {{ sql_string('-' ~ experiments.version) }}
        end as experiment_id

    from planned

),

drawn as (

    select
        *,
        coalesce(
            experiment_id is not null
            and {{ holdout_fraction('customer_id', 'experiment_id') }} < {{ experiments.holdout_share }},
            false
        ) as holdout

    from dated

),

explained as (

    select
        *,
        concat_ws(
            '; ',
            case
                when action in ('win_back', 'reactivation')
                    then
                        action || ' by ' || cast(win_back_deadline as {{ dbt.type_string() }})
                        || ' (' || risk_level || ' risk: ' || risk_reason || '; ' || economics_reason || ')'
            end,
            case
                when action is not null and followup_items > 0
                    then
                        followup_items || ' detractor or low-rating item(s) since '
                        || cast(followup_since as {{ dbt.type_string() }})
            end,
            case
                when action is not null and cadence_next_on is not null
                    then 'callback every ' || contact_every_days || ' days (' || playbook || ')'
            end
        ) as reasons,
        concat_ws(
            '；',
            case
                when action = 'win_back'
                    then
                        '挽回（' || cast(win_back_deadline as {{ dbt.type_string() }})
                        || ' 前）：流失风险 ' || risk_level
            end,
            case
                when action = 'reactivation'
                    then
                        '唤醒（' || cast(win_back_deadline as {{ dbt.type_string() }})
                        || ' 前）：流失风险 ' || risk_level
            end,
            case
                when action in ('win_back', 'reactivation')
                    then
                        '预计收益 ' || round(expected_gain, 2)
                        || case when lift_source = 'measured' then '（实测提升）' else '（假设提升）' end
                        || ' ≥ 成本 ' || round(action_cost, 2)
            end,
            case
                when action is not null and followup_items > 0
                    then
                        '差评回访 ' || followup_items || ' 条，最早 '
                        || cast(followup_since as {{ dbt.type_string() }})
            end,
            case
                when action is not null and cadence_next_on is not null
                    then '定期回访：每 ' || contact_every_days || ' 天（' || playbook || '）'
            end
        ) as reasons_zh,
        -- the next contact anyone makes: none for a held-out customer or one without an action
        case when not holdout then due_on end as next_contact_on

    from drawn

)

select * from explained
