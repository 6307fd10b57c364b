with

source as (

    select * from {{ source('shop', 'products') }}

),

renamed as (

    select
        product_id,
        name as product_name,
        category as product_category,
        unit_cost

    from source

)

select * from renamed
