//! The push pipeline: ref updates, checked against the config, become events, events
//! become deliveries per hook, and what could not be built is recorded for later.

use std::time::{Duration, Instant};

use crate::app::Context;
use crate::config::{self, Config, Hook};
use crate::dispatch::{self, Report, Run};
use crate::event::{BuildError, Builder, Event, EventKind};
use crate::history::{self, History};
use crate::outbox::{Delivery, RecordedPush, Trigger};
use crate::pusher::{self, Pusher};
use crate::update::{self, RefUpdate};

impl Context {
    /// The hook and `replay`: events for the updates, delivered within the budget.
    pub(crate) fn push(&self, input: &[u8], trigger: Trigger) -> u8 {
        let updates = self.parse(input);
        let config = match self.config_or_report() {
            Some(c) => c,
            None => {
                let why = format!("no events sent until {} is fixed", config::FILE_NAME);
                self.record_push(&updates, self.tips_before(&updates), &why);
                return 0;
            }
        };
        for hook in config.hooks.iter().filter(|h| !h.tls_verify) {
            self.out.warn(&format!(
                "{}: TLS certificate verification is disabled (tls_verify = false)",
                hook.name
            ));
        }
        self.flush_recorded_pushes(&config, config.budget / 3);
        // The state before the push counts every pushed ref, also those no hook wants.
        let tips = self.tips_before(&updates);
        let wanted: Vec<RefUpdate> = updates.into_iter().filter(|u| wanted_by_any(&config, u)).collect();
        let pusher = Pusher::from_env(&config.users);
        // Building must leave half the budget for sending; what is left over is recorded.
        let deadline = self.started + config.budget / 2;
        let (events, unbuilt) = self.build_events(
            &config,
            &wanted,
            tips.clone(),
            &pusher,
            &pusher::push_options(),
            Some(deadline),
        );
        self.record_push(&unbuilt, tips, "some events could not be built in time");
        let jobs = self.jobs(&config, &events, trigger);
        if jobs.is_empty() {
            return 0;
        }
        let reports = dispatch::deliver(&self.run(trigger, config.budget, true), jobs);
        self.print_reports(&reports)
    }

