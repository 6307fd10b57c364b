{{
    config(
        materialized=fact_staging_materialization(),
        on_schema_change='fail',
        post_hook="{{ delete_replaced_loads(source('shop', 'orders')) }}",
    )
}}

with

source as (

    select * from {{ source('shop', 'orders') }} as loaded_rows
    {{ not_yet_staged('loaded_rows') }}

),

renamed as (

    select
        order_id,
        customer_id,
        ordered_at,
        cast(ordered_at as date) as order_date,
        product_id,
        quantity,
        amount,
        cost,
        channel,
        store_id,
        _source_file,
        _row_number,
        _run_id

    from source

)

select * from renamed
