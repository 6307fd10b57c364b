{{
    config(
        materialized=fact_staging_materialization(),
        on_schema_change='fail',
        post_hook="{{ delete_replaced_loads(source('shop', 'feedback')) }}",
    )
}}

with

source as (

    select * from {{ source('shop', 'feedback') }} as loaded_rows
    {{ not_yet_staged('loaded_rows') }}

),

renamed as (

    select
        feedback_id,
        customer_id,
        created_at,
        cast(created_at as date) as feedback_date,
        channel,
        category as feedback_category,
        rating,
        text as feedback_text,
        _source_file,
        _row_number,
        _run_id

    from source

)

select * from renamed
