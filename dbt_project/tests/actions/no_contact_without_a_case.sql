{{ config(meta={'dagster': {'ref': {'name': 'customer_actions'}}}) }}
-- No let_go, unassigned or stop-contact customer, and no customer held out of an experiment,
-- gets a contact: none in care_calendar, no next contact in customer_tiers, no action that is
-- not held out in customer_actions. A churned customer is never win_back without an account
-- manager. Rows returned fail the run.

{%- set stop_stages = [] %}
{%- for stage, adjust in cfg('playbooks.stages').items() %}
    {%- if adjust.stop_contact %}{% do stop_stages.append(stage) %}{% endif %}
{%- endfor %}

with

planned as (

    select * from {{ ref('int_customers_contact_planned') }}

),

silent as (

    select customer_id
    from planned
    where
        churn_action in ('let_go', 'unassigned')
        or {{ is_one_of('lifecycle_stage', stop_stages) }}
        or holdout

),

contacted as (

    select customer_id from {{ ref('care_calendar') }}
    union all
    select customer_id
    from {{ ref('customer_tiers') }}
    where next_contact_on is not null
    union all
    select customer_id
    from {{ ref('customer_actions') }}
    where not holdout

)

select silent.customer_id
from silent
inner join contacted on silent.customer_id = contacted.customer_id
union all
select customer_id
from {{ ref('churn_watchlist') }}
where lifecycle_stage = 'churned' and action = 'win_back' and account_manager_id is null
