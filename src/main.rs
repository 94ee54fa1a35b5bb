//! The `pimwatch` binary: parse arguments, start the runtime, run. Exit codes are in
//! [`pimwatch::cli`]: 0 success, 1 alerts at or above `--fail-on`, 2 the user must act (clap
//! exits 2 for usage errors itself).

use std::process::ExitCode;

use clap::Parser;

/// mimalloc: ingest allocates a JSON tree per record; the system allocator spent ~40% of the
/// ingest profile in malloc/free.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use pimwatch::cli::{run, Cli};

/// Stack for the threads that parse, plan and run SQL: a deep expression (`1+1+…` ten
/// thousand times) is planned without overflowing, and what goes deeper still fails alone.
const STACK_BYTES: usize = 256 << 20;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(STACK_BYTES)
        .build()
    {
        // On a worker thread, not this one: the main thread's stack is the system's 8 MiB.
        Ok(runtime) => runtime.block_on(async {
            tokio::spawn(run(cli)).await.unwrap_or_else(|e| {
                use std::io::Write;
                let _ = writeln!(std::io::stderr(), "error: internal error: {e}");
                ExitCode::from(2)
            })
        }),
        Err(e) => {
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "error: cannot start the async runtime: {e}"
            );
            ExitCode::from(2)
        }
    }
}
