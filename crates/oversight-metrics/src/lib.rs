//! oversight-metrics (built by a later issue)
