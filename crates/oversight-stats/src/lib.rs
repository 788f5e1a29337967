//! Pure numerics of Oversight: rate and ratio confidence intervals (Wilson, Katz log, Poisson log-Wald),
//! OLS and GLMs (Poisson, logistic) by IRLS with Newey–West (HAC) and Driscoll–Kraay covariances, natural
//! cubic regression splines, and sunset/civil-dusk times for the veil-of-darkness test. Every method is
//! checked in tests against reference values from statsmodels, patsy, scipy or astral, with the scripts that
//! produced them beside the tests.
//!
//! No IO, no DuckDB, no polars: plain functions over slices and small matrices, quick to compile and test.

pub mod intervals;
pub mod regression;
pub mod solar;
pub mod spline;
