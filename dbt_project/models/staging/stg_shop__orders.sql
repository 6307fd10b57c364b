with

source as (

    select * from {{ source('shop', 'orders') }}

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
        _row_number

    from source

)

select * from renamed
