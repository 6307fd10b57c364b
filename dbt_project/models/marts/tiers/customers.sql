-- One wide row per customer for BI: profile, RFM, ABC, lifetime value, loyalty, lifecycle stage,
-- tier and account manager. Customers without an order yet have empty RFM, ABC and CLV columns;
-- customers without a survey answer have empty loyalty columns. Name, phone and email are
-- protected as they were loaded (config/tiers.yml, privacy: masked by default).

with

customers as (

    select * from {{ ref('int_customers_unioned') }}

),

summary as (

    select * from {{ ref('int_customers_summarized') }}

),

rfm as (

    select * from {{ ref('customer_rfm') }}

),

abc as (

    select
        customer_id,
        max(case when basis = 'revenue' then abc_class end) as abc_class_revenue,
        max(case when basis = 'profit' then abc_class end) as abc_class_profit,
        max(case when basis = 'frequency' then abc_class end) as abc_class_frequency

    from {{ ref('customer_abc') }}
    group by customer_id

),

clv as (

    select * from {{ ref('customer_clv') }}

),

loyalty as (

    select * from {{ ref('customer_loyalty') }}

),

tiers as (

    select * from {{ ref('customer_tiers') }}

),

joined as (

    select
        customers.customer_id,
        customers.has_profile,
        customers.customer_name,
        customers.phone,
        customers.email,
        customers.gender,
        customers.birth_date,
        customers.city,
        customers.region,
        customers.income_band,
        customers.occupation,
        customers.signup_date,
        customers.member_level,
        customers.account_manager_id as profile_account_manager_id,
        customers.interests,
        summary.first_order_date,
        summary.last_order_date,
        coalesce(summary.frequency, 0) as frequency,
        coalesce(summary.monetary, 0) as monetary,
        coalesce(summary.profit, 0) as profit,
        rfm.recency_days,
        rfm.r_score,
        rfm.f_score,
        rfm.m_score,
        rfm.rfm_code,
        rfm.rfm_segment,
        rfm.rfm_segment_zh,
        rfm.value_class,
        rfm.value_class_zh,
        abc.abc_class_revenue,
        abc.abc_class_profit,
        abc.abc_class_frequency,
        clv.historical_clv,
        clv.p_alive,
        clv.expected_purchases_365d,
        clv.predicted_clv_365d,
        loyalty.latest_nps_score,
        loyalty.nps_group,
        loyalty.satisfaction_level,
        loyalty.repurchase_band,
        loyalty.loyalty_grade,
        loyalty.loyalty_grade_zh,
        tiers.lifecycle_stage,
        tiers.lifecycle_stage_zh,
        tiers.tier,
        tiers.tier_label_zh,
        tiers.tier_reason,
        tiers.playbook,
        tiers.next_contact_on,
        tiers.account_manager_id

    from customers
    left join summary on customers.customer_id = summary.customer_id
    left join rfm on customers.customer_id = rfm.customer_id
    left join abc on customers.customer_id = abc.customer_id
    left join clv on customers.customer_id = clv.customer_id
    left join loyalty on customers.customer_id = loyalty.customer_id
    left join tiers on customers.customer_id = tiers.customer_id

)

select * from joined
