//! The commands: each turns settings into work on one repository and an exit code.

pub mod check;
pub mod demo;
pub mod listen;
pub mod output;

use std::io::{Read, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use clap::CommandFactory;
use git2::Repository;

use crate::cli::{Cli, Command, Global, SendEvent};
use crate::config::{self, Config, Hook};
use crate::delivery::log;
use crate::delivery::outbox::{fresh_id, Outbox, Trigger};
use crate::delivery::store::{self, Sharing};
use crate::delivery::worker;
use crate::event::EventKind;
use crate::git::pusher::{self, Pusher};
use crate::git::update::{self, Change, ObjectId, RefUpdate};
use output::Output;

/// How long `redeliver` may take at most, whatever the push budget.
const REDELIVER_BUDGET: Duration = Duration::from_secs(600);

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
        command => {
            let is_hook = matches!(command, Command::Hook);
            let repo = match open_repository(global.repo.as_deref()) {
                Ok(r) => r,
                // A hook's exit code changes nothing for the push; say what is wrong and go.
                Err(e) => {
                    return if is_hook {
                        // Hooks run with GIT_DIR=., so this names no server path.
                        out.error(&e);
                        0
                    } else {
                        fail(&out, &e)
                    };
                }
            };
            let sharing = repo
                .config()
                .ok()
                .and_then(|c| c.get_string("core.sharedRepository").ok());
            let ctx = Context {
                git_dir: repo.path().to_path_buf(),
                outbox: Outbox::new(repo.path(), Sharing::from_git(sharing.as_deref())),
                pusher: None,
                for_pusher: is_hook,
                repo,
                out,
                started,
            };
            match command {
                Command::Hook => {
                    let input = read_stdin(&ctx.out);
                    ctx.push(&input, Trigger::Push);
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
                    if dry_run {
                        ctx.dry_run(&input)
                    } else {
                        ctx.push(&input, Trigger::Replay)
                    }
                }
                Command::Test { hook } => ctx.test(hook.as_deref()),
                Command::Check => ctx.check(),
                Command::Redeliver { dry_run, failed } => ctx.redeliver(dry_run, failed),
                Command::Log { n, json } => ctx.log(n, json),
                Command::Send { event, file } => ctx.send(event, &file),
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

/// Opens `--repo`, else `$GIT_DIR`, else the current directory.
fn open_repository(flag: Option<&Path>) -> Result<Repository, String> {
    let path = flag
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("GIT_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."));
    Repository::open(&path).map_err(|e| {
        let text = e.message().to_string();
        if e.code() == git2::ErrorCode::Owner {
            let owner = std::fs::metadata(&path).map(|m| crate::owner::name_of(m.uid()));
            let me = crate::owner::effective_uid().map(crate::owner::name_of);
            let (owner, me) = (owner.unwrap_or_default(), me.unwrap_or_default());
            format!(
                "{} belongs to {owner}, not to {me}: run git-webhooks as {owner} (sudo -u {owner} git-webhooks …), \
                 or trust the repository with `git config --global --add safe.directory {}`",
                path.display(),
                path.display()
            )
        } else if text.contains("object format") || text.contains("objectformat") {
            format!(
                "{} uses SHA-256 object ids, which git-webhooks cannot read yet; no events are sent for it",
                path.display()
            )
        } else if e.code() == git2::ErrorCode::NotFound {
            format!("{} is not a git repository ({text}); use --repo DIR", path.display())
        } else {
            format!("cannot open the repository {}: {text}", path.display())
        }
    })
}

/// One repository and how to talk to the user.
pub(crate) struct Context {
    pub(crate) repo: Repository,
    pub(crate) git_dir: PathBuf,
    pub(crate) outbox: Outbox,
    pub(crate) out: Output,
    pub(crate) started: Instant,
    /// Who a replayed push is credited to, when not the environment's pusher.
    pub(crate) pusher: Option<String>,
    /// The run is the hook: what it prints goes to whoever pushed.
    pub(crate) for_pusher: bool,
}

impl Context {
    /// The pusher of this run, with email and id from `[users.NAME]`.
    pub(crate) fn pusher(&self, users: &std::collections::BTreeMap<String, crate::config::User>) -> Pusher {
        match &self.pusher {
            Some(name) => Pusher::named(name.clone(), users),
            None => Pusher::from_env(users),
        }
    }

    /// The config, or `None` after printing each of its errors (to a pusher, only how
    /// many: the errors name server paths and the administrator sees them with `check`).
    pub(crate) fn config_or_report(&self) -> Option<Config> {
        match config::load(&self.git_dir) {
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

    /// Reports bad lines and returns the good updates.
    pub(crate) fn parse(&self, input: &[u8]) -> Vec<RefUpdate> {
        let (updates, bad) = update::parse_input(input);
        for (line, text, error) in bad {
            let shown: String = text.chars().take(120).collect();
            self.out
                .error(&format!("stdin line {line} skipped: {error}: {shown:?}"));
        }
        updates
    }

    fn dry_run(&self, input: &[u8]) -> u8 {
        let Some(config) = self.config_or_report() else {
            return 1;
        };
        let updates = self.parse(input);
        let tips = self.tips_before(&updates);
        let pusher = self.pusher(&config.users);
        let (events, _) = self.build_events(&config, &updates, tips, &pusher, &pusher::push_options(), None);
        let mut stdout = std::io::stdout().lock();
        for event in &events {
            let mut line = event.body(config::Flavor::AtomGit, &config.repository.homepage);
            line.push(b'\n');
            if stdout.write_all(&line).is_err() {
                return 1;
            }
        }
        0
    }

    fn test(&self, only: Option<&str>) -> u8 {
        let Some(config) = self.config_or_report() else {
            return 1;
        };
        let hooks: Vec<&Hook> = match only {
            Some(name) => match config.hooks.iter().find(|h| h.name == name) {
                Some(h) => vec![h],
                None => {
                    let names: Vec<&str> = config.hooks.iter().map(|h| h.name.as_str()).collect();
                    return fail(
                        &self.out,
                        &format!("no hook named '{name}'; hooks: {}", names.join(", ")),
                    );
                }
            },
            None => config
                .hooks
                .iter()
                .filter(|h| h.events.contains(&EventKind::Push))
                .collect(),
        };
        if hooks.is_empty() {
            return fail(
                &self.out,
                &format!(
                    "no hook takes push events; add a [[hook]] to {}",
                    self.git_dir.join(config::FILE_NAME).display()
                ),
            );
        }
        let Some(update) = self.latest_commits() else {
            return fail(&self.out, "the default branch has no commits yet; push something first");
        };
        let pusher = self.pusher(&config.users);
        let (events, _) = self.build_events(&config, std::slice::from_ref(&update), Vec::new(), &pusher, &[], None);
        let jobs = hooks
            .into_iter()
            .map(|h| {
                let homepage = &config.repository.homepage;
                let d = events
                    .iter()
                    .map(|e| e.delivery_for(fresh_id(), h, homepage, Trigger::Test))
                    .collect();
                (h, d)
            })
            .collect();
        let reports = worker::deliver(&self.run(Trigger::Test, config.budget, false), jobs);
        self.print_reports(&reports)
    }

    /// The default branch's last three commits as an update (a creation when it has fewer).
    fn latest_commits(&self) -> Option<RefUpdate> {
        let branch = crate::event::default_branch(&self.repo);
        let name = format!("refs/heads/{branch}");
        let head = self.repo.find_reference(&name).ok()?.peel_to_commit().ok()?;
        let mut old = head.clone();
        for _ in 0..3 {
            match old.parent(0) {
                Ok(p) => old = p,
                Err(_) => {
                    let new = ObjectId::parse(&head.id().to_string())?;
                    return Some(RefUpdate {
                        name: name.into_bytes(),
                        change: Change::Create { new },
                    });
                }
            }
        }
        let change = Change::Update {
            old: ObjectId::parse(&old.id().to_string())?,
            new: ObjectId::parse(&head.id().to_string())?,
        };
        Some(RefUpdate {
            name: name.into_bytes(),
            change,
        })
    }

    fn check(&self) -> u8 {
        let Some(config) = self.config_or_report() else {
            return 1;
        };
        print_lines([crate::commands::check::describe(&config, &self.git_dir)]);
        for line in crate::commands::check::hook_states(&self.outbox) {
            self.out.warn(&line);
        }
        if let Some(problem) = crate::event::head_problem(&self.repo) {
            self.out.warn(&problem);
        }
        let runs = crate::git::hookfiles::runs_of_git_webhooks(&self.repo);
        if runs.len() > 1 {
            let files: Vec<String> = runs.iter().map(|p| p.display().to_string()).collect();
            self.out.warn(&format!(
                "the repository's hooks run git-webhooks {} times per push ({}): receivers get every event {} times, under different ids; keep one of them (see \"gitolite\" and \"Install\" in docs/setup.md)",
                runs.len(),
                files.join(", "),
                runs.len()
            ));
        }
        for warning in crate::commands::check::warnings(&config) {
            self.out.warn(&warning);
        }
        let unavailable: Vec<&String> = config.hooks.iter().flat_map(|h| &h.unavailable).collect();
        for reason in &unavailable {
            self.out
                .error(&format!("{reason}; the hook's events are kept until it can be read"));
        }
        u8::from(!unavailable.is_empty())
    }

    fn redeliver(&self, dry_run: bool, failed: bool) -> u8 {
        if let Some(problem) = self.outbox.unreadable() {
            return fail(&self.out, &problem);
        }
        if dry_run {
            return if failed {
                self.list_failed()
            } else {
                self.list_pending()
            };
        }
        let Some(config) = self.config_or_report() else {
            return fail(
                &self.out,
                "nothing was sent; fix the file and run `git-webhooks redeliver` again",
            );
        };
        let waiting = if failed {
            self.outbox.hooks_with_failed()
        } else {
            self.flush_recorded_pushes(&config, Instant::now() + REDELIVER_BUDGET / 2);
            self.outbox.hooks_with_pending()
        };
        for orphan in waiting
            .iter()
            .filter(|name| !config.hooks.iter().any(|h| &&h.name == name))
        {
            self.out.warn(&format!(
                "deliveries for hook '{orphan}' are kept, but {} no longer defines that hook",
                config::FILE_NAME
            ));
        }
        let hooks: Vec<&Hook> = config.hooks.iter().filter(|h| waiting.contains(&h.name)).collect();
        if hooks.is_empty() {
            self.out.info(if failed {
                "no failed deliveries"
            } else {
                "nothing to redeliver"
            });
            return 0;
        }
        let run = self.run(Trigger::Redeliver, REDELIVER_BUDGET, true);
        let reports = if failed {
            worker::deliver_failed(&run, hooks)
        } else {
            worker::deliver(&run, hooks.into_iter().map(|h| (h, Vec::new())).collect())
        };
        self.print_reports(&reports)
    }

    fn list_pending(&self) -> u8 {
        let (pushes, _) = self.outbox.recorded_pushes();
        let mut lines: Vec<String> = pushes
            .iter()
            .map(|(_, push)| {
                let n = push.lines.len();
                format!(
                    "{}  recorded push: {n} ref update(s) whose events are still to be built",
                    push.created
                )
            })
            .collect();
        for hook in self.outbox.hooks_with_pending() {
            let (batches, _) = self.outbox.pending(&hook);
            lines.extend(batches.iter().flat_map(|b| &b.deliveries).map(|d| {
                let (event, attempts) = (d.event.name(), d.attempts);
                format!(
                    "{}  {}  {event}  {}  {}  attempts={attempts}",
                    d.created, d.hook, d.refname, d.id
                )
            }));
        }
        if lines.is_empty() {
            self.out.info("nothing pending");
        }
        print_lines(lines)
    }

    fn list_failed(&self) -> u8 {
        let mut lines = Vec::new();
        for hook in self.outbox.hooks_with_failed() {
            let (failed, problems) = self.outbox.failed(&hook);
            for problem in problems {
                self.out.warn(&problem);
            }
            lines.extend(failed.iter().map(|(_, f)| {
                let d = &f.delivery;
                let (event, attempts) = (d.event.name(), d.attempts);
                format!(
                    "{}  {}  {event}  {}  {}  attempts={attempts}  failed {}: {}",
                    d.created, d.hook, d.refname, d.id, f.failed_at, f.error
                )
            }));
        }
        if lines.is_empty() {
            self.out.info("no failed deliveries");
        }
        print_lines(lines)
    }

    fn log(&self, n: usize, json: bool) -> u8 {
        let records = match log::recent(self.outbox.store(), n) {
            Ok(r) => r,
            Err(e) => {
                let path = log::path(self.outbox.root());
                return fail(
                    &self.out,
                    &format!("cannot read {}: {}", path.display(), store::describe(&e)),
                );
            }
        };
        if records.is_empty() {
            self.out.info("no deliveries yet");
        }
        for line in crate::commands::check::hook_states(&self.outbox) {
            self.out.info(&line);
        }
        let lines = records.iter().map(|r| {
            if json {
                return serde_json::to_string(r).expect("records serialize");
            }
            if let Some(problem) = &r.problem {
                return format!("{}  {:<16} problem: {problem}", r.time, r.hook);
            }
            let outcome = match (&r.status, &r.error) {
                (Some(s), None) => s.to_string(),
                (Some(s), Some(e)) => format!("{s} {e}"),
                (None, Some(e)) => e.clone(),
                (None, None) => "-".into(),
            };
            let outcome = match r.set_aside {
                true => format!("{outcome} (set aside as failed)"),
                false => outcome,
            };
            format!(
                "{}  {:<16} {:<9} {:<24} #{} {:>6} ms  {}  {}  {outcome}",
                r.time,
                r.hook,
                r.event,
                r.refname,
                r.attempt,
                r.duration_ms,
                r.delivery,
                r.trigger.name()
            )
        });
        print_lines(lines)
    }

    fn send(&self, event: SendEvent, file: &Path) -> u8 {
        let kind = match event {
            SendEvent::Note => EventKind::Note,
            SendEvent::MergeRequest => EventKind::MergeRequest,
        };
        let text = if file == Path::new("-") {
            String::from_utf8_lossy(&read_stdin(&self.out)).into_owned()
        } else {
            match std::fs::read_to_string(file) {
                Ok(t) => t,
                Err(e) => return fail(&self.out, &format!("cannot read {}: {e}", file.display())),
            }
        };
        let event = match crate::payload::review::event(kind, &text) {
            Ok(e) => e,
            Err(e) => return fail(&self.out, &format!("{}: {e}; nothing was sent", file.display())),
        };
        let Some(config) = self.config_or_report() else {
            return 1;
        };
        let jobs = self.jobs(&config, std::slice::from_ref(&event), Trigger::Send, &|_, _| fresh_id());
        if jobs.iter().all(|(_, d)| d.is_empty()) {
            self.out.warn(&format!(
                "no hook takes this {} event (check the hooks' `events` and `branches`)",
                kind.name()
            ));
        }
        let reports = worker::deliver(&self.run(Trigger::Send, config.budget, true), jobs);
        self.print_reports(&reports)
    }
}
