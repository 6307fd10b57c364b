-- The combined tier (客户分层) of every customer, by the rules of config/tiers.yml (tiers.levels):
-- the first tier, best first, whose conditions all hold. tier_reason says in words which
-- signals put the customer there.

{%- set levels = cfg('tiers.levels') %}

with

lifecycled as (

    select * from {{ ref('int_customers_lifecycled') }}

),

clv_counts as (

    select
        'predicted' as clv_group,
        predicted_clv_365d,
        count(*) as customers

    from lifecycled
    where predicted_clv_365d is not null
    group by predicted_clv_365d

),

clv_cumulative as (

    {{ cumulative_from_top('clv_counts', 'clv_group', 'predicted_clv_365d', ['customers']) }}

),

clv_ranked as (

    -- a customer is in the top share s when the customers predicted at least as much as them
    -- are no more than s of everyone with a prediction (ties never split, as in ABC)
    select
        lifecycled.customer_id,
        cast(clv_cumulative.customers_at_or_above as double)
        / clv_cumulative.customers_in_group as clv_top_share

    from lifecycled
    inner join clv_cumulative
        on lifecycled.predicted_clv_365d = clv_cumulative.predicted_clv_365d

),

signals as (

    select
        lifecycled.*,
        clv_ranked.clv_top_share

    from lifecycled
    left join clv_ranked on lifecycled.customer_id = clv_ranked.customer_id

),

tiered as (

    select
        *,
        case
            {%- for level in levels %}
                when {{ tier_conditions_hold(level) }} then {{ loop.index0 }}
            {%- endfor %}
        end as tier_rank

    from signals

),

described as (

    select
        customer_id,
        as_of,
        tier_rank,
        case tier_rank
            {%- for level in levels %}
                when {{ loop.index0 }} then {{ sql_string(level.name) }}
            {%- endfor %}
        end as tier,
        case tier_rank
            {%- for level in levels %}
                when {{ loop.index0 }} then {{ sql_string(level.label_zh) }}
            {%- endfor %}
        end as tier_label_zh,
        case tier_rank
            {%- for level in levels %}
                when {{ loop.index0 }} then {{ level.weight }}
            {%- endfor %}
        end as tier_weight,
        case tier_rank
            {%- for level in levels %}
                {%- if level.value is not none or level.lifecycle_stages is not none
                    or level.loyalty_grades is not none or level.exclude_loyalty_grades is not none %}
                    when {{ loop.index0 }} then {{ tier_reason(level) }}
                {%- endif %}
            {%- endfor %}
            else
                {{ sql_string(levels[-1].name ~ ": no higher tier's rules met (") }}
                || concat_ws(
                    ', ',
                    coalesce('ABC class ' || abc_class || ' by revenue', 'no ABC class'),
                    coalesce('RFM value class ' || value_class, 'no RFM value class'),
                    'predicted CLV '
                    || coalesce(
                        'in the top ' || cast(ceil(round(clv_top_share * 100, 6)) as integer) || '%',
                        'unknown'
                    ),
                    'stage ' || lifecycle_stage,
                    coalesce('loyalty grade ' || loyalty_grade, 'no survey answer')
                )
                || ')'
        end as tier_reason,
        lifecycle_stage,
        lifecycle_reason,
        frequency,
        monetary,
        first_order_date,
        last_order_date,
        days_since_last_order,
        expected_days_between_orders,
        p_alive,
        predicted_clv_365d,
        clv_top_share,
        value_class,
        abc_class,
        loyalty_grade,
        birth_date,
        region,
        interests,
        signup_date,
        profile_account_manager_id,
        -- inside a tier, who comes first for an account manager with little room
        coalesce(predicted_clv_365d, monetary) as priority_value

    from tiered

)

select * from described
