//! Settings of the indicator jobs.

use serde::{Deserialize, Serialize};

/// How indicators are computed and disclosed. Changing any of these makes the next run a full one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Race/ethnicity group ratios and differences compare with.
    pub reference_group: String,
    /// Counts below this are suppressed in public output (1 to threshold − 1; zero is shown).
    pub suppression_threshold: u32,
    /// Rates with fewer events than this are flagged low-reliability.
    pub min_events: u32,
    /// Rates whose relative standard error exceeds this are flagged low-reliability.
    pub max_rse: f64,
    /// Confidence level of every interval.
    pub confidence: f64,
    /// Countries shown by name in detainer breakdowns (the rest are "other").
    pub top_countries: usize,
    /// A month with fewer records than this (or than half the median month) is flagged.
    pub low_volume_minimum: u32,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            reference_group: "white".into(),
            suppression_threshold: 11,
            min_events: 20,
            max_rse: 0.3,
            confidence: 0.95,
            top_countries: 10,
            low_volume_minimum: 10,
        }
    }
}

/// Settings of the policy-impact and veil-of-darkness analyses (`[analysis]` in the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisConfig {
    /// Fewest complete periods before the event an interrupted time series or DiD accepts.
    pub min_pre_periods: usize,
    /// Fewest complete periods from the event on.
    pub min_post_periods: usize,
    /// The placebo fit pretends the event happened this many periods earlier (pre-event data only).
    pub placebo_shift: usize,
    /// Newey–West lags; none: ⌊4·(T/100)^(2/9)⌋ for T periods.
    pub hac_maxlags: Option<usize>,
    /// Degrees of freedom of the minute-of-day spline in the veil-of-darkness test.
    pub spline_df: usize,
    /// Fewest stops (of the two groups, in the inter-twilight window) the veil-of-darkness test accepts.
    pub min_vod_stops: usize,
    /// Confidence level of every interval.
    pub confidence: f64,
    /// How ITS and DiD intervals are computed: `quasi-ar1` (default) or `hac` (the estimator before).
    pub inference: crate::analysis::Inference,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        Self {
            min_pre_periods: 12,
            min_post_periods: 6,
            placebo_shift: 12,
            hac_maxlags: None,
            spline_df: 6,
            min_vod_stops: 100,
            confidence: 0.95,
            inference: crate::analysis::Inference::QuasiAr1,
        }
    }
}
