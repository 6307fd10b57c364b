with

source as (

    select * from {{ source('shop', 'staff') }}

),

renamed as (

    select
        staff_id,
        name as staff_name,
        store_id,
        capacity,
        coalesce(active, true) as is_active

    from source

)

select * from renamed
