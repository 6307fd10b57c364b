-- Customers and revenue per tier, best tier first by tier_rank: the run summary's tiers, the
-- report's tier chart and the report's tier labels. Revenue is customer_rfm.monetary; customers
-- without a purchase count as customers and bring none.

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

rfm as (

    select * from {{ ref('customer_rfm') }}

),

counted as (

    select
        tiers.tier,
        max(tiers.tier_label_zh) as tier_label_zh,
        min(tiers.tier_rank) as tier_rank,
        count(*) as customers,
        coalesce(sum(rfm.monetary), 0) as revenue

    from tiers
    left join rfm on tiers.customer_id = rfm.customer_id
    group by tiers.tier

),

shared as (

    select
        tier,
        tier_label_zh,
        tier_rank,
        customers,
        revenue,
        cast(revenue as double)
        / nullif(cast(sum(revenue) over () as double), 0) as revenue_share

    from counted

)

select * from shared
