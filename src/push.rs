//! The push pipeline: ref updates, checked against the config, become events; events
//! become deliveries per endpoint, kept and sent within the budget; what cannot be built
//! is recorded for later. It returns what happened as data: commands print it.

use std::path::Path;
use std::time::{Duration, Instant};

use git2::Repository;

use crate::config::{Config, Endpoint};
use crate::delivery::outbox::{Delivery, Outbox, RecordedPush, Trigger};
use crate::delivery::store::{self, Sharing};
use crate::delivery::worker::{self, Report, Run};
use crate::event::{BuildError, Builder, Event, EventKind};
use crate::git::history::{self, History};
use crate::git::pusher::Pusher;
use crate::git::update::{self, RefUpdate};

/// How much a message matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Shown with `--verbose`.
    Detail,
    Info,
    Warning,
    Error,
}

/// Something a run has to say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    pub level: Level,
    pub text: String,
    /// It may name server paths or what a config file says: for the administrator, not
    /// for whoever pushed.
    pub admin: bool,
}

/// What a run did: its messages, and one report per endpoint served.
#[derive(Debug, Default)]
pub struct Outcome {
    pub notes: Vec<Note>,
    pub reports: Vec<Report>,
}

impl Outcome {
    /// Adds a message for everyone.
    pub fn say(&mut self, level: Level, text: impl Into<String>) {
        self.notes.push(Note {
            level,
            text: text.into(),
            admin: false,
        });
    }

    /// Adds a message for the administrator only.
    pub fn tell_admin(&mut self, text: impl Into<String>) {
        self.notes.push(Note {
            level: Level::Warning,
            text: text.into(),
            admin: true,
        });
    }

    /// True when no endpoint failed.
    pub fn ok(&self) -> bool {
        self.reports.iter().all(Report::ok)
    }
}

/// One repository at work: the repository, its outbox, and when the run began (the
/// budget counts from then: building events is part of what the pusher waits for).
pub struct Site {
    pub repo: Repository,
    pub outbox: Outbox,
    pub started: Instant,
}

impl Site {
    /// The site of `repo`, whose outbox is shared as its `core.sharedRepository` says.
    pub fn new(repo: Repository, started: Instant) -> Site {
        let sharing = repo
            .config()
            .ok()
            .and_then(|c| c.get_string("core.sharedRepository").ok());
        let outbox = Outbox::new(repo.path(), Sharing::from_git(sharing.as_deref()));
        Site { repo, outbox, started }
    }

    /// The repository's git directory.
    pub fn git_dir(&self) -> &Path {
        self.repo.path()
    }

    /// The hook and `replay`: events for the updates, kept and delivered within the
    /// budget; earlier recorded pushes go first.
    pub fn push(
        &self,
        config: &Config,
        updates: Vec<RefUpdate>,
        trigger: Trigger,
        pusher: &Pusher,
        options: &[String],
    ) -> Outcome {
        let mut out = Outcome::default();
        for hook in config.hooks.iter().filter(|h| !h.transport.tls_verify) {
            out.say(
                Level::Warning,
                format!(
                    "{}: TLS certificate verification is disabled (tls_verify = false)",
                    hook.name
                ),
            );
        }
        // Building must leave half the budget for sending; what is left over is recorded.
        let deadline = self.started + config.budget / 2;
        self.flush_recorded_pushes(config, deadline, &mut out);
        // The state before the push counts every pushed ref, also those no hook wants.
        let tips = self.tips_before(&updates, &mut out);
        let wanted: Vec<RefUpdate> = updates.into_iter().filter(|u| wanted_by_any(config, u)).collect();
        let (events, unbuilt) = self.build_events(
            config,
            &wanted,
            tips.clone(),
            (pusher, options),
            Some(deadline),
            &mut out,
        );
        let why = "some events could not be built in time";
        self.record(&unbuilt, tips, (pusher, options), why, &mut out);
        let jobs = self.jobs(config, &events, trigger, &|_, _| crate::ids::fresh_id());
        if !jobs.is_empty() {
            out.reports = worker::deliver(&self.run(trigger, config.budget, true), jobs);
        }
        out
    }

