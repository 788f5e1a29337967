//! oversight-api (built by a later issue)
