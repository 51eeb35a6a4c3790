//! Many repositories at once: finding the bare repositories under a root, a progress
//! line for the terminal, and `redeliver --all`.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::output::Output;
use crate::config;
use crate::delivery::outbox::Outbox;
use crate::delivery::store::Sharing;

/// The root to search: the one given, else the system-wide file's `root`.
pub(super) fn root(given: Option<PathBuf>, out: &Output) -> Option<PathBuf> {
    if let Some(root) = given {
        return Some(root);
    }
    match config::system_root() {
        Ok(Some(root)) => Some(root),
        Ok(None) => {
            out.error(&format!(
                "name the directory the repositories are under (--all ROOT), or set `root` in {}",
                config::system_file().display()
            ));
            None
        }
        Err(e) => {
            out.error(&e.to_string());
            None
        }
    }
}

/// True when `dir`'s entries make it a bare repository (`HEAD` and `objects/`).
fn is_bare_repository(names: &[(std::ffi::OsString, std::fs::FileType)]) -> bool {
    let has = |name: &str, dir: bool| {
        names
            .iter()
            .any(|(n, t)| n == name && if dir { t.is_dir() } else { t.is_file() })
    };
    has("HEAD", false) && has("objects", true)
}

/// The bare repositories under `root` (the root itself included), sorted, and the
/// directories that could not be read. Symbolic links are not followed and a
/// repository is not searched inside; one directory listing per directory, no `stat`.
pub(super) fn repositories(root: &Path) -> (Vec<PathBuf>, Vec<String>) {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                problems.push(format!("cannot read {}: {e}", dir.display()));
                continue;
            }
        };
        let names: Vec<_> = entries
            .flatten()
            .filter_map(|e| Some((e.file_name(), e.file_type().ok()?)))
            .collect();
        // A work tree's `.git` is not a bare repository that a server serves.
        if is_bare_repository(&names) && dir.file_name().is_none_or(|n| n != ".git") {
            found.push(dir);
            continue;
        }
        if dir.file_name().is_some_and(|n| n == ".git") {
            continue;
        }
        stack.extend(names.iter().filter(|(_, t)| t.is_dir()).map(|(n, _)| dir.join(n)));
    }
    found.sort();
    (found, problems)
}

/// A line on the terminal that says how far a command over many repositories is; it
/// prints nothing when stderr is not a terminal (cron, systemd) or with `--quiet`.
pub(super) struct Progress {
    shown: bool,
    total: usize,
    last: Mutex<Option<Instant>>,
}

impl Progress {
    pub(super) fn new(out: &Output, total: usize) -> Progress {
        Progress {
            shown: !out.quiet && std::io::stderr().is_terminal(),
            total,
            last: Mutex::new(None),
        }
    }

    /// Shows `done` of the total and `what` (at most ten times a second).
    pub(super) fn update(&self, done: usize, what: &str) {
        if !self.shown {
            return;
        }
        let mut last = self.last.lock().expect("not poisoned");
        if last.is_some_and(|t| t.elapsed() < Duration::from_millis(100)) && done < self.total {
            return;
        }
        *last = Some(Instant::now());
        let _ = write!(
            std::io::stderr(),
            "\r\x1b[Kgit-webhooks: {done}/{} repositories{what}",
            self.total
        );
    }

    /// Clears the line.
    pub(super) fn finish(&self) {
        if self.shown {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}

/// How many worker processes `redeliver --all` runs at once.
const PARALLEL: usize = 4;

/// `redeliver --all ROOT`: `git-webhooks redeliver` (or `redeliver --failed`) in every
/// bare repository under ROOT that has something waiting, each in a process of its own
/// (started again as the repository's owner when run as root, as for one repository).
pub(super) fn redeliver_all(root: Option<PathBuf>, failed: bool, out: &Output) -> u8 {
    let Some(root) = self::root(root, out) else {
        return 2;
    };
    let Ok(exe) = std::env::current_exe() else {
        out.error("cannot find the git-webhooks program to run in each repository");
        return 1;
    };
    let (repos, problems) = repositories(&root);
    for problem in &problems {
        out.error(problem);
    }
    let waiting: Vec<PathBuf> = repos
        .into_iter()
        .filter(|repo| {
            let kinds: &[&str] = if failed { &["failed"] } else { &["outbox", "pushes"] };
            kinds.iter().any(|k| has_entries(&repo.join("webhooks").join(k)))
        })
        .collect();
    let progress = Progress::new(out, waiting.len());
    let next = AtomicUsize::new(0);
    let totals = Mutex::new((0usize, 0usize, 0usize, 0usize)); // done, sent, kept, broken
    std::thread::scope(|scope| {
        for _ in 0..PARALLEL.min(waiting.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(repo) = waiting.get(i) else { break };
                let before = waiting_count(repo, failed);
                let result = Command::new(&exe)
                    .arg("redeliver")
                    .args(failed.then_some("--failed"))
                    .arg("--quiet")
                    .arg("--repo")
                    .arg(repo)
                    .env_remove("GIT_DIR")
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .output();
                let after = waiting_count(repo, failed);
                let ok = result.as_ref().is_ok_and(|o| o.status.success());
                let said = match &result {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                    Err(e) => format!("cannot run git-webhooks: {e}"),
                };
                let mut t = totals.lock().expect("not poisoned");
                t.0 += 1;
                t.1 += before.saturating_sub(after);
                t.2 += after;
                t.3 += usize::from(!ok);
                if !said.trim().is_empty() || !ok {
                    progress.finish();
                    for line in said.lines() {
                        let line = line.strip_prefix("git-webhooks: ").unwrap_or(line);
                        eprintln!("git-webhooks: {}: {line}", repo.display());
                    }
                }
                progress.update(t.0, &format!(", {} sent, {} kept", t.1, t.2));
            });
        }
    });
    progress.finish();
    let (done, sent, kept, broken) = *totals.lock().expect("not poisoned");
    let what = if failed {
        "failed deliveries"
    } else {
        "pending deliveries"
    };
    out.info(&format!(
        "{done} repositories under {} had {what}: {sent} sent, {kept} still waiting",
        root.display()
    ));
    u8::from(broken > 0 || !problems.is_empty())
}

/// True when `dir` exists and holds anything.
fn has_entries(dir: &Path) -> bool {
    std::fs::read_dir(dir).is_ok_and(|mut e| e.next().is_some())
}

/// Deliveries waiting in a repository's outbox (or set aside as failed), read only.
fn waiting_count(repo: &Path, failed: bool) -> usize {
    let (hooks, _, _) = Outbox::new(repo, Sharing::PRIVATE).census();
    hooks.iter().map(|h| if failed { h.failed } else { h.pending }).sum()
}
