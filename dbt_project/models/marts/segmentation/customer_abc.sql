-- ABC (Pareto) classes of customers by revenue, profit and frequency: the published table of
-- int_customers_abc_classified, where the classification lives (so the intermediate models
-- that need the classes never read a mart).

select * from {{ ref('int_customers_abc_classified') }}
