-- Customers and revenue per RFM segment: the run summary's segment list and the report's
-- segment chart (customer_rfm, customers with a purchase).

with

rfm as (

    select * from {{ ref('customer_rfm') }}

),

counted as (

    select
        rfm_segment,
        rfm_segment_zh,
        count(*) as customers,
        sum(monetary) as revenue

    from rfm
    group by rfm_segment, rfm_segment_zh

),

shared as (

    select
        rfm_segment,
        rfm_segment_zh,
        customers,
        revenue,
        cast(revenue as double)
        / nullif(cast(sum(revenue) over () as double), 0) as revenue_share

    from counted

)

select * from shared
