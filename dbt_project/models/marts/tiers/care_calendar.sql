-- The contacts due in the next days (config/tiers.yml, care_calendar.days_ahead; the day after
-- the analysis date is the first) per account manager, from the action plan
-- (int_customers_contact_planned): each customer's main action on its due day (win_back,
-- reactivation, detractor_followup or callback), callbacks on the playbook's cadence after it,
-- and birthday greetings from birth_date (29 February is greeted on 28 February in other years)
-- where the playbook has them. Customers without a planned contact (churned, let_go,
-- unassigned) and customers held out of an experiment have no place.

{%- set days_ahead = cfg('care_calendar.days_ahead') %}

with

planned as (

    select * from {{ ref('int_customers_contact_planned') }}
    where next_contact_on is not null

),

profiles as (

    select * from {{ ref('int_customers_tiered') }}

),

as_of as (

    select * from {{ ref('int_as_of_resolved') }}

),

main_actions as (

    select
        customer_id,
        next_contact_on as due_on,
        action,
        reasons

    from planned

),

callback_steps as (

    select
        customer_id,
        next_contact_on,
        contact_every_days,
        playbook,
        {{ steps_to(int_div(days_ahead, 'contact_every_days')) }} as step

    from planned
    where contact_every_days is not null

),

callbacks as (

    select
        customer_id,
        next_contact_on + cast(step * contact_every_days as integer) as due_on,
        'callback' as action,
        'callback every ' || contact_every_days || ' days (' || playbook || ')' as reasons

    from callback_steps
    where step > 0

),

years as (

    select
        as_of,
        year(as_of) as birthday_year

    from as_of
    union all
    select
        as_of,
        year(as_of) + 1 as birthday_year

    from as_of

),

birthdays as (

    select
        tiers.customer_id,
        -- the birthday in the analysis year and the next one; make_date rejects 29 February in
        -- other years
        case
            when
                month(profiles.birth_date) = 2 and day(profiles.birth_date) = 29
                and not (
                    (years.birthday_year % 4 = 0 and years.birthday_year % 100 <> 0)
                    or years.birthday_year % 400 = 0
                )
                then make_date(years.birthday_year, 2, 28)
            else make_date(years.birthday_year, month(profiles.birth_date), day(profiles.birth_date))
        end as due_on,
        'birthday_greeting' as action,
        'birthday' as reasons

    from planned as tiers
    inner join profiles on tiers.customer_id = profiles.customer_id
    inner join years on tiers.as_of = years.as_of
    where
        profiles.birth_date is not null
        and concat('; ', tiers.care_actions, '; ') like '%; birthday_greeting; %'

),

due as (

    select * from main_actions
    union all
    select * from callbacks
    union all
    select * from birthdays

),

listed as (

    select
        tiers.account_manager_id,
        due.due_on,
        due.customer_id,
        due.action,
        due.reasons,
        tiers.contact_channel as channel,
        tiers.tier,
        tiers.lifecycle_stage,
        tiers.playbook,
        tiers.as_of,
        {{ days_between('tiers.as_of', 'due.due_on') }} as days_from_as_of

    from due
    inner join planned as tiers on due.customer_id = tiers.customer_id
    where due.due_on > tiers.as_of and due.due_on <= tiers.as_of + {{ days_ahead }}

)

select * from listed
