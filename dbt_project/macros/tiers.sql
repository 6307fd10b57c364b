-- noqa: disable=LT02
{#- `expression in (values)` that is false, never null, for a missing value or an empty list. -#}
{% macro is_one_of(expression, values) -%}
    {%- if values -%}
        coalesce({{ expression }} in (
            {%- for value in values -%}
                {{ sql_string(value) }}{% if not loop.last %}, {% endif %}
            {%- endfor -%}
        ), false)
    {%- else -%}
        false
    {%- endif -%}
{%- endmacro %}


{#- The value signals of one tier (config/tiers.yml, tiers.levels) that hold, as a count. -#}
{% macro tier_value_signals(level) -%}
    {%- set value = level.value -%}
    (
        cast({{ is_one_of('abc_class', value.abc_classes) if value.abc_classes is not none else 'false' }} as integer)
        + cast({{ is_one_of('value_class', value.value_classes) if value.value_classes is not none else 'false' }} as integer)
        + cast({{ 'coalesce(clv_top_share <= ' ~ value.clv_top_share ~ ', false)' if value.clv_top_share is not none else 'false' }} as integer)
    )
{%- endmacro %}


{#- Whether a customer meets every condition of one tier. -#}
{% macro tier_conditions_hold(level) -%}
    (
        {%- if level.value is not none %}
            {{ tier_value_signals(level) }} >= {{ level.min_value_signals }}
        {%- else %}
            true
        {%- endif %}
        {%- if level.lifecycle_stages is not none %}
            and {{ is_one_of('lifecycle_stage', level.lifecycle_stages) }}
        {%- endif %}
        {%- if level.loyalty_grades is not none %}
            and {{ is_one_of('loyalty_grade', level.loyalty_grades) }}
        {%- endif %}
        {%- if level.exclude_loyalty_grades is not none %}
            and not {{ is_one_of('loyalty_grade', level.exclude_loyalty_grades) }}
        {%- endif %}
    )
{%- endmacro %}


{#- Why a customer meets one tier's conditions, in words: the value signals that held and the
    other conditions. -#}
{% macro tier_reason(level) -%}
    {%- set value = level.value -%}
    {{ sql_string(level.name ~ ': ') }} || concat_ws(
        '; '
        {%- if value is not none and value.abc_classes is not none %},
            case when {{ is_one_of('abc_class', value.abc_classes) }} then 'ABC class ' || abc_class || ' by revenue' end
        {%- endif %}
        {%- if value is not none and value.value_classes is not none %},
            case when {{ is_one_of('value_class', value.value_classes) }} then 'RFM value class ' || value_class end
        {%- endif %}
        {%- if value is not none and value.clv_top_share is not none %},
            case
                when clv_top_share <= {{ value.clv_top_share }}
                    then 'predicted CLV in the top {{ '%g' | format(value.clv_top_share * 100) }}%'
            end
        {%- endif %}
        {%- if level.lifecycle_stages is not none %},
            'stage ' || lifecycle_stage
        {%- endif %}
        {%- if level.loyalty_grades is not none %},
            'loyalty grade ' || loyalty_grade
        {%- endif %}
        {%- if level.exclude_loyalty_grades is not none %},
            coalesce('loyalty grade ' || loyalty_grade, 'no survey answer')
        {%- endif %}
    )
{%- endmacro %}


{#- The resolved playbook of every (tier, lifecycle stage) pair as rows, from the configuration
    (orchestration/config.py resolves the stage adjustments). -#}
{% macro playbook_rows() -%}
    select * from (
        values
        {%- for row in cfg('playbooks.resolved') %}
            (
                {{ sql_string(row.tier) }},
                {{ sql_string(row.stage) }},
                {{ sql_string(row.playbook) }},
                cast({{ row.contact_every_days if row.contact_every_days is not none else 'null' }} as integer),
                {{ sql_string(row.channel) }},
                {{ sql_string(row.benefits) }},
                {{ sql_string(row.care_actions | join('; ')) }}
            ){{ ',' if not loop.last }}
        {%- endfor %}
    ) as playbooks (
        tier, lifecycle_stage, playbook, contact_every_days, channel, benefits, care_actions
    )
{%- endmacro %}


{#- The first day after `after` on the cadence counted from `anchor`: anchor + k x every, k >= 1. -#}
{% macro next_on_cadence(anchor, after, every) -%}
    ({{ anchor }} + cast(({{ every }}) * (floor({{ days_between(anchor, after) }} / ({{ every }})) + 1) as integer))
{%- endmacro %}


{#- The rank of a tier name (0 = the best configured tier), null for a name not configured. -#}
{% macro tier_rank_of(expression) -%}
    case {{ expression }}
    {%- for level in cfg('tiers.levels') %}
        when {{ sql_string(level.name) }} then {{ loop.index0 }}
    {%- endfor %}
    end
{%- endmacro %}


{#- Days since the last order past which a customer is in an overdue stage: factor x their
    expected days between orders, within min_days..max_days; fallback_days without a model. -#}
{% macro overdue_limit_days(limit) -%}
    case
        when expected_days_between_orders is null then {{ limit.fallback_days }}
        else least(
            greatest({{ limit.factor }} * expected_days_between_orders, {{ limit.min_days }}),
            {{ limit.max_days }}
        )
    end
{%- endmacro %}


{#- A churn level's test (config churn.levels): P(alive) below p_alive_below, days since the
    last purchase above overdue_factor x the expected days between purchases, or (when
    p_purchase_90d_below > 0) the chance of any purchase in the next 90 days below it. A
    customer without a prediction meets only the days test. -#}
{% macro churn_level_test(level) -%}
    (
        p_alive < {{ level.p_alive_below }}
        or days_since_last_order > {{ level.overdue_factor }} * expected_days_between_orders
        {%- if level.p_purchase_90d_below > 0 %}
            or p_purchase_90d < {{ level.p_purchase_90d_below }}
        {%- endif %}
    )
{%- endmacro %}
