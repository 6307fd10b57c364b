-- Customers per RFM value class (A best to D): the run summary's value classes.

with

rfm as (

    select * from {{ ref('customer_rfm') }}

),

counted as (

    select
        value_class,
        value_class_zh,
        count(*) as customers

    from rfm
    group by value_class, value_class_zh

)

select * from counted
