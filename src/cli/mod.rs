//! Command-line interface: clap definitions, one module per command group.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

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

/// `mergeward --version`: the package version and the commit it was built from
/// (`unknown` when built outside a git checkout without `MERGEWARD_BUILD_COMMIT`).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("MERGEWARD_COMMIT"),
    ")"
);

/// A fail-closed merge queue and CI gate bot for Gitea, Forgejo and GitHub.
///
/// Tokens are never accepted as arguments: put the token in an environment variable
/// (MERGEWARD_TOKEN, GITEA_TOKEN or GITHUB_TOKEN by default; --token-env names another)
/// or in a file (--token-file). Start with `mergeward init` in your repository.
#[derive(Debug, Parser)]
#[command(
    name = "mergeward",
    version = VERSION,
    after_help = "Exit codes: 0 success, 1 violations found, 2 usage or configuration error, \
3 token refused or lacking a permission, 4 not found, 5 could not decide (nothing merged), \
6 another run holds the lock, 70 internal error, 130/143 interrupted. \
`mergeward describe` lists every command's exit codes as JSON.",
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Forge software [env: MERGEWARD_FORGE] [default: gitea]
    #[arg(long, global = true, value_name = "gitea|forgejo|github")]
    pub forge: Option<String>,
    /// Server root for Gitea/Forgejo, API root for GitHub [env: MERGEWARD_URL, GITEA_HOST]
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,
    /// Repository as OWNER/NAME [env: MERGEWARD_REPO, REPO]
    #[arg(long, global = true, value_name = "OWNER/NAME")]
    pub repo: Option<String>,
    /// Base branch [env: MERGEWARD_BRANCH, WATCH_BRANCH] [default: main]
    #[arg(long, global = true, value_name = "NAME")]
    pub branch: Option<String>,
    /// Configuration file [env: MERGEWARD_CONFIG] [default: ./.mergeward.toml if present]
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Name of the environment variable that holds the token
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        conflicts_with = "token_file"
    )]
    pub token_env: Option<String>,
    /// File that holds the token
    #[arg(long, global = true, value_name = "PATH")]
    pub token_file: Option<PathBuf>,
    /// Decision ledger: a SQLite file or postgres://… [env: MERGEWARD_LEDGER] [default: .mergeward/ledger.db]
    #[arg(long, global = true, value_name = "PATH|URL")]
    pub ledger: Option<String>,
    /// Output format [default: text on a terminal, json otherwise]
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// More log output on stderr (-v debug, -vv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Write the result envelope (JSON) to this file, atomically
    #[arg(long, global = true, value_name = "PATH", conflicts_with = "result_fd")]
    pub result_out: Option<PathBuf>,
    /// Write the result envelope to this inherited file descriptor, then close it
    #[arg(long, global = true, value_name = "N")]
    pub result_fd: Option<i32>,
    /// Write progress events (JSON Lines) to this inherited file descriptor
    #[arg(long, global = true, value_name = "N")]
    pub progress_fd: Option<i32>,
}

