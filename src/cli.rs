//! The command line as typed: clap structures, nothing read or checked yet.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Webhooks for self-hosted git: a post-receive hook that sends an event for every branch
/// and tag a push changes (as AtomGit, GitLab, GitHub or Gitea would) to the hooks in the
/// repository's webhooks.toml.
#[derive(Debug, Parser)]
#[command(name = "git-webhooks", version, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args, Clone, Default)]
pub struct Global {
    /// The repository (default: $GIT_DIR, else the current directory)
    #[arg(long, global = true, value_name = "DIR")]
    pub repo: Option<PathBuf>,
    /// Print only problems
    #[arg(long, short, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more: each event and each attempt
    #[arg(long, short, global = true)]
    pub verbose: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The post-receive hook: read `OLD NEW REF` lines on stdin and send their events
    Hook,
    /// Run the hook by hand for one update, or for the stdin lines when none is given
    Replay {
        /// Print each event's body (one JSON document per line) and send nothing
        #[arg(long)]
        dry_run: bool,
        /// The ref's old id (zeros for a creation)
        #[arg(requires_all = ["new", "refname"])]
        old: Option<String>,
        /// The ref's new id (zeros for a deletion)
        new: Option<String>,
        /// The full ref name, e.g. refs/heads/main
        refname: Option<String>,
        /// Credit the replayed push to this user (default: $GIT_WEBHOOKS_USER, else the
        /// account running the command)
        #[arg(long, value_name = "NAME")]
        pusher: Option<String>,
    },
    /// Send a push event for the default branch's latest commits
    Test {
        /// Only this hook (default: every hook that takes push events)
        #[arg(long, value_name = "NAME")]
        hook: Option<String>,
    },
    /// Validate webhooks.toml and list the hooks, secrets masked
    Check,
    /// Send what earlier runs could not deliver
    Redeliver {
        /// List what is pending, one line per delivery, and send nothing
        #[arg(long)]
        dry_run: bool,
        /// Send (or with --dry-run list) the deliveries that receivers refused and that
        /// were set aside as failed, oldest first, with their ids
        #[arg(long)]
        failed: bool,
        /// Every bare repository under ROOT (default: `root` of the system-wide file),
        /// each as its owner when run as root
        #[arg(long, value_name = "ROOT", num_args = 0..=1, conflicts_with = "dry_run")]
        all: Option<Option<PathBuf>>,
    },
    /// Show pending and failed deliveries, backoffs and the last delivery per hook;
    /// exit 1 when a delivery failed
    Status {
        /// Every bare repository under ROOT (default: `root` of the system-wide file)
        #[arg(long, value_name = "ROOT", num_args = 0..=1)]
        all: Option<Option<PathBuf>>,
        /// One JSON document
        #[arg(long, conflicts_with = "prometheus")]
        json: bool,
        /// Prometheus text format, for node_exporter's textfile collector
        #[arg(long)]
        prometheus: bool,
    },
    /// Show recent deliveries
    Log {
        /// How many attempts to show
        #[arg(short = 'n', default_value_t = 20)]
        n: usize,
        /// Print the log's JSON lines
        #[arg(long)]
        json: bool,
    },
    /// Print each webhook request that arrives (event header and pretty JSON body)
    Listen {
        /// Port to listen on
        #[arg(long, default_value_t = 8000)]
        port: u16,
        /// Address to listen on
        #[arg(long, default_value = "127.0.0.1")]
        bind: String,
        /// Exit after this many requests
        #[arg(long)]
        count: Option<usize>,
        /// HTTP status to answer with
        #[arg(long, default_value_t = 200)]
        status: u16,
    },
    /// Show git-webhooks at work: a temporary repository, a push, a local receiver
    Demo,
    /// Deliver a Note Hook or Merge Request Hook body (a file, or - for stdin)
    Send {
        /// The event of the body
        #[arg(long, value_enum)]
        event: SendEvent,
        /// The JSON body
        file: PathBuf,
    },
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff)
    Man,
}

impl Command {
    /// True for the commands that read or write a repository.
    pub fn uses_repository(&self) -> bool {
        !matches!(
            self,
            Command::Listen { .. }
                | Command::Demo
                | Command::Completions { .. }
                | Command::Man
                | Command::Status { .. }
                | Command::Redeliver { all: Some(_), .. }
        )
    }
}

/// Events that `send` delivers.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SendEvent {
    Note,
    #[value(name = "merge_request", alias = "merge-request")]
    MergeRequest,
}
