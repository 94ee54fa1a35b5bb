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

fn main() -> ExitCode {
    let cli = Cli::parse();
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run(cli)),
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
