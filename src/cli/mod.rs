//! Command-line interface: clap definitions (`args.rs`), one module per command group, and
//! the dispatch from a parsed command to its module.

use std::io::IsTerminal;

use crate::config::{Config, FlagValues, ProcessEnv};
use crate::error::{Error, ExitCode, Result};
use crate::report::{EnvelopeSink, Progress, RunReport};

#[macro_use]
mod macros {
    /// Prints a line on stdout. A closed pipe (`mergeward … | head`) is not an error: the
    /// exit code and the result envelope still carry the outcome.
    macro_rules! outln {
        ($($arg:tt)*) => {{
            use std::io::Write as _;
            let mut out = std::io::stdout().lock();
            if let Err(e) = writeln!(out, $($arg)*)
                && e.kind() != std::io::ErrorKind::BrokenPipe
            {
                tracing::warn!("cannot write to stdout: {e}");
            }
        }};
    }
}

mod args;
mod audit_cmd;
mod config_cmd;
pub mod flips_cmd;
mod forge_cmd;
pub mod gate_cmd;
pub mod init_cmd;
mod ledger_cmd;
mod locked;
pub mod queue_cmd;
pub mod queue_page;
mod reap_cmd;
mod sandbox_cmd;
mod sim_cmd;

pub use args::*;

/// `mergeward --version`: the package version and the commit it was built from
/// (`unknown` when built outside a git checkout without `MERGEWARD_BUILD_COMMIT`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("MERGEWARD_COMMIT"),
    ")"
);

impl GlobalArgs {
    fn flag_values(&self) -> FlagValues {
        FlagValues {
            forge: self.forge.clone(),
            url: self.url.clone(),
            repo: self.repo.clone(),
            branch: self.branch.clone(),
            config: self.config.clone(),
            token_env: self.token_env.clone(),
            token_file: self.token_file.clone(),
            ledger: self.ledger.clone(),
        }
    }

    /// The output format: explicit, else json when stdout is not a terminal.
    pub fn format(&self) -> Format {
        self.format.unwrap_or(if std::io::stdout().is_terminal() {
            Format::Text
        } else {
            Format::Json
        })
    }
}

/// Loads the configuration for a command.
pub fn load_config(global: &GlobalArgs) -> Result<Config> {
    let cwd = std::env::current_dir().map_err(|e| Error::Io {
        path: ".".into(),
        message: format!("cannot read the current directory: {e}"),
    })?;
    Config::resolve(&global.flag_values(), &ProcessEnv, &cwd)
}

/// Sets up logging on stderr.
pub fn init_logging(global: &GlobalArgs) {
    let level = if global.quiet {
        "error"
    } else {
        match global.verbose {
            0 => "warn",
            1 => "debug",
            _ => "trace",
        }
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MERGEWARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("mergeward={level}")));
    use std::io::IsTerminal as _;
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// The command's path, e.g. `forge check`.
pub fn command_path(cmd: &Command) -> &'static str {
    match cmd {
        Command::Config(ConfigCommand::Show) => "config show",
        Command::Forge(ForgeCommand::Check { .. }) => "forge check",
        Command::Sim(SimCommand::Serve { .. }) => "sim serve",
        Command::Queue(QueueCommand::Tick { .. }) => "queue tick",
        Command::Queue(QueueCommand::Status) => "queue status",
        Command::Ledger(LedgerCommand::Runs { .. }) => "ledger runs",
        Command::Ledger(LedgerCommand::Show { .. }) => "ledger show",
        Command::Ledger(LedgerCommand::Explain { .. }) => "ledger explain",
        Command::Ledger(LedgerCommand::Export) => "ledger export",
        Command::Ledger(LedgerCommand::Import { .. }) => "ledger import",
        Command::Ledger(LedgerCommand::Migrate) => "ledger migrate",
        Command::Reap { .. } => "reap",
        Command::Gate(GateCommand::Lint { .. }) => "gate lint",
        Command::Gate(GateCommand::Flips { .. }) => "gate flips",
        Command::Audit(AuditCommand::Merge { .. }) => "audit merge",
        Command::Sandbox { .. } => "sandbox",
        Command::Describe => "describe",
        Command::Init { .. } => "init",
        Command::Completions { .. } => "completions",
        Command::Man { .. } => "man",
    }
}

