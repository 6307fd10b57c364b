-- Loyalty of every known customer with a survey response on or before the analysis date, from
-- their latest response: the published table of int_customers_loyalty_graded, where the
-- grading lives (so the intermediate models that need the grades never read a mart).

select * from {{ ref('int_customers_loyalty_graded') }}
