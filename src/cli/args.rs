//! The clap definitions: [`Cli`], the options every command accepts ([`GlobalArgs`]) and
//! the command tree. `--help`, `mergeward completions` and `mergeward man` come from here.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::*;

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
        /// Batch mode (queue.mode = "batch"): the built-in scenario is a git-backed one with
        /// simulated CI, and each tick is 5 minutes of the simulator's clock
        #[arg(long)]
        batch: bool,
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
    /// Load JSON Lines written by `ledger export` (a file, or stdin with `-`) into this
    /// ledger, e.g. CI's ledger into a local one to run `ledger explain` on it
    Import {
        /// The export file, or `-` for stdin
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
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
