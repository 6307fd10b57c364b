-- Customers at risk of churning, as of the analysis date, with what to do about them. A
-- customer is listed at the first risk level (config/tiers.yml, churn.levels) whose test they
-- meet: P(alive) below the level's threshold, or days since the last purchase above the
-- level's factor times their own expected days between purchases. Customers whose predicted
-- value over the next year is below the cost of a win-back action are marked let_go.

{%- set churn = cfg('churn') %}

with

clv as (

    select * from {{ ref('customer_clv') }}

),

measured as (

    select
        customer_id,
        as_of,
        p_alive,
        days_since_last_order,
        expected_days_between_orders,
        predicted_clv_365d,
        -- without a model fit, last year's run rate stands in for the predicted value
        coalesce(predicted_clv_365d, avg_order_value * purchases_per_year) as value_at_stake

    from clv

),

leveled as (

    select
        *,
        case
            {%- for level in churn.levels %}
                when
                    p_alive < {{ level.p_alive_below }}
                    or days_since_last_order > {{ level.overdue_factor }} * expected_days_between_orders
                    then {{ sql_string(level.name) }}
            {%- endfor %}
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
            {%- endfor %}
        end as risk_reason,
        case
            {%- for level in churn.levels %}
                when
                    p_alive < {{ level.p_alive_below }}
                    or days_since_last_order > {{ level.overdue_factor }} * expected_days_between_orders
                    then {{ level.act_within_days }}
            {%- endfor %}
        end as act_within_days

    from measured

),

decided as (

    select
        customer_id,
        as_of,
        risk_level,
        risk_reason,
        p_alive,
        days_since_last_order,
        expected_days_between_orders,
        predicted_clv_365d,
        value_at_stake,
        case
            when value_at_stake >= {{ churn.win_back_cost }} then 'win_back'
            else 'let_go'
        end as action,
        case
            when value_at_stake >= {{ churn.win_back_cost }}
                then as_of + cast(act_within_days as integer)
        end as win_back_deadline

    from leveled
    where risk_level is not null

)

select * from decided
