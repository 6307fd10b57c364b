{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='as_of',
        full_refresh=false,
    )
}}
-- One snapshot of every customer's tier and lifecycle stage per analysis date. Each run adds
-- its date; rerunning a date replaces that date's rows (delete+insert on as_of). History is
-- kept across runs in the published warehouse and survives `dbt build --full-refresh`
-- (full_refresh=false): drop the table by hand to start over.

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

snapshot as (

    select
        customer_id,
        as_of,
        tier,
        tier_rank,
        lifecycle_stage,
        account_manager_id

    from tiers

)

select * from snapshot
