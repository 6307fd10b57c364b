-- Every customer as of the analysis date: the customers export, plus any customer_id that
-- ordered but is missing from it (kept with an empty profile, has_profile = false). A profile
-- that signed up after the analysis date and has not ordered by then is not a customer yet.
-- Name, phone and email are as the load left them: masked, hashed or (when configured) clear.

with

profiles as (

    select * from {{ ref('stg_shop__customers') }}

),

as_of as (

    select * from {{ ref('int_as_of_resolved') }}

),

buyers as (

    -- two columns of the staging view: much cheaper than the costed order lines
    select distinct order_lines.customer_id
    from {{ ref('stg_shop__orders') }} as order_lines
    inner join as_of on order_lines.order_date <= as_of.as_of

),

profiled as (

    select
        profiles.customer_id,
        profiles.customer_name,
        profiles.phone,
        profiles.email,
        profiles.gender,
        profiles.birth_date,
        profiles.city,
        profiles.region,
        profiles.income_band,
        profiles.occupation,
        profiles.signup_date,
        profiles.member_level,
        profiles.account_manager_id,
        profiles.interests,
        true as has_profile

    from profiles
    cross join as_of
    left join buyers on profiles.customer_id = buyers.customer_id
    where
        profiles.signup_date is null
        or profiles.signup_date <= as_of.as_of
        or buyers.customer_id is not null

),

derived as (

    select
        buyers.customer_id,
        cast(null as {{ dbt.type_string() }}) as customer_name,
        cast(null as {{ dbt.type_string() }}) as phone,
        cast(null as {{ dbt.type_string() }}) as email,
        cast(null as {{ dbt.type_string() }}) as gender,
        cast(null as date) as birth_date,
        cast(null as {{ dbt.type_string() }}) as city,
        cast(null as {{ dbt.type_string() }}) as region,
        cast(null as {{ dbt.type_string() }}) as income_band,
        cast(null as {{ dbt.type_string() }}) as occupation,
        cast(null as date) as signup_date,
        cast(null as {{ dbt.type_string() }}) as member_level,
        cast(null as {{ dbt.type_string() }}) as account_manager_id,
        cast(null as {{ dbt.type_string() }}) as interests,
        false as has_profile

    from buyers
    left join profiles on buyers.customer_id = profiles.customer_id
    where profiles.customer_id is null

),

unioned as (

    select * from profiled
    union all
    select * from derived

)

select * from unioned
