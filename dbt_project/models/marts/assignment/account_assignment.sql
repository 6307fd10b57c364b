-- Account manager (分户) of every customer who is not churned, as of the analysis date, and why:
-- kept (stays with their manager), new (had none), rebalanced (their manager was over
-- capacity, or gave the place to a top-tier customer), manager_inactive (their manager left or
-- is unknown), no_capacity (no active manager had room: listed here, with no staff_id).

with

assignments as (

    select *
    from {{ ref('stg_assignments__account_assignments') }}
    where as_of = (select resolved.as_of from {{ ref('int_as_of_resolved') }} as resolved)

),

tiered as (

    select * from {{ ref('int_customers_tiered') }}

),

staff as (

    select * from {{ ref('stg_shop__staff') }}

),

joined as (

    select
        assignments.customer_id,
        assignments.as_of,
        assignments.staff_id,
        staff.staff_name,
        staff.store_id,
        assignments.assignment_reason as reason,
        assignments.previous_staff_id,
        tiered.tier,
        tiered.tier_weight,
        tiered.lifecycle_stage

    from assignments
    inner join tiered on assignments.customer_id = tiered.customer_id
    left join staff on assignments.staff_id = staff.staff_id

)

select * from joined
