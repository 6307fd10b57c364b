{{ config(meta={'dagster': {'ref': {'name': 'churn_watchlist'}}}) }}
-- One risk rule: every customer in an overdue lifecycle stage (at_risk, dormant, churned) is on
-- the churn watch list, and every customer_actions win_back or reactivation is a churn_watchlist
-- decision with the same deadline-bound day; customer_actions is due within the horizon.
-- Rows returned fail the run.

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

watch as (

    select * from {{ ref('churn_watchlist') }}

),

actions as (

    select * from {{ ref('customer_actions') }}

)

select tiers.customer_id
from tiers
left join watch on tiers.customer_id = watch.customer_id
where tiers.lifecycle_stage in ('at_risk', 'dormant', 'churned') and watch.customer_id is null
union all
select actions.customer_id
from actions
left join watch on actions.customer_id = watch.customer_id
where
    actions.action in ('win_back', 'reactivation')
    and (
        watch.action is null
        or watch.action <> actions.action
        or actions.due_on > watch.win_back_deadline
        or actions.holdout <> watch.holdout
    )
union all
select customer_id
from actions
where not (due_on > as_of and due_on <= as_of + {{ cfg('actions.horizon_days') }})
