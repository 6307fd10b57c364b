-- Customers per lifecycle stage: the run summary's lifecycle stages.

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

counted as (

    select
        lifecycle_stage,
        lifecycle_stage_zh,
        count(*) as customers

    from tiers
    group by lifecycle_stage, lifecycle_stage_zh

)

select * from counted
