//! `status`: per repository and hook, the deliveries pending and failed, the backoff
//! and the last attempt, from the files under `webhooks/` alone (no repository is
//! opened, nothing is written), as text, JSON or Prometheus metrics.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::fleet::{self, Progress};
use super::output::Output;
use crate::delivery::log::{self, Record};
use crate::delivery::outbox::Outbox;
use crate::delivery::store::Sharing;
use crate::timefmt;

/// How `status` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Format {
    Text,
    Json,
    Prometheus,
}

/// One hook of one repository.
#[derive(Debug, Serialize)]
struct HookStatus {
    hook: String,
    pending: usize,
    failed: usize,
    /// When pushes leave the hook alone until (RFC 3339 UTC), while it backs off.
    backoff_until: Option<String>,
    /// Failed runs in a row, and the last one's reason.
    backoff_failures: u32,
    backoff_error: Option<String>,
    #[serde(skip)]
    backoff_until_ms: u64,
    last: Option<Last>,
}

/// The hook's last attempt, from the delivery log.
#[derive(Debug, Serialize)]
struct Last {
    time: String,
    event: String,
    #[serde(rename = "ref")]
    refname: String,
    delivery: String,
    ok: bool,
    status: Option<u16>,
    error: Option<String>,
    trigger: &'static str,
}

/// One repository.
#[derive(Debug, Serialize)]
struct RepoStatus {
    path: PathBuf,
    /// Pushes whose events are still to be built.
    recorded_pushes: usize,
    hooks: Vec<HookStatus>,
    problems: Vec<String>,
}

impl RepoStatus {
    fn read(git_dir: &Path) -> RepoStatus {
        let outbox = Outbox::new(git_dir, Sharing::PRIVATE);
        let (census, recorded_pushes, mut problems) = outbox.census();
        let mut last = match log::last_per_hook(outbox.root()) {
            Ok(last) => last,
            Err(e) => {
                problems.push(format!("cannot read the delivery log: {e}"));
                Default::default()
            }
        };
        let mut hooks: Vec<HookStatus> = census
            .into_iter()
            .map(|c| {
                let backoff = c.backoff.filter(|b| b.active());
                HookStatus {
                    last: last.remove(&c.hook).map(Last::from),
                    hook: c.hook,
                    pending: c.pending,
                    failed: c.failed,
                    backoff_until: backoff.as_ref().map(|b| b.until()),
                    backoff_failures: backoff.as_ref().map_or(0, |b| b.failures),
                    backoff_until_ms: backoff.as_ref().map_or(0, |b| b.until_ms),
                    backoff_error: backoff.map(|b| b.error),
                }
            })
            .collect();
        hooks.extend(last.into_values().map(|record| HookStatus {
            hook: record.hook.clone(),
            pending: 0,
            failed: 0,
            backoff_until: None,
            backoff_failures: 0,
            backoff_error: None,
            backoff_until_ms: 0,
            last: Some(Last::from(record)),
        }));
        hooks.sort_by(|a, b| a.hook.cmp(&b.hook));
        RepoStatus {
            path: git_dir.to_path_buf(),
            recorded_pushes,
            hooks,
            problems,
        }
    }

    fn failed(&self) -> usize {
        self.hooks.iter().map(|h| h.failed).sum()
    }

    /// Something waits, failed or backs off.
    fn needs_attention(&self) -> bool {
        self.recorded_pushes > 0
            || !self.problems.is_empty()
            || self
                .hooks
                .iter()
                .any(|h| h.pending > 0 || h.failed > 0 || h.backoff_until.is_some())
    }
}

impl From<Record> for Last {
    fn from(r: Record) -> Last {
        Last {
            ok: r.error.is_none(),
            time: r.time,
            event: r.event,
            refname: r.refname,
            delivery: r.delivery,
            status: r.status,
            error: r.error,
            trigger: r.trigger.name(),
        }
    }
}

/// `status [--all [ROOT]] [--json | --prometheus]`; exit 1 when a delivery failed or a
/// repository could not be read.
pub(super) fn run(repo: Option<&Path>, all: Option<Option<PathBuf>>, format: Format, out: &Output) -> u8 {
    let (repos, walk_problems, root) = match all {
        None => {
            let dir = repo
                .map(Path::to_path_buf)
                .or_else(|| std::env::var_os("GIT_DIR").map(PathBuf::from))
                .unwrap_or_else(|| PathBuf::from("."));
            if !dir.join("HEAD").is_file() {
                out.error(&format!(
                    "{} is not a bare git repository; use --repo DIR",
                    dir.display()
                ));
                return 1;
            }
            (vec![dir], Vec::new(), None)
        }
        Some(root) => {
            let Some(root) = fleet::root(root, out) else { return 2 };
            let (repos, problems) = fleet::repositories(&root);
            (repos, problems, Some(root))
        }
    };
    for problem in &walk_problems {
        out.error(problem);
    }
    let progress = Progress::new(out, repos.len());
    let mut statuses = Vec::with_capacity(repos.len());
    let mut failed = 0;
    for (i, repo) in repos.iter().enumerate() {
        let status = RepoStatus::read(repo);
        failed += status.failed();
        statuses.push(status);
        progress.update(i + 1, &format!(", {failed} failed deliveries"));
    }
    progress.finish();
    let unreadable = statuses.iter().filter(|s| !s.problems.is_empty()).count() + walk_problems.len();
    let text = match format {
        Format::Json => json(&statuses, root.as_deref()),
        Format::Prometheus => prometheus(&statuses, unreadable),
        Format::Text => text(&statuses, root.is_some(), out),
    };
    super::print_lines([text]);
    u8::from(failed > 0 || unreadable > 0)
}

