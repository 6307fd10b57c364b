-- Customers of the churn watch list per risk level and action: the run summary's churn list.

with

watchlist as (

    select * from {{ ref('churn_watchlist') }}

),

counted as (

    select
        risk_level,
        action,
        count(*) as customers

    from watchlist
    group by risk_level, action

)

select * from counted