    /// How a run of this site delivers: until `budget` after the start, keeping what
    /// fails when `keep`.
    pub fn run(&self, trigger: Trigger, budget: Duration, keep: bool) -> Run<'_> {
        Run {
            outbox: &self.outbox,
            trigger,
            deadline: self.started + budget,
            keep,
            // An operator's command is a request to try now.
            respect_backoff: trigger == Trigger::Push,
        }
    }

    /// Keeps ref updates whose events cannot be built now, with the state before their
    /// push, for `redeliver` or the next push to build and send.
    pub fn record(
        &self,
        updates: &[RefUpdate],
        tips_before: Vec<String>,
        (pusher, options): (&Pusher, &[String]),
        why: &str,
        out: &mut Outcome,
    ) {
        if updates.is_empty() {
            return;
        }
        let push = RecordedPush {
            created: crate::timefmt::now_utc(),
            lines: updates.iter().map(RefUpdate::to_line).collect(),
            tips_before,
            pusher: pusher.name.clone(),
            push_options: options.to_vec(),
        };
        let text = match self.outbox.put_push(&push) {
            Ok(_) => format!(
                "{why}: {} ref update(s) kept for `git-webhooks redeliver`",
                updates.len()
            ),
            Err(e) => format!("{why}, and they could not be kept: {}", store::describe(&e)),
        };
        out.say(Level::Error, text);
    }

    /// The commit tips before the push of `updates` (see [`history::tips_before`]).
    pub fn tips_before(&self, updates: &[RefUpdate], out: &mut Outcome) -> Vec<String> {
        history::tips_before(&self.repo, updates).unwrap_or_else(|e| {
            out.say(
                Level::Warning,
                format!(
                    "cannot list the repository's refs ({e}); new branches may list commits that were already there"
                ),
            );
            Vec::new()
        })
    }

    /// Turns recorded pushes into outbox deliveries, oldest first, until `deadline`;
    /// what is not built by then stays recorded. Each delivery's id is derived from the
    /// recorded push, its ref and the endpoint, and each batch is named after its first
    /// id, so that a run that dies half-way and the run that does the work again keep the
    /// same deliveries under the same ids, once.
    pub fn flush_recorded_pushes(&self, config: &Config, deadline: Instant, out: &mut Outcome) {
        if !self.outbox.has_recorded_pushes() {
            return;
        }
        let Ok(_lock) = self.outbox.lock(".pushes", deadline) else {
            return;
        };
        let (pushes, problems) = self.outbox.recorded_pushes();
        for problem in problems {
            out.tell_admin(problem);
        }
        for (path, mut push) in pushes {
            if Instant::now() >= deadline {
                break;
            }
            let updates: Vec<RefUpdate> = parse(&push.lines.join(&b'\n'), out)
                .into_iter()
                .filter(|u| wanted_by_any(config, u))
                .collect();
            let pusher = Pusher::named(push.pusher.clone(), &config.users);
            let tips = push.tips_before.clone();
            let by = (&pusher, &push.push_options[..]);
            let (events, unbuilt) = self.build_events(config, &updates, tips, by, Some(deadline), out);
            let key = path
                .file_name()
                .map(|n| n.as_encoded_bytes().to_vec())
                .unwrap_or_default();
            let id = |event: &Event, endpoint: &Endpoint| {
                let (refname, hook) = (event.refname.as_bytes(), endpoint.name.as_bytes());
                match event.kind {
                    // A ref's create or delete event goes with its push: its own id.
                    EventKind::Create | EventKind::Delete => {
                        crate::ids::derived_id(&[&key, refname, hook, event.kind.name().as_bytes()])
                    }
                    _ => crate::ids::derived_id(&[&key, refname, hook]),
                }
            };
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let written =
                self.jobs(config, &events, Trigger::Push, &id)
                    .into_iter()
                    .try_for_each(|(endpoint, deliveries)| match deliveries.first() {
                        Some(first) => self
                            .outbox
                            .put_as(&endpoint.name, &format!("{stem}-{}.json", first.id), &deliveries)
                            .map(drop),
                        None => Ok(()),
                    });
            push.lines = unbuilt.iter().map(RefUpdate::to_line).collect();
            if let Err(e) = written.and_then(|()| self.outbox.settle_push(&path, &push)) {
                out.tell_admin(format!("{} stays recorded: {}", path.display(), store::describe(&e)));
            }
            if !unbuilt.is_empty() {
                out.say(
                    Level::Warning,
                    format!(
                        "{} ref update(s) of an earlier push stay recorded: their events could not be built in time",
                        unbuilt.len()
                    ),
                );
            }
        }
    }

    /// The events of `updates`, given the commit tips before their push. Updates that
    /// could not be built (git failed, or `deadline` passed) come back to be recorded.
    pub fn build_events(
        &self,
        config: &Config,
        updates: &[RefUpdate],
        tips: Vec<String>,
        (pusher, options): (&Pusher, &[String]),
        deadline: Option<Instant>,
        out: &mut Outcome,
    ) -> (Vec<Event>, Vec<RefUpdate>) {
        let history = History::new(&self.repo, self.git_dir(), tips);
        let repository = &config.repository;
        let mut builder = Builder::new(&self.repo, &history, repository, config.limits, pusher, options);
        let mut events = Vec::new();
        let mut unbuilt = Vec::new();
        for (i, update) in updates.iter().enumerate() {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                unbuilt.extend_from_slice(&updates[i..]);
                break;
            }
            let name = update.name_text();
            match builder.build(update) {
                Ok(Some(event)) => {
                    let commits = event.total_commits();
                    out.say(
                        Level::Detail,
                        format!("{name}: {} event, {commits} commit(s)", event.kind.name()),
                    );
                    events.push(event);
                }
                Ok(None) => out.say(Level::Detail, format!("{name}: not a branch or tag, no event")),
                Err(BuildError::UnknownObject(id)) => out.say(
                    Level::Error,
                    format!("{name}: object {id} is not in the repository; no event for this ref"),
                ),
                Err(BuildError::Git(e)) => {
                    out.say(Level::Error, format!("{name}: {e}"));
                    unbuilt.push(update.clone());
                }
            }
        }
        (events, unbuilt)
    }

    /// For each endpoint, the deliveries of the events it wants, each with the id `id`
    /// gives it; endpoints with a backlog come along with none, so that their backlog
    /// goes out.
    pub fn jobs<'c>(
        &self,
        config: &'c Config,
        events: &[Event],
        trigger: Trigger,
        id: &dyn Fn(&Event, &Endpoint) -> String,
    ) -> Vec<(&'c Endpoint, Vec<Delivery>)> {
        let backlog = self.outbox.hooks_with_pending();
        config
            .hooks
            .iter()
            .map(|endpoint| {
                let deliveries: Vec<Delivery> = events
                    .iter()
                    .flat_map(with_created_or_deleted)
                    .filter(|e| endpoint.wants_ref(e.kind, &e.refname) && endpoint.flavor.delivers(e))
                    .map(|e| delivery(id(&e, endpoint), endpoint, &e, trigger))
                    .collect();
                (endpoint, deliveries)
            })
            .filter(|(endpoint, deliveries)| !deliveries.is_empty() || backlog.contains(&endpoint.name))
            .collect()
    }
}

