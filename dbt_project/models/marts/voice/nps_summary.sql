-- Net Promoter Score and CSAT per period (month, quarter) x dimension x dimension value, as of
-- the analysis date, with a 95% margin of error and a z test against the previous period (the
-- formulas: macros/voice.sql, nps_figures). The dimensions are overall, RFM segment, value
-- class, ABC class, store and channel (int_nps_counts); by tier: nps_by_tier.

{{ nps_figures(ref('int_nps_counts')) }}
