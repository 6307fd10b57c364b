-- Net Promoter Score and CSAT per period (month, quarter) x tier, as of the analysis date: the
-- figures and columns of nps_summary (macros/voice.sql, nps_figures) for dimension `tier`.
-- Apart from nps_summary because the tiers wait for the CLV fit and the other voice figures
-- do not.

{{ nps_figures(ref('int_nps_tier_counts')) }}
