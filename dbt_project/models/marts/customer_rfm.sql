-- RFM scores, named segments and value classes for every customer with at least one order on
-- or before the analysis date. Scores are quintiles 1-5, 5 best, ties kept together (see the
-- quintile_score macro); segments and value classes follow config/tiers.yml.

with

customers as (

    select * from {{ ref('int_customers_summarized') }}

),

scored as (

    select
        customer_id,
        as_of,
        recency_days,
        frequency,
        monetary,
        {{ quintile_score('recency_days desc') }} as r_score,
        {{ quintile_score('frequency asc') }} as f_score,
        {{ quintile_score('monetary asc') }} as m_score

    from customers

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
