{{ config(meta={'dagster': {'ref': {'name': 'action_ledger'}}}) }}
-- Every customer_actions row, held out or not, is in the action ledger for the run's date with
-- the same experiment and holdout. Rows returned fail the run.

select actions.customer_id
from {{ ref('customer_actions') }} as actions
left join {{ ref('action_ledger') }} as ledger
    on
        actions.as_of = ledger.as_of
        and actions.customer_id = ledger.customer_id
        and actions.action = ledger.action
where
    ledger.customer_id is null
    or ledger.holdout <> actions.holdout
    or coalesce(ledger.experiment_id, '') <> coalesce(actions.experiment_id, '')
