-- One row per customer as of the analysis date with what survey and feedback figures are
-- broken down by: RFM segment and value class (int_customers_rfm_scored), ABC class by revenue
-- (int_customers_abc_classified), the home store and the main channel, and the account
-- manager. The home store is the store where the customer made the most purchase orders on or
-- before as_of, the main channel likewise; a tie goes to the smallest store_id / channel.
-- Customers without a purchase have empty RFM, ABC, store and channel.

with

customers as (

    select * from {{ ref('int_customers_unioned') }}

),

rfm as (

    select * from {{ ref('int_customers_rfm_scored') }}

),

abc as (

    select * from {{ ref('int_customers_abc_classified') }}

),

order_lines as (

    select * from {{ ref('int_order_lines_costed') }}

),

-- purchase lines only: a return made at a store is not a reason to call it home
store_orders as (

    select
        customer_id,
        store_id,
        count(distinct order_id) as orders

    from order_lines
    where amount >= 0 and store_id is not null
    group by customer_id, store_id

),

ranked_stores as (

    select
        customer_id,
        store_id,
        row_number() over (partition by customer_id order by orders desc, store_id asc) as store_rank

    from store_orders

),

home_stores as (

    select
        customer_id,
        store_id as home_store_id

    from ranked_stores
    where store_rank = 1

),

channel_orders as (

    select
        customer_id,
        channel,
        count(distinct order_id) as orders

    from order_lines
    where amount >= 0 and channel is not null
    group by customer_id, channel

),

ranked_channels as (

    select
        customer_id,
        channel,
        row_number() over (partition by customer_id order by orders desc, channel asc) as channel_rank

    from channel_orders

),

main_channels as (

    select
        customer_id,
        channel as main_channel

    from ranked_channels
    where channel_rank = 1

),

joined as (

    select
        customers.customer_id,
        customers.account_manager_id,
        rfm.rfm_segment,
        rfm.value_class,
        rfm.monetary,
        abc.abc_class,
        home_stores.home_store_id,
        main_channels.main_channel

    from customers
    left join rfm on customers.customer_id = rfm.customer_id
    left join abc on customers.customer_id = abc.customer_id and abc.basis = 'revenue'
    left join home_stores on customers.customer_id = home_stores.customer_id
    left join main_channels on customers.customer_id = main_channels.customer_id

)

select * from joined
