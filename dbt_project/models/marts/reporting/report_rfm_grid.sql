-- Customers and revenue per cell of the R x F grid, with the cell's segment: the report's RFM
-- heat maps. Only the cells that hold a customer have a row.

with

rfm as (

    select * from {{ ref('customer_rfm') }}

),

cells as (

    select
        r_score,
        f_score,
        rfm_segment,
        rfm_segment_zh,
        count(*) as customers,
        sum(monetary) as revenue

    from rfm
    group by r_score, f_score, rfm_segment, rfm_segment_zh

)

select * from cells
