-- RFM scores, named segments and value classes for every customer with at least one order on
-- or before the analysis date: the published table of int_customers_rfm_scored, where the
-- scoring lives (so the intermediate models that need the segments never read a mart).

select * from {{ ref('int_customers_rfm_scored') }}
