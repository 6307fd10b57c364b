{#- The control-group draw of a customer in an experiment: md5 of customer_id, experiment_id
    and the configured salt, its first 8 hex digits as a fraction in [0, 1). The same inputs
    give the same fraction on both engines, every run and every day (docs/actions.md). -#}
{% macro holdout_fraction(customer_id, experiment_id) -%}
    {{ return(adapter.dispatch('holdout_fraction', 'customer_tiers')(customer_id, experiment_id)) }}
{%- endmacro %}

{% macro default__holdout_fraction(customer_id, experiment_id) -%}
    (
        cast(
            '0x' || substr(
                md5({{ customer_id }} || '|' || {{ experiment_id }} || '|' || {{ sql_string(cfg('actions.experiments.salt')) }}),
                1, 8
            ) as bigint
        ) / 4294967296.0
    )
{%- endmacro %}

{% macro spark__holdout_fraction(customer_id, experiment_id) -%}
    (
        cast(
            conv(
                substr(
                    md5(concat({{ customer_id }}, '|', {{ experiment_id }}, '|', {{ sql_string(cfg('actions.experiments.salt')) }})),
                    1, 8
                ),
                16, 10
            ) as bigint
        ) / 4294967296.0
    )
{%- endmacro %}


{#- The previous run's measured lift of each action (marts.action_effects, written by the
    Python asset after dbt, so a run reads what the run before it measured): the pooled row of
    an action when significant at actions.economics.significance with its interval above 0.
    Without that table (the first run, a new warehouse) no lift is measured. Read by name, not
    as a dbt source, so the asset graph has no cycle. Columns: action, measured_lift. -#}
{% macro measured_lifts() -%}
    {%- set economics = cfg('actions.economics') -%}
    {%- set effects = none -%}
    {%- if execute and model.resource_type != 'unit_test' -%}
        {%- set effects = adapter.get_relation(
            database=this.database, schema='marts', identifier='action_effects'
        ) -%}
    {%- endif -%}
    {%- if effects is not none %}
        select
            action,
            max(lift) as measured_lift
        from {{ effects }}
        where
            as_of is null
            and p_value < {{ economics.significance }}
            and lift_ci_low > 0
        group by action
    {%- else %}
        select
            cast(null as {{ dbt.type_string() }}) as action,
            cast(null as double) as measured_lift
        where 1 = 0
    {%- endif %}
{%- endmacro %}