/// A push or tag push event, with the `create` event of a ref it creates before it and
/// the `delete` event of a ref it deletes after it.
fn with_created_or_deleted(event: &Event) -> Vec<Event> {
    let change = event.ref_event().map(|e| (e.created(), e.deleted()));
    match change {
        Some((true, false)) => vec![event.as_kind(EventKind::Create), event.clone()],
        Some((false, true)) => vec![event.clone(), event.as_kind(EventKind::Delete)],
        _ => vec![event.clone()],
    }
}

/// The delivery of `event` to `endpoint`, rendered in its flavour.
pub fn delivery(id: String, endpoint: &Endpoint, event: &Event, trigger: Trigger) -> Delivery {
    let body = endpoint.flavor.render(event);
    Delivery::new(id, &endpoint.name, event.kind, &event.refname, body, trigger)
}

/// The good updates of post-receive input; each bad line becomes an error message.
pub fn parse(input: &[u8], out: &mut Outcome) -> Vec<RefUpdate> {
    let (updates, bad) = update::parse_input(input);
    for (line, text, error) in bad {
        let shown: String = text.chars().take(120).collect();
        out.say(Level::Error, format!("stdin line {line} skipped: {error}: {shown:?}"));
    }
    updates
}

fn wanted_by_any(config: &Config, update: &RefUpdate) -> bool {
    let Some(kind) = EventKind::for_ref(update.kind()) else {
        return false;
    };
    let name = update.name_text();
    let kinds = [Some(kind), EventKind::for_change(&update.change)];
    config
        .hooks
        .iter()
        .any(|h| kinds.iter().flatten().any(|k| h.wants_ref(*k, &name)))
}
