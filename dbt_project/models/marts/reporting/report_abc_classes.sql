-- Customers and value per ABC class and basis, with the class's share of the basis total: the
-- run summary's ABC classes by revenue.

with

abc as (

    select * from {{ ref('customer_abc') }}

),

counted as (

    select
        basis,
        abc_class,
        abc_class_zh,
        count(*) as customers,
        sum(value) as value

    from abc
    group by basis, abc_class, abc_class_zh

),

shared as (

    select
        basis,
        abc_class,
        abc_class_zh,
        customers,
        value,
        cast(value as double)
        / nullif(cast(sum(value) over (partition by basis) as double), 0) as value_share

    from counted

)

select * from shared
