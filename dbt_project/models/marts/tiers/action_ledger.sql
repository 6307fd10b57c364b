{%- set on_spark = target.type == 'spark' %}
{{
    config(
        materialized='incremental',
        incremental_strategy='insert_overwrite' if on_spark else 'delete+insert',
        partition_by=['as_of'] if on_spark else none,
        unique_key=none if on_spark else 'as_of',
        full_refresh=false,
        pre_hook="{{ clear_this_as_of() }}",
    )
}}
-- depends_on: {{ ref('int_as_of_resolved') }}
-- What was asked of whom: every run's customer_actions, one row per (as_of, customer_id,
-- action), held-out customers included, so action_effects can compare the treated with the
-- held out. Append-only like tier_history: each run adds its date; rerunning a date replaces
-- that date's rows, and removes them when the rerun has none (the pre-hook clear_this_as_of,
-- then delete+insert on as_of; on Spark the as_of partition dropped and written); a failed
-- run publishes nothing, so the ledger stays as it was. Kept across runs in the
-- published warehouse and through `dbt build --full-refresh` (full_refresh=false).

with

actions as (

    select * from {{ ref('customer_actions') }}

),

ledger as (

    select
        customer_id,
        action,
        experiment_id,
        holdout,
        due_on,
        staff_id,
        value_at_stake,
        -- last: Spark needs a partition column at the end of its table
        as_of

    from actions

)

select * from ledger
