-- Who to call back: detractors and low ratings of the last voice.followup_days days up to the
-- analysis date (as_of is day 1 of the window), one row per item, oldest first. A survey item
-- is a customer's latest response on or before as_of when its NPS answer is 0-6 (a response
-- without a customer_id stands alone); a feedback item is one rated at most
-- voice.low_rating_max (int_followup_items_selected). With the customer's tier, value class,
-- ABC class by revenue, net revenue and account manager (the assigned one; the customers
-- file's when none is assigned), so the follow-up can be prioritised and routed, and the
-- customer's main action in the action plan (int_customers_contact_planned) with the day of
-- the contact: empty when nobody calls.

with

items as (

    select * from {{ ref('int_followup_items_selected') }}

),

planned as (

    select * from {{ ref('int_customers_contact_planned') }}

),

customers as (

    select * from {{ ref('int_customer_voice_dimensions') }}

),

final as (

    select
        row_number() over (order by items.item_date, items.item_id, items.item_source) as followup_rank,
        items.item_source,
        items.item_id,
        items.customer_id,
        items.is_known_customer,
        items.item_date,
        items.item_at,
        {{ days_between('items.item_date', 'items.as_of') }} as days_waiting,
        items.score,
        items.score_scale,
        items.feedback_category,
        items.item_text,
        planned.tier,
        planned.tier_label_zh,
        customers.value_class,
        customers.abc_class,
        customers.monetary,
        coalesce(planned.account_manager_id, customers.account_manager_id) as account_manager_id,
        -- the customer's main action in the plan, and whether anyone calls: a win-back covers the
        -- follow-up; let_go, stop-contact and held-out customers are not called
        planned.action as planned_action,
        planned.next_contact_on as contact_on,
        coalesce(planned.holdout, false) as holdout,
        items.as_of

    from items
    left join customers on items.customer_id = customers.customer_id
    left join planned on items.customer_id = planned.customer_id

)

select * from final
