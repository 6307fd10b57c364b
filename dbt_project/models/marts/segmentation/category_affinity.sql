-- Product categories bought together (config/tiers.yml, recommendations): for every ordered
-- pair (antecedent, consequent) of categories, the customers who bought each, both, and
-- support = both / customers with a purchase, confidence = both / bought the antecedent,
-- lift = confidence / share of customers who bought the consequent (above 1: bought together
-- more often than chance). Pairs below recommendations.min_support are left out. Purchases on
-- or before the analysis date (int_customer_categories).

with

bought as (

    select * from {{ ref('int_customer_categories') }}

),

as_of as (

    select * from {{ ref('int_as_of_resolved') }}

),

{{ category_affinity_ctes('all_', 'bought', cfg('recommendations.min_support')) }},

final as (

    select
        as_of.as_of,
        all_affinity.antecedent,
        all_affinity.consequent,
        all_affinity.customers_antecedent,
        all_affinity.customers_consequent,
        all_affinity.customers_both,
        all_affinity.customers_with_purchase,
        all_affinity.support,
        all_affinity.confidence,
        all_affinity.lift

    from all_affinity
    cross join as_of

)

select * from final
