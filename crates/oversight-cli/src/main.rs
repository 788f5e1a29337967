//! The `oversight` command. Parsing and wiring only: every command calls into the library crates.

/// polars and DuckDB allocate and free large buffers constantly; glibc's allocator hands them back to the
/// kernel each time (a page fault per page on the next use), which cost more system time than the work itself.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// For a long-running server: memory freed is given back to the kernel at once instead of after mimalloc's
/// purge delay. Under a stream of megabyte-sized responses the delayed pages were tens of megabytes of RSS
/// that nothing used; imports and computes (short commands, where reuse matters more) keep the default.
pub(crate) fn return_freed_memory_promptly() {
    /// `mi_option_purge_delay` in mimalloc.h (the Rust binding does not name it).
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: sets one of mimalloc's global options to a value in its documented range; mimalloc reads
    // options atomically, so this is sound with other threads allocating.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
}

mod analyze;
mod check;
mod cli;
mod commands;
mod config;
mod export;
mod logging;
mod operate;
mod output;
mod remote;
mod serve;
mod support;
mod threshold;

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
