{{ config(meta={'dagster': {'ref': {'name': 'care_calendar'}}}) }}
-- Every win_back or reactivation customer not held out has a contact due on or before the
-- deadline, with an account manager (an active one of the staff source, when there is one), and
-- that contact is in care_calendar when it falls within its days. Rows returned fail the run.

with

watch as (

    select * from {{ ref('churn_watchlist') }}
    where action in ('win_back', 'reactivation') and not holdout

),

staff as (

    select * from {{ ref('stg_shop__staff') }}

),

has_staff as (

    select count(*) > 0 as has_staff from staff

),

calendar as (

    select * from {{ ref('care_calendar') }}

)

select watch.customer_id
from watch
cross join has_staff
left join staff on watch.account_manager_id = staff.staff_id
where
    watch.next_contact_on is null
    or watch.next_contact_on > watch.win_back_deadline
    or watch.account_manager_id is null
    or (has_staff.has_staff and not coalesce(staff.is_active, false))
    or (
        watch.next_contact_on <= watch.as_of + {{ cfg('care_calendar.days_ahead') }}
        and not exists (
            select 1
            from calendar
            where
                calendar.customer_id = watch.customer_id
                and calendar.due_on = watch.next_contact_on
                and calendar.action = watch.action
                and calendar.account_manager_id = watch.account_manager_id
        )
    )
