-- The analysis date of this run: --as-of when given, else the day of the latest order.
-- Everything time-based in the marts is computed as of this one day, so reruns reproduce.

with

order_lines as (

    select * from {{ ref('stg_shop__orders') }}

),

resolved as (

    select
        coalesce({{ as_of_literal() }}, max(order_date)) as as_of,
        {{ as_of_literal() }} is null as is_default

    from order_lines

)

select * from resolved
