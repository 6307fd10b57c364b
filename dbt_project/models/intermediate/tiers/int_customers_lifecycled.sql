-- The lifecycle stage of every customer as of the analysis date (config/tiers.yml, lifecycle),
-- with the signals the tier rules read: value (RFM value class, ABC class by revenue,
-- predicted CLV), loyalty and rhythm. The overdue limits follow each customer's own expected
-- days between orders from the purchase model in use (clv.model), as known at the last order
-- (the silence since is not in it, so a one-time buyer's limit does not grow with the
-- silence), kept within fixed bounds; without a model fit the fixed fallback limits apply.
-- The model's chance of any purchase in the next 90 days below the stage's
-- lifecycle.p_purchase_90d_below also puts a customer in the stage: it falls with the silence
-- for every customer, also one with one order whose P(alive) stays 1 under BG/NBD; without a
-- fit it is empty and only the day limits apply.

{%- set life = cfg('lifecycle') %}
{%- set chance = life.p_purchase_90d_below %}
{%- set overdue_stages = ['churned', 'dormant', 'at_risk'] %}

with

customers as (

    select * from {{ ref('int_customers_unioned') }}

),

as_of as (

    select * from {{ ref('int_as_of_resolved') }}

),

facts as (

    select * from {{ ref('int_customers_summarized') }}

),

clv as (

    select * from {{ ref('int_customers_clv_joined') }}

),

rfm as (

    select * from {{ ref('int_customers_rfm_scored') }}

),

abc as (

    select * from {{ ref('int_customers_abc_classified') }}
    where basis = 'revenue'

),

loyalty as (

    select * from {{ ref('int_customers_loyalty_graded') }}

),

signals as (

    select
        customers.customer_id,
        as_of.as_of,
        customers.birth_date,
        customers.region,
        customers.interests,
        customers.signup_date,
        customers.account_manager_id as profile_account_manager_id,
        facts.first_order_date,
        facts.last_order_date,
        coalesce(facts.frequency, 0) as frequency,
        coalesce(facts.monetary, 0) as monetary,
        {{ days_between('facts.first_order_date', 'as_of.as_of') }} as days_since_first_order,
        facts.recency_days as days_since_last_order,
        -- the model's rhythm only: without a fit int_customers_clv_joined carries the observed
        -- gap between orders for the churn list, and the fixed fallback limits apply here instead
        case
            when clv.p_alive is not null then clv.expected_days_between_orders
        end as expected_days_between_orders,
        clv.p_alive,
        clv.p_purchase_90d,
        clv.predicted_clv_365d,
        rfm.value_class,
        abc.abc_class,
        loyalty.loyalty_grade

    from customers
    cross join as_of
    left join facts on customers.customer_id = facts.customer_id
    left join clv on customers.customer_id = clv.customer_id
    left join rfm on customers.customer_id = rfm.customer_id
    left join abc on customers.customer_id = abc.customer_id
    left join loyalty on customers.customer_id = loyalty.customer_id

),

limited as (

    select
        *,
        {{ overdue_limit_days(life.overdue.churned) }} as churned_after_days,
        {{ overdue_limit_days(life.overdue.dormant) }} as dormant_after_days,
        {{ overdue_limit_days(life.overdue.at_risk) }} as at_risk_after_days

    from signals

),

staged as (

    select
        *,
        case
            when frequency = 0 then 'prospect'
            when days_since_first_order <= {{ life.new_within_days }} then 'new'
            when p_alive < {{ life.churned_p_alive_below }} then 'churned'
            {%- for stage in overdue_stages %}
                when
                    days_since_last_order > {{ stage }}_after_days
                    or p_purchase_90d < {{ chance[stage] }}
                    then '{{ stage }}'
            {%- endfor %}
            when frequency = 1 then 'one_time'
            when
                frequency >= {{ life.loyal.min_orders }}
                and (
                    {{ is_one_of('loyalty_grade', life.loyal.loyalty_grades) }}
                    or {{ is_one_of('value_class', life.loyal.value_classes) }}
                    or {{ is_one_of('abc_class', life.loyal.abc_classes) }}
                )
                then 'loyal'
            else 'regular'
        end as lifecycle_stage

    from limited

),

explained as (

    select
        *,
        case lifecycle_stage
            when 'prospect' then 'no order yet'
            when 'new'
                then
                    'first order ' || days_since_first_order || ' days ago (new for '
                    || {{ life.new_within_days }} || ' days)'
            when 'one_time' then 'one order, ' || days_since_last_order || ' days ago'
            when 'loyal'
                then
                    frequency || ' orders, last ' || days_since_last_order || ' days ago; '
                    || concat_ws(
                        ', ',
                        case
                            when {{ is_one_of('loyalty_grade', life.loyal.loyalty_grades) }}
                                then 'loyalty grade ' || loyalty_grade
                        end,
                        case
                            when {{ is_one_of('value_class', life.loyal.value_classes) }}
                                then 'RFM value class ' || value_class
                        end,
                        case
                            when {{ is_one_of('abc_class', life.loyal.abc_classes) }}
                                then 'ABC class ' || abc_class || ' by revenue'
                        end
                    )
            when 'regular'
                then frequency || ' orders, last ' || days_since_last_order || ' days ago'
            else
                case
                    when lifecycle_stage = 'churned' and p_alive < {{ life.churned_p_alive_below }}
                        then
                            'P(alive) ' || round(p_alive, 3) || ' < '
                            || {{ life.churned_p_alive_below }}
                    {%- for stage in overdue_stages %}
                        when
                            lifecycle_stage = '{{ stage }}'
                            and not coalesce(days_since_last_order > {{ stage }}_after_days, false)
                            then
                                'P(purchase in 90 days) ' || round(p_purchase_90d, 3)
                                || ' < {{ chance[stage] }}'
                    {%- endfor %}
                    else
                        days_since_last_order || ' days since the last order > '
                        || cast(round(
                            case lifecycle_stage
                                {%- for stage in overdue_stages %}
                                    when '{{ stage }}' then {{ stage }}_after_days
                                {%- endfor %}
                            end
                        ) as integer)
                        || case
                            when expected_days_between_orders is null
                                then ' (fixed limit: no purchase rhythm from the model)'
                            else
                                ' (limit from the expected '
                                || cast(round(expected_days_between_orders) as integer)
                                || ' days between orders)'
                        end
                end
        end as lifecycle_reason

    from staged

)

select * from explained
