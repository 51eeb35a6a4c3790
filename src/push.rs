//! The push pipeline: ref updates, checked against the config, become events, events
//! become deliveries per hook, and what could not be built is recorded for later.

use std::time::{Duration, Instant};

use crate::commands::Context;
use crate::config::{self, Config, Hook};
use crate::delivery::outbox::{self, fresh_id};
use crate::delivery::outbox::{Delivery, RecordedPush, Trigger};
use crate::delivery::store;
use crate::delivery::worker::{self, Report, Run};
use crate::event::{BuildError, Builder, Event, EventKind};
use crate::git::history::{self, History};
use crate::git::pusher::{self, Pusher};
use crate::git::update::{self, RefUpdate};

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
        // Building must leave half the budget for sending; what is left over is recorded.
        let deadline = self.started + config.budget / 2;
        self.flush_recorded_pushes(&config, deadline);
        // The state before the push counts every pushed ref, also those no hook wants.
        let tips = self.tips_before(&updates);
        let wanted: Vec<RefUpdate> = updates.into_iter().filter(|u| wanted_by_any(&config, u)).collect();
        let pusher = self.pusher(&config.users);
        let (events, unbuilt) = self.build_events(
            &config,
            &wanted,
            tips.clone(),
            &pusher,
            &pusher::push_options(),
            Some(deadline),
        );
        self.record_push(&unbuilt, tips, "some events could not be built in time");
        let jobs = self.jobs(&config, &events, trigger, &|_, _| fresh_id());
        if jobs.is_empty() {
            return 0;
        }
        let reports = worker::deliver(&self.run(trigger, config.budget, true), jobs);
        self.print_reports(&reports)
    }

    pub(crate) fn run(&self, trigger: Trigger, budget: Duration, keep: bool) -> Run<'_> {
        Run {
            outbox: &self.outbox,
            trigger,
            deadline: self.started + budget,
            keep,
            // An operator's command is a request to try now.
            respect_backoff: trigger == Trigger::Push,
            out: self.out,
        }
    }

    pub(crate) fn print_reports(&self, reports: &[Report]) -> u8 {
        for report in reports {
            for problem in &report.problems {
                self.admin_note(&report.hook, problem);
            }
            let line = report.line(!self.for_pusher);
            if report.ok() {
                self.out.info(&line);
            } else {
                self.out.error(&line);
            }
        }
        u8::from(reports.iter().any(|r| !r.ok()))
    }

    /// Something for the administrator: shown by a command, but kept out of a pusher's
    /// sight (it may name server paths) and noted in the delivery log instead.
    pub(crate) fn admin_note(&self, hook: &str, text: &str) {
        if !self.for_pusher {
            return self.out.warn(text);
        }
        let record = crate::delivery::log::Record {
            time: crate::timefmt::now_utc(),
            hook: hook.to_string(),
            problem: Some(text.to_string()),
            ..Default::default()
        };
        if crate::delivery::log::append(self.outbox.store(), &record).is_err() {
            self.out.warn(text);
        }
    }

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
            pusher: self.pusher(&Default::default()).name,
            push_options: pusher::push_options(),
        };
        match self.outbox.put_push(&push) {
            Ok(_) => self.out.error(&format!(
                "{why}: {} ref update(s) kept for `git-webhooks redeliver`",
                updates.len()
            )),
            Err(e) => self
                .out
                .error(&format!("{why}, and they could not be kept: {}", store::describe(&e))),
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

    /// Turns recorded pushes into outbox deliveries, oldest first, until `deadline`;
    /// what is not built by then stays recorded. Each delivery's id is derived from the
    /// recorded push, its ref and the hook, and each batch is named after its first id,
    /// so that a run that dies half-way and the run that does the work again keep the
    /// same deliveries under the same ids, once.
    pub(crate) fn flush_recorded_pushes(&self, config: &Config, deadline: Instant) {
        if !self.outbox.has_recorded_pushes() {
            return;
        }
        let Ok(_lock) = self.outbox.lock(".pushes", deadline) else {
            return;
        };
        let (pushes, problems) = self.outbox.recorded_pushes();
        for problem in problems {
            self.admin_note("-", &problem);
        }
        for (path, mut push) in pushes {
            if Instant::now() >= deadline {
                break;
            }
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
                Some(deadline),
            );
            let key = path
                .file_name()
                .map(|n| n.as_encoded_bytes().to_vec())
                .unwrap_or_default();
            let id = |event: &Event, hook: &Hook| {
                outbox::derived_id(&[&key, event.refname.as_bytes(), hook.name.as_bytes()])
            };
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            let written =
                self.jobs(config, &events, Trigger::Push, &id)
                    .into_iter()
                    .try_for_each(|(hook, deliveries)| match deliveries.first() {
                        Some(first) => self
                            .outbox
                            .put_as(&hook.name, &format!("{stem}-{}.json", first.id), &deliveries)
                            .map(drop),
                        None => Ok(()),
                    });
            push.lines = unbuilt.iter().map(RefUpdate::to_line).collect();
            let settled = written.and_then(|()| self.outbox.settle_push(&path, &push));
            if let Err(e) = settled {
                self.admin_note(
                    "-",
                    &format!("{} stays recorded: {}", path.display(), store::describe(&e)),
                );
            }
            if !unbuilt.is_empty() {
                self.out.warn(&format!(
                    "{} ref update(s) of an earlier push stay recorded: their events could not be built in time",
                    unbuilt.len()
                ));
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
        id: &dyn Fn(&Event, &Hook) -> String,
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
                    .map(|e| e.delivery_for(id(e, hook), hook, homepage, trigger))
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
