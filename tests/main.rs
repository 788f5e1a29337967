//! Black-box tests of Oversight: the real `oversight` binary (its `serve` on 127.0.0.1 port 0), with a fresh
//! DuckDB file per test. One test binary made of modules, so it links once.

mod helpers;

mod analysis;
mod api;
mod browser;
mod complaint_counts;
mod fixtures;
mod http_cache;
mod import_integrity;
mod import_real_data;
mod import_rules;
mod lake;
mod metrics;
mod ops;
mod pages;
mod replicas;
mod run_it;
mod server;
mod spark;
mod threshold;
