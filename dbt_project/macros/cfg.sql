{#- Read one value of the project configuration (config/tiers.yml, passed as the var `tiers`)
    by a dotted path, e.g. cfg('abc.shares.A'). A missing key is a compile error that names it.
    A unit test reads the fixed configuration its expected rows were worked out from
    (unit_test_config.yml, passed as the var `tiers_unit_test`), whatever the user configured. -#}
{% macro cfg(path) -%}
    {%- set in_unit_test = model is defined and model.resource_type == 'unit_test' -%}
    {%- set name = 'tiers_unit_test' if in_unit_test else 'tiers' -%}
    {%- set source = 'unit_test_config.yml' if in_unit_test else 'config/tiers.yml' -%}
    {%- set node = namespace(value=var(name)) -%}
    {%- for part in path.split('.') -%}
        {%- if node.value is mapping and part in node.value -%}
            {%- set node.value = node.value[part] -%}
        {%- else -%}
            {%- set message = "configuration key '" ~ path ~ "' is missing (" ~ source ~ ")" -%}
            {{ exceptions.raise_compiler_error(message) }}
        {%- endif -%}
    {%- endfor -%}
    {{ return(node.value) }}
{%- endmacro %}


{#- A configuration string as a SQL literal, quotes escaped. -#}
{% macro sql_string(value) -%}
    '{{ value | string | replace("'", "''") }}'
{%- endmacro %}
