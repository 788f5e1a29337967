//! The `oversight` command. Parsing and wiring only: every command calls into the library crates.

/// polars and DuckDB allocate and free large buffers constantly; glibc's allocator hands them back to the
/// kernel each time (a page fault per page on the next use), which cost more system time than the work itself.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod analyze;
mod check;
mod cli;
mod commands;
mod config;
mod output;
mod serve;

fn main() -> std::process::ExitCode {
    quiet_on_closed_pipe();
    commands::run(<cli::Cli as clap::Parser>::parse())
}

/// `oversight series … | head` closes stdout early; `println!` then panics. End quietly with the status a
/// SIGPIPE-killed Unix tool would have (128 + 13), as `cat` or `grep` do, instead of printing a backtrace.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let msg = payload
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| payload.downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}
