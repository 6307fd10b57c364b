-- Actions due per account manager and action, held-out customers apart (nobody contacts them),
-- with the first due date: the report's actions table. staff_id is empty for the actions
-- without a manager.

with

actions as (

    select * from {{ ref('customer_actions') }}

),

counted as (

    select
        staff_id,
        max(staff_name) as staff_name,
        action,
        coalesce(holdout, false) as holdout,
        count(*) as actions,
        min(due_on) as first_due_on

    from actions
    group by staff_id, action, coalesce(holdout, false)

)

select * from counted
