//! The commands: each parses its arguments, calls the layers below and prints what they
//! return. [`run`] is the one place that turns a command into an exit code.

pub mod check;
mod demo;
mod fleet;
mod hook;
mod listen;
mod log;
pub mod output;
mod redeliver;
mod send;
mod status;
mod test;

use std::collections::BTreeMap;
use std::fmt;
use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::CommandFactory;
use git2::Repository;

use crate::cli::{Cli, Command, Global};
use crate::config::{self, Config};
use crate::delivery::log::Record;
use crate::delivery::outbox::Trigger;
use crate::git::pusher::{Pusher, User};
use crate::push::{Level, Outcome, Site};
use output::Output;

/// Runs one command; the result is the process's exit code.
pub fn run(global: Global, command: Command) -> u8 {
    // The budget counts from here: building events is part of what the pusher waits for.
    let started = Instant::now();
    let out = Output::new(global.quiet, global.verbose);
    match command {
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "git-webhooks", &mut script);
            // A closed pipe (`| head`) is not an error worth a message.
            let _ = std::io::stdout().write_all(&script);
            0
        }
        Command::Man => match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
            Ok(()) => 0,
            Err(e) => fail(&out, &format!("cannot write the man page: {e}")),
        },
        Command::Listen {
            port,
            bind,
            count,
            status,
        } => listen::run(&bind, port, count, status, &out),
        Command::Demo => demo::run(&out),
        Command::Status { all, json, prometheus } => {
            let format = match (json, prometheus) {
                (true, _) => status::Format::Json,
                (_, true) => status::Format::Prometheus,
                _ => status::Format::Text,
            };
            status::run(global.repo.as_deref(), all, format, &out)
        }
        Command::Redeliver {
            all: Some(root),
            failed,
            ..
        } => fleet::redeliver_all(root, failed, &out),
        command => {
            let is_hook = matches!(command, Command::Hook);
            let repo = match open_repository(global.repo.as_deref()) {
                Ok(r) => r,
                // A hook's exit code changes nothing for the push; say what is wrong and go.
                // (Hooks run with GIT_DIR=., so this names no server path.)
                Err(e) => {
                    let code = fail(&out, &e.to_string());
                    return if is_hook { 0 } else { code };
                }
            };
            let ctx = Context {
                site: Site::new(repo, started),
                out,
                pusher: None,
                for_pusher: is_hook,
            };
            match command {
                Command::Hook => {
                    hook::push(&ctx, &read_stdin(&ctx.out), Trigger::Push);
                    0
                }
                Command::Replay {
                    dry_run,
                    old,
                    new,
                    refname,
                    pusher,
                } => {
                    let ctx = Context { pusher, ..ctx };
                    let input = match (old, new, refname) {
                        (Some(o), Some(n), Some(r)) => format!("{o} {n} {r}\n").into_bytes(),
                        _ => read_stdin(&ctx.out),
                    };
                    match dry_run {
                        true => hook::dry_run(&ctx, &input),
                        false => hook::push(&ctx, &input, Trigger::Replay),
                    }
                }
                Command::Test { hook } => test::run(&ctx, hook.as_deref()),
                Command::Check => check::run(&ctx),
                Command::Redeliver { dry_run, failed, .. } => redeliver::run(&ctx, dry_run, failed),
                Command::Log { n, json } => log::run(&ctx, n, json),
                Command::Send { event, file } => send::run(&ctx, event, &file),
                _ => unreachable!("handled above"),
            }
        }
    }
}

/// Prints lines on stdout; a reader that went away (`| head`) just ends the output.
fn print_lines(lines: impl IntoIterator<Item = String>) -> u8 {
    let mut stdout = std::io::stdout().lock();
    for line in lines {
        if writeln!(stdout, "{}", line.trim_end_matches('\n')).is_err() {
            break;
        }
    }
    0
}

fn fail(out: &Output, message: &str) -> u8 {
    out.error(message);
    1
}

fn read_stdin(out: &Output) -> Vec<u8> {
    use std::io::IsTerminal;
    if std::io::stdin().is_terminal() {
        out.info("reading `OLD NEW REFNAME` lines from the terminal; end with Ctrl-D");
    }
    let mut input = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut input) {
        out.error(&format!("cannot read stdin: {e}"));
    }
    input
}

