with

source as (

    select * from {{ source('assignments', 'account_assignment_history') }}

),

renamed as (

    select
        as_of,
        customer_id,
        staff_id,
        previous_staff_id,
        source_manager_id,
        reason as assignment_reason

    from source

)

select * from renamed
