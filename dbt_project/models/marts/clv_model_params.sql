-- The fitted parameters of this run's BG/NBD and Gamma-Gamma models, one row per parameter.

with

params as (

    select * from {{ ref('stg_predictions__clv_model_params') }}

)

select * from params