fn json(statuses: &[RepoStatus], root: Option<&Path>) -> String {
    #[derive(Serialize)]
    struct Document<'a> {
        root: Option<&'a Path>,
        repositories_seen: usize,
        pending: usize,
        failed: usize,
        /// Repositories with hooks (anything under webhooks/).
        repositories: Vec<&'a RepoStatus>,
    }
    let document = Document {
        root,
        repositories_seen: statuses.len(),
        pending: statuses.iter().flat_map(|s| &s.hooks).map(|h| h.pending).sum(),
        failed: statuses.iter().map(RepoStatus::failed).sum(),
        repositories: statuses
            .iter()
            .filter(|s| !s.hooks.is_empty() || s.needs_attention())
            .collect(),
    };
    serde_json::to_string_pretty(&document).expect("status serializes")
}

/// One hook as a line.
fn hook_line(h: &HookStatus) -> String {
    let mut line = format!("{}: {} pending, {} failed", h.hook, h.pending, h.failed);
    if let (Some(until), Some(error)) = (&h.backoff_until, &h.backoff_error) {
        let _ = write!(
            line,
            ", backing off until {until} after {} failed run(s) ({error})",
            h.backoff_failures
        );
    }
    match &h.last {
        Some(last) => {
            let result = match (&last.error, last.status) {
                (Some(e), _) => format!("failed: {e}"),
                (None, Some(status)) => format!("delivered ({status})"),
                (None, None) => "delivered".to_string(),
            };
            let _ = write!(line, "; last {} {} {}: {result}", last.time, last.event, last.refname);
        }
        None => line.push_str("; no attempt in the log"),
    }
    line
}

fn text(statuses: &[RepoStatus], all: bool, out: &Output) -> String {
    let mut s = String::new();
    for status in statuses {
        // Over many repositories, only those that need a look (all with --verbose).
        if all && !status.needs_attention() && !out.verbose {
            continue;
        }
        let indent = if all {
            let _ = writeln!(s, "{}", status.path.display());
            "  "
        } else {
            ""
        };
        if status.hooks.is_empty() && status.recorded_pushes == 0 {
            let _ = writeln!(s, "{indent}nothing pending, nothing failed");
        }
        if status.recorded_pushes > 0 {
            let _ = writeln!(
                s,
                "{indent}{} recorded push(es) whose events are still to be built",
                status.recorded_pushes
            );
        }
        for hook in &status.hooks {
            let _ = writeln!(s, "{indent}{}", hook_line(hook));
        }
        for problem in &status.problems {
            let _ = writeln!(s, "{indent}problem: {problem}");
        }
    }
    if all {
        let attention = statuses.iter().filter(|s| s.needs_attention()).count();
        let failed = statuses.iter().filter(|s| s.failed() > 0).count();
        let _ = writeln!(
            s,
            "{} repositories: {attention} with deliveries waiting or failed, {failed} with failed deliveries",
            statuses.len()
        );
    }
    s
}

/// A Prometheus label value: backslash, double quote and line feed escaped.
fn label(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The metrics, as docs/fleet.md lists them.
fn prometheus(statuses: &[RepoStatus], unreadable: usize) -> String {
    type Metric = (&'static str, &'static str, fn(&HookStatus) -> Option<f64>);
    const METRICS: [Metric; 6] = [
        (
            "git_webhooks_pending_deliveries",
            "Deliveries kept in the outbox, waiting to be sent.",
            |h| Some(h.pending as f64),
        ),
        (
            "git_webhooks_failed_deliveries",
            "Deliveries set aside as failed (refused by the receiver).",
            |h| Some(h.failed as f64),
        ),
        (
            "git_webhooks_backoff_until_timestamp_seconds",
            "Until when pushes leave the hook alone (0: not backing off).",
            |h| Some((h.backoff_until_ms / 1000) as f64),
        ),
        (
            "git_webhooks_backoff_failures",
            "Failed runs in a row of a hook that backs off.",
            |h| Some(f64::from(h.backoff_failures)),
        ),
        (
            "git_webhooks_last_attempt_timestamp_seconds",
            "When the hook's last attempt was made.",
            |h| {
                h.last
                    .as_ref()
                    .and_then(|l| timefmt::parse_utc(&l.time))
                    .map(|t| t as f64)
            },
        ),
        (
            "git_webhooks_last_attempt_success",
            "1 when the hook's last attempt delivered, 0 when it failed.",
            |h| h.last.as_ref().map(|l| f64::from(u8::from(l.ok))),
        ),
    ];
    let mut s = String::new();
    for (name, help, value) in METRICS {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge");
        for status in statuses {
            let repository = label(&status.path.to_string_lossy());
            for hook in &status.hooks {
                if let Some(v) = value(hook) {
                    let _ = writeln!(
                        s,
                        "{name}{{repository=\"{repository}\",hook=\"{}\"}} {v}",
                        label(&hook.hook)
                    );
                }
            }
        }
    }
    let totals = [
        (
            "git_webhooks_repositories",
            "Bare repositories looked at.",
            statuses.len(),
        ),
        (
            "git_webhooks_unreadable_repositories",
            "Repositories or directories that could not be read.",
            unreadable,
        ),
        (
            "git_webhooks_recorded_pushes",
            "Pushes whose events are still to be built, in all repositories.",
            statuses.iter().map(|s| s.recorded_pushes).sum(),
        ),
    ];
    for (name, help, value) in totals {
        let _ = writeln!(s, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}");
    }
    s
}
