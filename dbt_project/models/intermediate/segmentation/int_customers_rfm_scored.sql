-- RFM scores, named segments and value classes for every customer with at least one order on
-- or before the analysis date. Scores are quintiles 1-5, 5 best, ties kept together (see the
-- quintile macros); segments and value classes follow config/tiers.yml.

with

customers as (

    select * from {{ ref('int_customers_summarized') }}

),

cut_points as (

    select
        {{ quintile_cut_points('-recency_days') }} as r_cut_points,
        {{ quintile_cut_points('frequency') }} as f_cut_points,
        {{ quintile_cut_points('monetary') }} as m_cut_points

    from customers

),

scored as (

    select
        customers.customer_id,
        customers.as_of,
        customers.recency_days,
        customers.frequency,
        customers.monetary,
        {{ quintile_score('-customers.recency_days', 'cut_points.r_cut_points') }} as r_score,
        {{ quintile_score('customers.frequency', 'cut_points.f_cut_points') }} as f_score,
        {{ quintile_score('customers.monetary', 'cut_points.m_cut_points') }} as m_score

    from customers
    cross join cut_points

),

classified as (

    select
        customer_id,
        as_of,
        recency_days,
        frequency,
        monetary,
        r_score,
        f_score,
        m_score,
        concat(r_score, f_score, m_score) as rfm_code,
        {{ rfm_segment('r_score', 'f_score') }} as rfm_segment,
        {{ rfm_segment('r_score', 'f_score', field='label_zh') }} as rfm_segment_zh,
        {{ value_class('r_score', 'f_score', 'm_score') }} as value_class

    from scored

),

labelled as (

    select
        *,
        {{ label_case('value_class', cfg('rfm.value_class.labels_zh')) }} as value_class_zh

    from classified

)

select * from labelled
