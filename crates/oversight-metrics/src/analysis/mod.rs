//! Analyses run on demand over the metric store and the records: did an indicator change after a policy
//! event (interrupted time series, difference in differences between groups), and are stops of a group less
//! frequent after dark, when officers can see drivers less well (the veil-of-darkness test).
//!
//! The numerics are `oversight-stats` (checked against statsmodels); this module builds the series and
//! samples, applies the guards (enough periods, complete periods only, a placebo, the unknown-race trend) and
//! shapes results for the CLI and the API.

pub mod did;
mod inference;
pub mod its;
mod series;
pub mod threshold;
pub mod vod;

pub use did::{DidRequest, DidResult, did};
pub use inference::Inference;
pub use its::{ItsModel, ItsRequest, ItsResult, its};
pub use series::Effect;

pub use threshold::{ThresholdRequest, ThresholdResult, threshold};
pub use vod::{VodRequest, VodResult, vod};

use crate::MetricsError;
use oversight_stats::regression::FitError;

impl From<FitError> for MetricsError {
    fn from(e: FitError) -> Self {
        MetricsError::Refused(format!("the model cannot be fitted: {e}"))
    }
}
