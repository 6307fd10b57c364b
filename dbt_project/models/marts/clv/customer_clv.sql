-- Customer lifetime value, historical and predicted, for every customer with a purchase on or
-- before the analysis date, and when they buy next: the published table of
-- int_customers_clv_joined, where the figures are put together (so the intermediate models
-- that need them never read a mart).

select * from {{ ref('int_customers_clv_joined') }}
