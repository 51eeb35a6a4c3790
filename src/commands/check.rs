//! What `check` prints: the merged settings with where each came from, hooks with
//! secrets masked, and the warnings worth acting on.

use std::fmt::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::Context;
use crate::config::secret::Origin;
use crate::config::Config;
use crate::delivery::outbox::Outbox;
use crate::payload::Flavor;

/// The merged config as text, secrets masked.
pub fn describe(config: &Config, git_dir: &Path) -> String {
    let mut s = String::new();
    if config.files.is_empty() {
        let _ = writeln!(
            s,
            "no config file: {} does not exist",
            git_dir.join(crate::config::FILE_NAME).display()
        );
    }
    for file in &config.files {
        let _ = writeln!(s, "config file: {}", file.display());
    }
    let r = &config.repository;
    let _ = writeln!(s, "[repository]");
    let text = |v: &str| format!("{v:?}");
    let fields = [
        ("name", text(&r.name)),
        ("project_id", r.project_id.to_string()),
        ("description", text(&r.description)),
        ("homepage", text(&r.homepage)),
        ("url", text(&r.url)),
        ("git_http_url", text(&r.git_http_url)),
        ("git_ssh_url", text(&r.git_ssh_url)),
        ("visibility_level", r.visibility_level.to_string()),
        (
            "commit_url",
            text(r.commit_url.as_deref().unwrap_or("(each flavour's own)")),
        ),
        (
            "compare_url",
            text(r.compare_url.as_deref().unwrap_or("(each flavour's own)")),
        ),
    ];
    for (key, value) in fields {
        let origin = config
            .origins
            .get(key)
            .map_or_else(|| "default".to_string(), |p| p.display().to_string());
        let _ = writeln!(s, "  {key} = {value}  ({origin})");
    }
    let _ = writeln!(
        s,
        "[payload] max_commits = {}, max_files = {}",
        config.limits.commits, config.limits.files
    );
    let _ = writeln!(s, "[delivery] budget = {}s", config.budget.as_secs_f64());
    for (name, user) in &config.users {
        let _ = write!(s, "[users.{name}] email = {:?}, id = {}", user.email, user.id);
        if let Some(username) = &user.username {
            let _ = write!(s, ", username = {username:?}");
        }
        if let Some(url) = &user.avatar_url {
            let _ = write!(s, ", avatar_url = {url:?}");
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "{} hook(s)", config.hooks.len());
    for h in &config.hooks {
        let events: Vec<&str> = h.filter.events.iter().map(|e| e.name()).collect();
        let flavor = match h.flavor {
            Flavor::GitHub => format!("github (X-GitHub-Hook-ID {})", crate::payload::github_hook_id(&h.name)),
            other => other.name().to_string(),
        };
        let _ = writeln!(
            s,
            "  {}  {}  ({})",
            h.name,
            h.transport.url.display(),
            h.provenance.file.display()
        );
        let _ = writeln!(
            s,
            "    events: {}; flavor: {flavor}; timeout: {}s",
            events.join(", "),
            h.transport.timeout.as_secs_f64()
        );
        if let Some(nats) = &h.transport.nats {
            let _ = writeln!(s, "    subject: {}", nats.subject.template());
        }
        if !h.filter.branches.is_empty() {
            let _ = writeln!(s, "    branches: {}", h.filter.branches.join(", "));
        }
        if !h.filter.tags.is_empty() {
            let _ = writeln!(s, "    tags: {}", h.filter.tags.join(", "));
        }
        for (name, _) in &h.transport.headers {
            let _ = writeln!(s, "    header: {name}");
        }
        for (key, source) in &h.provenance.secrets {
            let _ = writeln!(s, "    {key}: ******** ({source})");
        }
        if h.transport.ca_pem.is_some() {
            let _ = writeln!(s, "    ca_file: set");
        }
        if !h.transport.tls_verify {
            let _ = writeln!(s, "    tls_verify: false");
        }
    }
    s
}

/// Warnings: secrets readable by others, secrets sent in clear text, TLS checks off.
pub fn warnings(config: &Config) -> Vec<String> {
    let mut w = config.warnings.clone();
    for h in &config.hooks {
        let literal = h
            .provenance
            .secrets
            .iter()
            .any(|(_, source)| *source == Origin::Literal);
        let world_readable = std::fs::metadata(&h.provenance.file).is_ok_and(|m| m.permissions().mode() & 0o004 != 0);
        if literal && world_readable {
            w.push(format!(
                "hook '{}': {} holds literal secrets and is readable by every user; chmod 600 it or use {{ env = \"NAME\" }} / {{ file = \"PATH\" }}",
                h.name,
                h.provenance.file.display()
            ));
        }
        if let (Some(servers), Some(nats)) = (&h.transport.target.nats, &h.transport.nats) {
            let tls = servers.tls || nats.ca_file.is_some();
            if !tls && (servers.user.is_some() || nats.token.is_some()) {
                w.push(format!(
                    "hook '{}': a password or token goes to NATS without TLS; use tls:// or ca_file",
                    h.name
                ));
            }
        }
        let sends_secret = h.credentials.token.is_some() || h.transport.target.basic.is_some();
        if sends_secret && !h.transport.target.https {
            w.push(format!(
                "hook '{}': a token or password is sent over plain http; use https",
                h.name
            ));
        }
        if !h.transport.tls_verify {
            w.push(format!(
                "hook '{}': tls_verify = false: TLS certificates are not checked",
                h.name
            ));
        }
    }
    w
}

/// For each hook with failed deliveries or a backoff, one line saying so.
pub fn hook_states(outbox: &Outbox) -> Vec<String> {
    let mut lines = Vec::new();
    for hook in outbox.hooks_with_failed() {
        let n = outbox.failed(&hook).0.len();
        lines.push(format!(
            "hook '{hook}': {n} failed deliver{} set aside (`git-webhooks redeliver --dry-run --failed` lists them, `redeliver --failed` sends them again)",
            if n == 1 { "y" } else { "ies" }
        ));
    }
    let backing_off = outbox
        .hooks_with_pending()
        .into_iter()
        .filter_map(|h| outbox.backoff(&h));
    for b in backing_off.filter(|b| b.active()) {
        lines.push(format!(
            "hook '{}': backing off until {} after {} failed run(s) ({}); pushes keep its events, `git-webhooks redeliver` sends them now",
            b.hook,
            b.until(),
            b.failures,
            b.error
        ));
    }
    lines
}

/// `check`: the merged config, secrets masked, and what is worth a look.
pub(super) fn run(ctx: &Context) -> u8 {
    let Some(config) = ctx.config() else {
        return 1;
    };
    super::print_lines([describe(&config, ctx.site.git_dir())]);
    for line in hook_states(&ctx.site.outbox) {
        ctx.out.warn(&line);
    }
    if let Some(problem) = crate::git::branch::head_problem(&ctx.site.repo) {
        ctx.out.warn(&problem);
    }
    let runs = crate::git::hookfiles::runs_of_git_webhooks(&ctx.site.repo);
    if runs.len() > 1 {
        let files: Vec<String> = runs.iter().map(|p| p.display().to_string()).collect();
        ctx.out.warn(&format!(
            "the repository's hooks run git-webhooks {} times per push ({}): receivers get every event {} times, under different ids; keep one of them (see \"gitolite\" and \"Install\" in docs/setup.md)",
            runs.len(),
            files.join(", "),
            runs.len()
        ));
    }
    for warning in warnings(&config) {
        ctx.out.warn(&warning);
    }
    let unavailable: Vec<&String> = config.hooks.iter().flat_map(|h| &h.unavailable).collect();
    for reason in &unavailable {
        ctx.out
            .error(&format!("{reason}; the hook's events are kept until it can be read"));
    }
    u8::from(!unavailable.is_empty())
}
