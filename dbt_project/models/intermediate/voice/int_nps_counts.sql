-- Survey answers counted per period (month and quarter) x dimension x dimension value: the
-- counts nps_summary computes its figures from. Every response counts once in each dimension:
-- under `overall` as `all`, and under the customer's RFM segment, value class, ABC class by
-- revenue, home store, main channel and tier, as `unknown` when the customer or their
-- dimension is unknown.

{%- set periods = ['month', 'quarter'] %}
{%- set dimensions = [
    ('overall', "'all'"),
    ('rfm_segment', 'rfm_segment'),
    ('value_class', 'value_class'),
    ('abc_class', 'abc_class'),
    ('store', 'home_store_id'),
    ('channel', 'main_channel'),
    ('tier', 'tier'),
] %}

with

responses as (

    select * from {{ ref('int_survey_responses_dated') }}

),

tiers as (

    select * from {{ ref('int_customers_tiered') }}

),

responses_tiered as (

    select
        responses.*,
        tiers.tier

    from responses
    left join tiers on responses.customer_id = tiers.customer_id

),

by_period as (

    {%- for period_type in periods %}
        select
            '{{ period_type }}' as period_type,
            response_{{ period_type }} as period,
            {{ period_start(period_type, 'response_date') }} as period_start,
            {{ period_end(period_type, 'response_date') }} as period_end,
            *

        from responses_tiered
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

by_dimension as (

    {%- for dimension, expression in dimensions %}
        select
            period_type,
            period,
            period_start,
            period_end,
            as_of,
            '{{ dimension }}' as dimension,
            coalesce({{ expression }}, 'unknown') as dimension_value,
            nps_group,
            csat_score,
            is_satisfied,
            is_known_customer

        from by_period
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}

),

counted as (

    select
        period_type,
        period,
        period_start,
        period_end,
        as_of,
        dimension,
        dimension_value,
        count(*) as survey_responses,
        count(nps_group) as responses,
        count(*) filter (where nps_group = 'promoter') as promoters,
        count(*) filter (where nps_group = 'passive') as passives,
        count(*) filter (where nps_group = 'detractor') as detractors,
        count(csat_score) as csat_responses,
        count(*) filter (where is_satisfied) as csat_satisfied,
        count(nps_group) filter (where not is_known_customer) as unknown_customer_responses

    from by_dimension
    group by period_type, period, period_start, period_end, as_of, dimension, dimension_value

)

select * from counted