/// Output format of a command's result on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
    /// JSON Lines (`ledger export`); other commands print JSON
    Jsonl,
    /// SARIF 2.1.0 (`gate lint`, `gate flips`); other commands print JSON
    Sarif,
    /// GitHub workflow commands, `::error file=…,line=…::` (`gate lint`, `gate flips`); other commands print text
    Github,
    /// The queue page as Markdown, for a job summary (`queue status`); other commands print text
    Markdown,
    /// The queue page as one self-contained HTML file (`queue status`); other commands print text
    Html,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Inspect the effective configuration
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Talk to the forge (read-only diagnostics)
    #[command(subcommand)]
    Forge(ForgeCommand),
    /// The simulated forge, for trying mergeward and other clients offline
    #[command(subcommand)]
    Sim(SimCommand),
    /// The merge queue
    #[command(subcommand)]
    Queue(QueueCommand),
    /// The decision ledger: what was decided and done, and why
    #[command(subcommand)]
    Ledger(LedgerCommand),
    /// Compensate Gitea Actions' false reds on the branch's recent commits (status reaper)
    ///
    /// Posts a `success` status with the same context over: failing ` (push)` statuses of
    /// workflows without a push trigger; failing ` (pull_request)` statuses whose ` (push)`
    /// twin succeeded on the same commit; cancelled push runs on commits that are no longer
    /// the head (or whose context later succeeded). Everything else stays as it is.
    Reap {
        /// Decide and report, but send no mutating request
        #[arg(long)]
        dry_run: bool,
        /// Commits swept, newest first [env: MERGEWARD_REAPER_LIMIT] [default: 30]
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1000))]
        limit: Option<u64>,
        /// Checkout root with .gitea/workflows or .github/workflows [env: MERGEWARD_WORKFLOWS_DIR, WORKFLOWS_DIR] [default: read them from the forge at the branch head]
        #[arg(long, value_name = "DIR")]
        workflows_dir: Option<PathBuf>,
    },
    /// Workflow gates: lint workflow files for changes that weaken the merge gate
    #[command(subcommand)]
    Gate(GateCommand),
    /// After the fact: audits of what happened on the forge
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Run the merge queue offline against a simulated forge until its scenario drains
    Sandbox {
        /// Scenario file (JSON) [default: the built-in scenario with 13 PRs]
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
        /// Stop after this many ticks
        #[arg(long, default_value_t = 40)]
        max_ticks: u32,
    },
    /// Describe commands, options, effects and exit codes (machine-readable)
    Describe,
    /// Set mergeward up in a repository: a commented .mergeward.toml and the CI workflows,
    /// then a checklist (token permissions, labels, branch protection contexts)
    ///
    /// The forge is --forge, else guessed from the directory (.github/ without .gitea/ or
    /// .forgejo/ means github; .forgejo/ means forgejo), else gitea. Existing files are
    /// never overwritten without --force (exit 2 naming them; nothing is written).
    Init {
        /// Overwrite files that already exist
        #[arg(long)]
        force: bool,
        /// The repository's root directory [default: .]
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Print a shell completion script on stdout
    ///
    /// e.g. `mergeward completions bash > ~/.local/share/bash-completion/completions/mergeward`
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff) on stdout, or write one page per command into a directory
    ///
    /// e.g. `mergeward man | man -l -`, or `mergeward man --dir /usr/local/share/man/man1`
    Man {
        /// Write mergeward.1 and one page per subcommand (mergeward-queue-tick.1, …) here
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Was every required context green on the head of a merged PR? Exit 1 (and an
    /// `incident.force_merge` event line) when not
    Merge {
        /// The merged pull request
        #[arg(long, value_name = "N")]
        pr: u64,
        /// Required contexts (comma-separated) instead of the base branch's protection
        #[arg(long, value_name = "CTX,...", value_delimiter = ',')]
        required_contexts: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum QueueCommand {
    /// One tick: merge the first proven-ready PR, or update the oldest behind one
    Tick {
        /// Evaluate and record decisions (marked dry-run) but send no mutating request
        #[arg(long)]
        dry_run: bool,
    },
    /// Read-only: every open PR with its queue position, decision and what it waits for
    Status,
}

#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Recent runs, newest first (unfinished runs show their derived state)
    Runs {
        #[arg(long, default_value_t = 20)]
        limit: u32,
    },
    /// One run with its decisions and effects
    Show {
        /// The run id (from `ledger runs`)
        run: String,
    },
    /// The decision chain of a pull request, newest first
    Explain {
        #[arg(long, value_name = "N")]
        pr: u64,
    },
    /// Every run, decision and effect as JSON Lines on stdout
    Export,
    /// Apply pending schema migrations
    Migrate,
}

#[derive(Debug, Subcommand)]
pub enum GateCommand {
    /// Lint workflow files (.gitea/, .forgejo/, .github/workflows of a directory, or given files)
    Lint {
        /// Workflow files or directories [default: .]
        #[arg(value_name = "PATHS")]
        paths: Vec<PathBuf>,
        /// Required status contexts (comma-separated; `*` = every context) instead of reading branch protection
        #[arg(long, value_name = "CONTEXTS", value_delimiter = ',')]
        required_contexts: Option<Vec<String>>,
        /// The base commit of a change: contexts new since it must be declared (context-in-protection)
        #[arg(long, value_name = "REF")]
        base: Option<String>,
        /// Never contact the forge (trackers then cannot be verified: exit 5 if any are referenced)
        #[arg(long)]
        offline: bool,
    },
    /// Verify continue-on-error true→false flips between two commits: each flipped job's
    /// recent runs on the base branch must be genuinely green in their logs. Exit 1 when a
    /// flip is blocked (red, masked, or no runs), 5 when the forge could not be read
    Flips {
        /// The change's base commit (the PR's base SHA)
        #[arg(long, value_name = "SHA")]
        base: String,
        /// The change's head commit (the PR's head SHA)
        #[arg(long, value_name = "SHA")]
        head: String,
        /// Recent commits of the base branch (--branch) searched for runs [env: MERGEWARD_GATES_FLIPS_RECENT, RECENT_COMMITS_N] [default: 5]
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100))]
        recent: Option<u64>,
        /// Where the two trees of workflow files are read from
        #[arg(long, value_enum, default_value_t = flips_cmd::TreeSource::Auto)]
        trees: flips_cmd::TreeSource,
        /// A flipped job with zero runs passes when its workflow has no pull_request trigger (it cannot post a PR-blocking status) [env: MERGEWARD_GATES_FLIPS_ALLOW_UNPROVEN_NON_PR_BLOCKING]
        #[arg(long)]
        allow_unproven_non_pr_blocking: bool,
        /// Report only: blocked flips do not fail the exit code
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every configuration value with its source (flag, env, file, default); secrets as ***
    Show,
}

#[derive(Debug, Subcommand)]
pub enum ForgeCommand {
    /// Diagnostic: server, token and its permissions, repository, branch, protection (and who
    /// posted each required context on the branch head), the queue's labels, open PRs. Reads
    /// only, unless --fix
    Check {
        /// Create the queue's missing labels (hold and queue label) when the token may
        #[arg(long)]
        fix: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Run the simulated forge as a standalone server and print its URL
    Serve {
        /// Scenario file (JSON; its format: the source repository's fixtures/sim/README.md)
        /// [default: the built-in scenario `sandbox` uses]
        #[arg(long, value_name = "FILE")]
        scenario: Option<PathBuf>,
        /// Port on 127.0.0.1 (0 picks a free one)
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
}

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
        } => sandbox_cmd::run(&cli.global, scenario.as_deref(), *max_ticks, format, report).await,
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
