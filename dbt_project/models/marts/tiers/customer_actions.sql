-- One row per customer with an action due within actions.horizon_days of the analysis date
-- (the day after as_of is day 1), from the action plan (int_customers_contact_planned;
-- docs/actions.md): the main action, every reason in English and Chinese, when, how and by
-- whom, and the experiment the action belongs to. priority ranks the rows: the earliest due
-- day first, then the most value at stake, then customer_id. Held-out customers are listed
-- (holdout true) so the ledger records them, but nobody contacts them. The offer is the
-- customer's next-best category (customer_next_category's first, a bundle for regular
-- customers) with the playbook's benefits.

{%- set horizon_days = cfg('actions.horizon_days') %}

with

planned as (

    select * from {{ ref('int_customers_contact_planned') }}
    where action is not null

),

customers as (

    select * from {{ ref('customers') }}

),

staff as (

    select * from {{ ref('stg_shop__staff') }}

),

next_category as (

    select * from {{ ref('customer_next_category') }}
    where recommendation_rank = 1

),

due as (

    select *
    from planned
    where due_on > as_of and due_on <= as_of + {{ horizon_days }}

),

final as (

    select
        due.customer_id,
        due.as_of,
        due.action,
        due.reasons,
        due.reasons_zh,
        row_number() over (
            order by due.due_on asc, due.value_at_stake desc nulls last, due.customer_id asc
        ) as priority,
        due.due_on,
        due.contact_channel as channel,
        coalesce(next_category.reason || '; ' || due.benefits, next_category.reason, due.benefits) as offer,
        due.account_manager_id as staff_id,
        staff.staff_name,
        customers.customer_name,
        customers.phone,
        due.tier,
        due.lifecycle_stage,
        due.value_at_stake,
        due.experiment_id,
        due.holdout

    from due
    left join customers on due.customer_id = customers.customer_id
    left join staff on due.account_manager_id = staff.staff_id
    left join next_category on due.customer_id = next_category.customer_id

)

select * from final
