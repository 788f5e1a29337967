//! The `oversight` command. Parsing and wiring only: every command calls into the library crates.

/// polars and DuckDB allocate and free large buffers constantly; glibc's allocator hands them back to the
/// kernel each time (a page fault per page on the next use), which cost more system time than the work itself.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod analyze;
mod cli;
mod commands;
mod config;
mod output;

fn main() -> std::process::ExitCode {
    commands::run(<cli::Cli as clap::Parser>::parse())
}