async fn dispatch(
    cli: &Cli,
    report: &mut RunReport,
    format: Format,
    progress: &Progress,
) -> Result<ExitCode> {
    match &cli.command {
        Command::Queue(QueueCommand::Tick { dry_run }) => {
            queue_cmd::tick(&cli.global, *dry_run, format, progress, report).await
        }
        Command::Queue(QueueCommand::Status) => {
            queue_cmd::status(&cli.global, format, progress, report).await
        }
        Command::Ledger(cmd) => ledger_cmd::run(&cli.global, cmd, format, report).await,
        Command::Reap {
            dry_run,
            limit,
            workflows_dir,
        } => {
            let args = reap_cmd::ReapArgs {
                dry_run: *dry_run,
                limit: *limit,
                workflows_dir: workflows_dir.clone(),
            };
            reap_cmd::run(&cli.global, &args, format, progress, report).await
        }
        Command::Gate(GateCommand::Lint {
            paths,
            required_contexts,
            base,
            offline,
        }) => {
            let args = gate_cmd::LintArgs {
                paths: paths.clone(),
                required_contexts: required_contexts.clone(),
                base: base.clone(),
                offline: *offline,
            };
            gate_cmd::lint(&cli.global, &args, format, report).await
        }
        Command::Gate(GateCommand::Flips {
            base,
            head,
            recent,
            trees,
            allow_unproven_non_pr_blocking,
            dry_run,
        }) => {
            let args = flips_cmd::FlipsArgs {
                base: base.clone(),
                head: head.clone(),
                recent: *recent,
                trees: *trees,
                allow_unproven_non_pr_blocking: *allow_unproven_non_pr_blocking,
                dry_run: *dry_run,
            };
            flips_cmd::run(&cli.global, &args, format, report).await
        }
        Command::Audit(AuditCommand::Merge {
            pr,
            required_contexts,
        }) => audit_cmd::merge(&cli.global, *pr, required_contexts, format, report).await,
        Command::Sandbox {
            scenario,
            max_ticks,
            batch,
        } => {
            sandbox_cmd::run(
                &cli.global,
                scenario.as_deref(),
                *max_ticks,
                *batch,
                format,
                report,
            )
            .await
        }
        Command::Config(ConfigCommand::Show) => config_cmd::show(&cli.global, format, report),
        Command::Forge(ForgeCommand::Check { fix }) => {
            forge_cmd::check(&cli.global, format, *fix, report).await
        }
        Command::Sim(SimCommand::Serve { scenario, port }) => {
            sim_cmd::serve(scenario.as_deref(), *port, format).await
        }
        Command::Describe => {
            use clap::CommandFactory;
            print_json(&crate::report::describe::describe(&Cli::command()))?;
            report.outcome = Some("described".into());
            Ok(ExitCode::Success)
        }
        Command::Init { force, dir } => {
            init_cmd::run(&cli.global, dir.as_deref(), *force, format, report)
        }
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "mergeward", &mut out);
            write_stdout(&out)?;
            report.outcome = Some("printed".into());
            Ok(ExitCode::Success)
        }
        Command::Man { dir } => man(dir.as_deref(), report),
    }
}

/// Runs a parsed command line: the command, then the error message, progress events and
/// the result envelope. Returns the exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let format = cli.global.format();
    let mut report = RunReport::new(command_path(&cli.command));
    let fail = |e: &Error| eprintln!("mergeward: error: {e}");
    // Envelope destination first: if it cannot be set up, nothing can be reported there.
    let sink =
        match EnvelopeSink::from_flags(cli.global.result_out.as_deref(), cli.global.result_fd) {
            Ok(s) => s,
            Err(e) => {
                fail(&e);
                return e.exit_code();
            }
        };
    let result = match Progress::new(cli.global.progress_fd, cli.global.quiet) {
        Ok(progress) => {
            progress.emit(
                "run_started",
                serde_json::json!({ "invocation_id": report.invocation_id, "command": report.command }),
            );
            let r = dispatch(&cli, &mut report, format, &progress).await;
            let code = r.as_ref().map_or_else(Error::exit_code, |c| *c);
            progress.emit(
                "run_completed",
                serde_json::json!({ "exit_code": code.code(), "exit_label": code.label(), "outcome": report.outcome }),
            );
            progress.close();
            r
        }
        Err(e) => Err(e),
    };
    let code = match &result {
        Ok(code) => *code,
        Err(e) => {
            fail(e);
            report.fail(e);
            if matches!(format, Format::Json | Format::Jsonl) {
                // A program reading stdout gets the error as JSON too, not an empty stream.
                let _ = print_json(&serde_json::json!({
                    "error": { "code": e.exit_code().label(), "message": e.to_string() },
                    "exit_code": e.exit_code().code(),
                    "exit_label": e.exit_code().label(),
                }));
            }
            e.exit_code()
        }
    };
    if let Some(sink) = sink
        && let Err(e) = sink.write(&report.envelope(code))
    {
        fail(&e);
        if code == ExitCode::Success {
            return e.exit_code();
        }
    }
    code
}

/// Writes bytes to stdout; a closed pipe is not an error.
fn write_stdout(bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::Io {
            path: "stdout".into(),
            message: format!("cannot write: {e}"),
        }),
        _ => Ok(()),
    }
}

/// `mergeward man`: the page of the whole command on stdout, or every page into a directory.
fn man(dir: Option<&std::path::Path>, report: &mut RunReport) -> Result<ExitCode> {
    use clap::CommandFactory;
    let cmd = Cli::command();
    match dir {
        None => {
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd)
                .render(&mut out)
                .map_err(|e| Error::Internal(format!("cannot render the manual page: {e}")))?;
            write_stdout(&out)?;
            report.outcome = Some("printed".into());
        }
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| Error::Io {
                path: dir.display().to_string(),
                message: format!("cannot create the manual directory: {e}"),
            })?;
            clap_mangen::generate_to(cmd, dir).map_err(|e| Error::Io {
                path: dir.display().to_string(),
                message: format!("cannot write the manual pages: {e}"),
            })?;
            outln!("manual pages written to {}", dir.display());
            report.outcome = Some("written".into());
        }
    }
    Ok(ExitCode::Success)
}

/// Writes a JSON value to stdout, one document.
pub(crate) fn print_json(value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Internal(format!("cannot render JSON: {e}")))?;
    outln!("{text}");
    Ok(())
}