    pub(crate) fn run(&self, trigger: Trigger, budget: Duration, keep: bool) -> Run<'_> {
        Run {
            outbox: &self.outbox,
            trigger,
            deadline: self.started + budget,
            keep,
            out: self.out,
        }
    }

    pub(crate) fn print_reports(&self, reports: &[Report]) -> u8 {
        for report in reports {
            for problem in &report.problems {
                self.out.warn(problem);
            }
            if report.ok() {
                self.out.info(&report.line());
            } else {
                self.out.error(&report.line());
            }
        }
        u8::from(reports.iter().any(|r| !r.ok()))
    }

    /// Keeps a push whose events cannot be built while the config is broken.
    /// Keeps ref updates whose events cannot be built now, with the state before their
    /// push, for `redeliver` to build and send.
    fn record_push(&self, updates: &[RefUpdate], tips_before: Vec<String>, why: &str) {
        if updates.is_empty() {
            return;
        }
        let push = RecordedPush {
            created: crate::timefmt::now_utc(),
            lines: updates.iter().map(RefUpdate::to_line).collect(),
            tips_before,
            pusher: Pusher::from_env(&Default::default()).name,
            push_options: pusher::push_options(),
        };
        match self.outbox.put_push(&push) {
            Ok(_) => self.out.error(&format!(
                "{why}: {} ref update(s) kept for `git-webhooks redeliver`",
                updates.len()
            )),
            Err(e) => self.out.error(&format!("{why}, and they could not be kept: {e}")),
        }
    }

    /// The commit tips before the push of `updates` (see [`history::tips_before`]).
    pub(crate) fn tips_before(&self, updates: &[RefUpdate]) -> Vec<String> {
        history::tips_before(&self.repo, updates).unwrap_or_else(|e| {
            self.out.warn(&format!(
                "cannot list the repository's refs ({e}); new branches may list commits that were already there"
            ));
            Vec::new()
        })
    }

    /// Turns recorded pushes into outbox deliveries, all of a push's or none.
    pub(crate) fn flush_recorded_pushes(&self, config: &Config, wait: Duration) {
        if !self.outbox.has_recorded_pushes() {
            return;
        }
        let Ok(_lock) = self.outbox.lock(".pushes", Instant::now() + wait) else {
            return;
        };
        let (pushes, problems) = self.outbox.recorded_pushes();
        for problem in problems {
            self.out.warn(&problem);
        }
        for (path, push) in pushes {
            let input = push.lines.join(&b'\n');
            let updates: Vec<RefUpdate> = self
                .parse(&input)
                .into_iter()
                .filter(|u| wanted_by_any(config, u))
                .collect();
            let pusher = Pusher::named(push.pusher.clone(), &config.users);
            let (events, unbuilt) = self.build_events(
                config,
                &updates,
                push.tips_before.clone(),
                &pusher,
                &push.push_options,
                None,
            );
            if !unbuilt.is_empty() {
                self.out.warn(&format!(
                    "{} stays recorded: its events could not be built",
                    path.display()
                ));
                continue;
            }
            let mut written = Vec::new();
            let mut failed = None;
            for (hook, deliveries) in self.jobs(config, &events, Trigger::Push) {
                if !deliveries.is_empty() {
                    match self.outbox.put(&hook.name, &deliveries) {
                        Ok(batch) => written.push(batch),
                        Err(e) => failed = Some(e),
                    }
                }
            }
            match failed {
                None => {
                    let _ = std::fs::remove_file(&path);
                }
                Some(e) => {
                    // Undo, so that the next attempt does not send some hooks the events twice.
                    for batch in written {
                        let _ = std::fs::remove_file(batch);
                    }
                    self.out.warn(&format!("{} stays recorded: {e}", path.display()));
                }
            }
        }
    }

    /// The events of `updates`, given the commit tips before their push. Updates that
    /// could not be built (git failed, or `deadline` passed) come back to be recorded.
    pub(crate) fn build_events(
        &self,
        config: &Config,
        updates: &[RefUpdate],
        tips: Vec<String>,
        pusher: &Pusher,
        options: &[String],
        deadline: Option<Instant>,
    ) -> (Vec<Event>, Vec<RefUpdate>) {
        let history = History::new(&self.repo, &self.git_dir, tips);
        let mut builder = Builder::new(&self.repo, &history, config, pusher, options);
        let mut events = Vec::new();
        let mut unbuilt = Vec::new();
        for (i, update) in updates.iter().enumerate() {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                unbuilt.extend_from_slice(&updates[i..]);
                break;
            }
            match builder.build(update) {
                Ok(Some(event)) => {
                    let total = &event.payload["total_commits_count"];
                    self.out.detail(&format!(
                        "{}: {} event, {total} commit(s)",
                        event.refname,
                        event.kind.name()
                    ));
                    events.push(event);
                }
                Ok(None) => self
                    .out
                    .detail(&format!("{}: not a branch or tag, no event", update.name_text())),
                Err(BuildError::UnknownObject(id)) => self.out.error(&format!(
                    "{}: object {id} is not in the repository; no event for this ref",
                    update.name_text()
                )),
                Err(BuildError::Git(e)) => {
                    self.out.error(&format!("{}: {e}", update.name_text()));
                    unbuilt.push(update.clone());
                }
            }
        }
        (events, unbuilt)
    }

    /// For each hook, the deliveries of the events it wants; hooks with a backlog come
    /// along with none, so that their backlog goes out.
    pub(crate) fn jobs<'c>(
        &self,
        config: &'c Config,
        events: &[Event],
        trigger: Trigger,
    ) -> Vec<(&'c Hook, Vec<Delivery>)> {
        let backlog = self.outbox.hooks_with_pending();
        config
            .hooks
            .iter()
            .map(|hook| {
                let homepage = &config.repository.homepage;
                let deliveries: Vec<Delivery> = events
                    .iter()
                    .filter(|e| hook.wants(e.kind, update::short_name(&e.refname)))
                    .map(|e| e.delivery_for(hook, homepage, trigger))
                    .collect();
                (hook, deliveries)
            })
            .filter(|(hook, deliveries)| !deliveries.is_empty() || backlog.contains(&hook.name))
            .collect()
    }
}

fn wanted_by_any(config: &Config, update: &RefUpdate) -> bool {
    let Some(kind) = EventKind::for_ref(update.kind()) else {
        return false;
    };
    let short = update.short_name();
    config.hooks.iter().any(|h| h.wants(kind, &short))
}
