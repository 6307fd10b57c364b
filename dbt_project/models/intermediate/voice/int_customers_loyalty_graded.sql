-- Loyalty of every known customer with a survey response on or before the analysis date, from
-- their latest response (by responded_at, then response_id): NPS group, satisfaction level,
-- repurchase-intent band, whether they would recommend, and the loyalty grade of the first
-- rule in voice.loyalty_grades whose conditions all hold. A missing answer never meets a
-- condition, so the customer falls to the first grade the answers they gave support; the last
-- grade has no condition and takes everyone else. Responses of unknown customer_ids count in
-- nps_summary only.

{%- set voice = cfg('voice') %}
{%- set satisfaction = {} %}
{%- set satisfaction_zh = {} %}
{%- for level in voice.satisfaction_labels %}
    {%- do satisfaction.update({level.level: level.label}) %}
    {%- do satisfaction_zh.update({level.level: level.label_zh}) %}
{%- endfor %}
{%- set grade_labels = {} %}
{%- set grade_labels_zh = {} %}
{%- for rule in voice.loyalty_grades %}
    {%- do grade_labels.update({rule.grade: rule.label}) %}
    {%- do grade_labels_zh.update({rule.grade: rule.label_zh}) %}
{%- endfor %}

with

responses as (

    select * from {{ ref('int_survey_responses_dated') }}

),

ordered as (

    select
        *,
        row_number() over (
            partition by customer_id order by responded_at desc, response_id desc
        ) as response_recency,
        count(*) over (partition by customer_id) as survey_responses

    from responses
    where is_known_customer

),

latest as (

    select
        customer_id,
        as_of,
        response_id as latest_response_id,
        responded_at as latest_responded_at,
        survey_responses,
        nps_score as latest_nps_score,
        nps_group,
        csat_score as satisfaction_level,
        repurchase_intent,
        case
            when repurchase_intent > 70 then '>70%'
            when repurchase_intent >= 30 then '30-70%'
            when repurchase_intent < 30 then '<30%'
        end as repurchase_band,
        recommend,
        coalesce(
            recommend,
            case nps_group
                when 'promoter' then 'yes'
                when 'passive' then 'maybe'
                when 'detractor' then 'no'
            end
        ) as would_recommend,
        rfm_segment,
        value_class

    from ordered
    where response_recency = 1

),

graded as (

    select
        *,
        case
            {%- for rule in voice.loyalty_grades %}
                {%- set conditions = [] %}
                {%- if rule.min_satisfaction is not none %}
                    {%- do conditions.append('satisfaction_level >= ' ~ rule.min_satisfaction) %}
                {%- endif %}
                {%- if rule.repurchase_bands is not none %}
                    {%- set bands = [] %}
                    {%- for band in rule.repurchase_bands %}
                        {%- do bands.append(sql_string(band)) %}
                    {%- endfor %}
                    {%- do conditions.append('repurchase_band in (' ~ bands | join(', ') ~ ')') %}
                {%- endif %}
                {%- if rule.recommend is not none %}
                    {%- set answers = [] %}
                    {%- for answer in rule.recommend %}
                        {%- do answers.append(sql_string(answer)) %}
                    {%- endfor %}
                    {%- do conditions.append('would_recommend in (' ~ answers | join(', ') ~ ')') %}
                {%- endif %}
                {%- if conditions %}
                    when coalesce({{ conditions | join(' and ') }}, false)
                        then {{ sql_string(rule.grade) }}
                {%- else %}
                    else {{ sql_string(rule.grade) }}
                {%- endif %}
            {%- endfor %}
        end as loyalty_grade,
        nullif(
            concat_ws(
                ', ',
                case when latest_nps_score is null then 'nps_score' end,
                case when satisfaction_level is null then 'csat_score' end,
                case when repurchase_intent is null then 'repurchase_intent' end,
                case when recommend is null then 'recommend' end
            ),
            ''
        ) as missing_answers

    from latest

),

final as (

    select
        customer_id,
        as_of,
        latest_response_id,
        latest_responded_at,
        survey_responses,
        latest_nps_score,
        nps_group,
        satisfaction_level,
        case satisfaction_level
            {%- for level, label in satisfaction.items() %}
                when {{ level }} then {{ sql_string(label) }}
            {%- endfor %}
        end as satisfaction_label,
        case satisfaction_level
            {%- for level, label in satisfaction_zh.items() %}
                when {{ level }} then {{ sql_string(label) }}
            {%- endfor %}
        end as satisfaction_label_zh,
        repurchase_intent,
        repurchase_band,
        recommend,
        would_recommend,
        loyalty_grade,
        {{ label_case('loyalty_grade', grade_labels) }} as loyalty_grade_label,
        {{ label_case('loyalty_grade', grade_labels_zh) }} as loyalty_grade_zh,
        missing_answers,
        rfm_segment,
        value_class

    from graded

)

select * from final
