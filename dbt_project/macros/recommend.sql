{#-
    The next-best category, as chains of CTEs a model puts in its `with` (each name starts
    with `prefix`), so customer_next_category and next_category_evaluation compute it the same
    way from different purchases. docs/recommendations.md describes the method.
-#}


{#- Category pairs from `bought` (customer_id, category; one row per pair): <prefix>buyers (one
    row: customers with a purchase), <prefix>category_customers (customers per category) and
    <prefix>affinity (ordered pairs at or above min_support). Pairs come from a join of each
    customer's categories with each other (c x (c - 1) rows for a customer of c categories),
    aggregated: linear in customers, never customers x customers. -#}
{% macro category_affinity_ctes(prefix, bought, min_support) -%}
{{ prefix }}buyers as (

    select count(distinct customer_id) as customers_with_purchase
    from {{ bought }}

),

{{ prefix }}category_customers as (

    select
        category,
        count(*) as customers

    from {{ bought }}
    group by category

),

{{ prefix }}pairs as (

    select
        antecedent.category as antecedent,
        consequent.category as consequent,
        count(*) as customers_both

    from {{ bought }} as antecedent
    inner join {{ bought }} as consequent
        on
            antecedent.customer_id = consequent.customer_id
            and antecedent.category <> consequent.category
    group by antecedent.category, consequent.category

),

{{ prefix }}affinity as (

    select
        pairs.antecedent,
        pairs.consequent,
        antecedents.customers as customers_antecedent,
        consequents.customers as customers_consequent,
        pairs.customers_both,
        buyers.customers_with_purchase,
        cast(pairs.customers_both as double) / buyers.customers_with_purchase as support,
        cast(pairs.customers_both as double) / antecedents.customers as confidence,
        (cast(pairs.customers_both as double) / antecedents.customers)
        / (cast(consequents.customers as double) / buyers.customers_with_purchase) as lift

    from {{ prefix }}pairs as pairs
    inner join {{ prefix }}category_customers as antecedents
        on pairs.antecedent = antecedents.category
    inner join {{ prefix }}category_customers as consequents
        on pairs.consequent = consequents.category
    cross join {{ prefix }}buyers as buyers
    where
        cast(pairs.customers_both as double) / buyers.customers_with_purchase
        >= cast({{ min_support }} as double)

)
{%- endmacro %}


{#- The k best categories for each customer of `customers` (customer_id), after
    category_affinity_ctes(prefix, ...): candidates are the consequents of rules from the
    categories the customer `owned` (customer_id, category) and the most popular categories,
    less those `excluded` (customer_id, category). A candidate's score is the confidence of its
    best rule (highest confidence, then lift, then the antecedent's name) when that beats the
    category's popularity (the rule's lift is above 1), else its popularity. Ranked by score,
    then name: <prefix>ranked, every candidate with its recommendation_rank and its
    popularity_rank_for_customer (the most-popular baseline: popularity alone; its first k are
    among the candidates, as every rule-only candidate is less popular than they are). -#}
{% macro next_category_ctes(prefix, customers, owned, excluded, k) -%}
{{ prefix }}rules as (

    select
        owned.customer_id,
        affinity.consequent as category,
        affinity.antecedent,
        affinity.support,
        affinity.confidence,
        affinity.lift,
        row_number() over (
            partition by owned.customer_id, affinity.consequent
            order by affinity.confidence desc, affinity.lift desc, affinity.antecedent asc
        ) as rule_rank

    from {{ owned }} as owned
    inner join {{ prefix }}affinity as affinity on owned.category = affinity.antecedent

),

{{ prefix }}popular as (

    select
        category_customers.category,
        cast(category_customers.customers as double) / buyers.customers_with_purchase as popularity,
        row_number() over (order by category_customers.customers desc, category_customers.category asc)
            as popularity_rank

    from {{ prefix }}category_customers as category_customers
    cross join {{ prefix }}buyers as buyers

),

{{ prefix }}excluded_counts as (

    select
        customer_id,
        count(*) as categories_excluded

    from {{ excluded }}
    group by customer_id

),

-- a customer's first k not-excluded popular categories are among the first k + (excluded)
{{ prefix }}popular_candidates as (

    select
        customers.customer_id,
        popular.category,
        popular.popularity,
        popular.popularity_rank

    from {{ customers }} as customers
    left join {{ prefix }}excluded_counts as excluded_counts
        on customers.customer_id = excluded_counts.customer_id
    inner join {{ prefix }}popular as popular
        on popular.popularity_rank <= {{ k }} + coalesce(excluded_counts.categories_excluded, 0)

),

{{ prefix }}candidates as (

    select
        rules.customer_id,
        rules.category
    from {{ prefix }}rules as rules
    inner join {{ customers }} as customers on rules.customer_id = customers.customer_id
    where rules.rule_rank = 1
    union
    select
        customer_id,
        category
    from {{ prefix }}popular_candidates

),

{{ prefix }}scored as (

    select
        candidates.customer_id,
        candidates.category,
        popular.popularity,
        rules.antecedent,
        rules.support,
        rules.confidence,
        rules.lift,
        case when rules.confidence > popular.popularity then 'affinity' else 'popular' end as basis,
        case
            when rules.confidence > popular.popularity then rules.confidence else popular.popularity
        end as score

    from {{ prefix }}candidates as candidates
    inner join {{ prefix }}popular as popular on candidates.category = popular.category
    left join {{ prefix }}rules as rules
        on
            candidates.customer_id = rules.customer_id
            and candidates.category = rules.category
            and rules.rule_rank = 1
    left join {{ excluded }} as excluded
        on
            candidates.customer_id = excluded.customer_id
            and candidates.category = excluded.category
    where excluded.customer_id is null

),

{{ prefix }}ranked as (

    select
        *,
        row_number() over (partition by customer_id order by score desc, category asc) as recommendation_rank,
        row_number() over (
            partition by customer_id order by popularity desc, category asc
        ) as popularity_rank_for_customer

    from {{ prefix }}scored

)
{%- endmacro %}