/// Why a repository could not be opened.
#[derive(Debug)]
enum OpenError {
    /// Another account owns it and `safe.directory` does not name it.
    Owner {
        path: PathBuf,
        owner: String,
        me: String,
    },
    /// It uses SHA-256 object ids.
    Sha256 {
        path: PathBuf,
    },
    NotARepository {
        path: PathBuf,
        why: String,
    },
    Other {
        path: PathBuf,
        why: String,
    },
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpenError::Owner { path, owner, me } => write!(
                f,
                "{} belongs to {owner}, not to {me}: run git-webhooks as {owner} (sudo -u {owner} git-webhooks …), \
                 or trust the repository with `git config --global --add safe.directory {}`",
                path.display(),
                path.display()
            ),
            OpenError::Sha256 { path } => write!(
                f,
                "{} uses SHA-256 object ids, which git-webhooks cannot read yet; no events are sent for it",
                path.display()
            ),
            OpenError::NotARepository { path, why } => {
                write!(f, "{} is not a git repository ({why}); use --repo DIR", path.display())
            }
            OpenError::Other { path, why } => write!(f, "cannot open the repository {}: {why}", path.display()),
        }
    }
}

/// Opens `--repo`, else `$GIT_DIR`, else the current directory.
fn open_repository(flag: Option<&Path>) -> Result<Repository, OpenError> {
    let path = flag
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("GIT_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."));
    Repository::open(&path).map_err(|e| {
        let why = e.message().to_string();
        // libgit2 reports an unknown `extensions.objectformat` only in its message.
        let sha256 = why.contains("object format") || why.contains("objectformat");
        match e.code() {
            git2::ErrorCode::Owner => {
                let owner = std::fs::metadata(&path).map(|m| crate::owner::name_of(m.uid()));
                let me = crate::owner::effective_uid().map(crate::owner::name_of);
                OpenError::Owner {
                    path,
                    owner: owner.unwrap_or_default(),
                    me: me.unwrap_or_default(),
                }
            }
            _ if sha256 => OpenError::Sha256 { path },
            git2::ErrorCode::NotFound => OpenError::NotARepository { path, why },
            _ => OpenError::Other { path, why },
        }
    })
}

/// One repository, and how to talk to whoever runs the command.
pub(crate) struct Context {
    site: Site,
    out: Output,
    /// Who a replayed push is credited to, when not the environment's pusher.
    pusher: Option<String>,
    /// The run is the hook: what it prints goes to whoever pushed.
    for_pusher: bool,
}

impl Context {
    /// The pusher of this run, with email and id from `[users.NAME]`.
    fn pusher(&self, users: &BTreeMap<String, User>) -> Pusher {
        match &self.pusher {
            Some(name) => Pusher::named(name.clone(), users),
            None => Pusher::from_env(users),
        }
    }

    /// The config, or `None` after printing each of its errors (to a pusher, only how
    /// many: the errors name server paths and the administrator sees them with `check`).
    fn config(&self) -> Option<Config> {
        match config::load(self.site.git_dir()) {
            Ok(config) => Some(config),
            Err(errors) if self.for_pusher => {
                self.out.error(&format!(
                    "the repository's webhook configuration has {} error(s); an administrator sees them with `git-webhooks check`",
                    errors.0.len()
                ));
                None
            }
            Err(errors) => {
                for e in &errors.0 {
                    self.out.error(&e.to_string());
                }
                None
            }
        }
    }

    /// Prints what a run did; the exit code is 1 when an endpoint failed.
    fn show(&self, outcome: &Outcome) -> u8 {
        for note in &outcome.notes {
            match (note.admin, note.level) {
                (true, _) => self.tell_admin("-", &note.text),
                (false, Level::Detail) => self.out.detail(&note.text),
                (false, Level::Info) => self.out.info(&note.text),
                (false, Level::Warning) => self.out.warn(&note.text),
                (false, Level::Error) => self.out.error(&note.text),
            }
        }
        for report in &outcome.reports {
            for problem in &report.problems {
                self.tell_admin(&report.hook, problem);
            }
            for detail in &report.details {
                self.out.detail(detail);
            }
            let line = report.line(!self.for_pusher);
            match report.ok() {
                true => self.out.info(&line),
                false => self.out.error(&line),
            }
        }
        u8::from(!outcome.ok())
    }

    /// Something for the administrator: shown by a command, but kept out of a pusher's
    /// sight (it may name server paths) and noted in the delivery log instead.
    fn tell_admin(&self, hook: &str, text: &str) {
        if !self.for_pusher {
            return self.out.warn(text);
        }
        let record = Record {
            time: crate::timefmt::now_utc(),
            hook: hook.to_string(),
            problem: Some(text.to_string()),
            ..Default::default()
        };
        if self.site.outbox.log().append(&record).is_err() {
            self.out.warn(text);
        }
    }
}
