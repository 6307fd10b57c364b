{%- set on_spark = target.type == 'spark' %}
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite' if on_spark else 'delete+insert',
        partition_by=['as_of'] if on_spark else none,
        unique_key=none if on_spark else 'as_of',
        full_refresh=false,
    )
}}
-- One snapshot of every customer's tier and lifecycle stage per analysis date. Each run adds
-- its date; rerunning a date replaces that date's rows (delete+insert on as_of; on Spark,
-- where Parquet tables have no DELETE, an overwrite of the as_of partition). History is kept
-- across runs in the published warehouse and survives `dbt build --full-refresh`
-- (full_refresh=false): drop the table by hand to start over.

with

tiers as (

    select * from {{ ref('customer_tiers') }}

),

snapshot as (

    select
        customer_id,
        tier,
        tier_rank,
        lifecycle_stage,
        account_manager_id,
        -- last: Spark needs a partition column at the end of its table
        as_of

    from tiers

)

select * from snapshot
