with

source as (

    select * from {{ source('shop', 'customers') }}

),

renamed as (

    select
        customer_id,
        name as customer_name,
        case
            when upper(gender) in ('F', 'FEMALE', '女') then 'F'
            when upper(gender) in ('M', 'MALE', '男') then 'M'
            when gender is null then null
            else 'other'
        end as gender,
        birth_date,
        city,
        region,
        income_band,
        occupation,
        signup_date,
        member_level,
        phone,
        email,
        account_manager_id,
        interests,
        _source_file,
        _row_number

    from source

)

select * from renamed
