//! The `oversight` command. Parsing and wiring only: every command calls into the library crates.

mod cli;
mod commands;
mod config;
mod output;

fn main() -> std::process::ExitCode {
    commands::run(<cli::Cli as clap::Parser>::parse())
}
