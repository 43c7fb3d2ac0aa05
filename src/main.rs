//! The mergeward binary: parse arguments, run, map the result to an exit code.

use clap::Parser;
use mergeward::cli::{self, Cli};
use mergeward::error::ExitCode;

fn main() -> std::process::ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap's own usage errors share the usage exit code; --help/--version succeed.
            let code = if e.use_stderr() {
                ExitCode::Usage
            } else {
                ExitCode::Success
            };
            return std::process::ExitCode::from(code.code());
        }
    };
    cli::init_logging(&cli.global);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("mergeward: error: cannot start the async runtime: {e}");
            return std::process::ExitCode::from(ExitCode::Internal.code());
        }
    };
    let code = runtime.block_on(cli::run(cli));
    std::process::ExitCode::from(code.code())
}
