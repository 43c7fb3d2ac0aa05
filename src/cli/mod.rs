//! Command-line interface: clap definitions, one module per command group.

use std::io::IsTerminal;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::config::{Config, FlagValues, ProcessEnv};
use crate::error::{Error, ExitCode, Result};

mod config_cmd;
mod forge_cmd;
mod sim_cmd;

/// A fail-closed merge queue and CI gate bot for Gitea, Forgejo and GitHub.
///
/// Tokens are never accepted as arguments: put the token in an environment variable
/// (MERGEWARD_TOKEN, GITEA_TOKEN or GITHUB_TOKEN by default; --token-env names another)
/// or in a file (--token-file). Exit codes are listed in SPEC.md.
#[derive(Debug, Parser)]
#[command(
    name = "mergeward",
    version,
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
    /// Output format [default: text on a terminal, json otherwise]
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// More log output on stderr (-v debug, -vv trace)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

/// Output format of a command's result on stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
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
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print every configuration value with its source (flag, env, file, default); secrets as ***
    Show,
}

#[derive(Debug, Subcommand)]
pub enum ForgeCommand {
    /// Read-only diagnostic: server, token, repository, branch, protection, open PRs, missing permissions
    Check,
}

#[derive(Debug, Subcommand)]
pub enum SimCommand {
    /// Run the simulated forge as a standalone server and print its URL
    Serve {
        /// Scenario file (JSON), e.g. fixtures/sim/gitea-basic.json
        #[arg(long, value_name = "FILE")]
        scenario: PathBuf,
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
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

/// Runs a parsed command line; returns the exit code to use.
pub async fn run(cli: Cli) -> Result<ExitCode> {
    let format = cli.global.format();
    match &cli.command {
        Command::Config(ConfigCommand::Show) => config_cmd::show(&cli.global, format),
        Command::Forge(ForgeCommand::Check) => forge_cmd::check(&cli.global, format).await,
        Command::Sim(SimCommand::Serve { scenario, port }) => {
            sim_cmd::serve(scenario, *port, format).await
        }
    }
}

/// Writes a JSON value to stdout, one document.
pub(crate) fn print_json(value: &serde_json::Value) -> Result<()> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Error::Internal(format!("cannot render JSON: {e}")))?;
    println!("{text}");
    Ok(())
}
