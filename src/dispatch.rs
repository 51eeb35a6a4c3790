//! Serving every endpoint of a run in parallel: each endpoint's backlog first, then the
//! new deliveries in order, retried within the time budget, and whatever is left kept in
//! the outbox. One report per endpoint.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::Rng;

use crate::config::Hook;
use crate::outbox::{Batch, Delivery, Outbox, Trigger};
use crate::output::Output;
use crate::record::{self, Record};
use crate::send::{self, Attempt};
use crate::{request, timefmt};

/// Attempts per delivery within one run.
const MAX_ATTEMPTS: u32 = 3;

/// How a run delivers.
pub struct Run<'a> {
    pub outbox: &'a Outbox,
    pub trigger: Trigger,
    /// When every endpoint must be done.
    pub deadline: Instant,
    /// Keep what fails in the outbox (false for test events).
    pub keep: bool,
    /// Where `--verbose` shows each attempt.
    pub out: Output,
}

/// What happened at one endpoint.
#[derive(Debug, Default)]
pub struct Report {
    pub hook: String,
    pub url: String,
    pub delivered: usize,
    pub from_backlog: usize,
    pub kept: usize,
    pub dropped: usize,
    pub status: Option<u16>,
    pub failure: Option<String>,
    pub problems: Vec<String>,
    pub elapsed: Duration,
}

impl Report {
    /// The one line the pusher sees for this endpoint.
    pub fn line(&self) -> String {
        let who = format!("{} ({})", self.hook, self.url);
        let count = |n: usize| {
            if n == 1 {
                "1 event".to_string()
            } else {
                format!("{n} events")
            }
        };
        let ms = self.elapsed.as_millis();
        let backlog = if self.from_backlog > 0 {
            format!(", {} from the outbox", self.from_backlog)
        } else {
            String::new()
        };
        let status = self.status.map(|s| format!(" ({s})")).unwrap_or_default();
        match &self.failure {
            None => format!("{who}: delivered {}{status}{backlog} in {ms} ms", count(self.delivered)),
            Some(reason) => {
                let delivered = if self.delivered > 0 {
                    format!("delivered {}{backlog}, then ", count(self.delivered))
                } else {
                    String::new()
                };
                let fate = if self.kept > 0 {
                    format!("{} kept for `git-webhooks redeliver`", count(self.kept))
                } else {
                    format!("{} not sent", count(self.dropped))
                };
                format!("{who}: {delivered}failed: {reason}; {fate}")
            }
        }
    }

    /// True when nothing failed.
    pub fn ok(&self) -> bool {
        self.failure.is_none()
    }
}

/// Delivers `jobs` (each hook with its new deliveries, in push order) in parallel.
pub fn deliver(run: &Run, jobs: Vec<(&Hook, Vec<Delivery>)>) -> Vec<Report> {
    std::thread::scope(|scope| {
        let workers: Vec<_> = jobs
            .into_iter()
            .map(|(hook, fresh)| (hook, scope.spawn(move || serve(run, hook, fresh))))
            .collect();
        workers
            .into_iter()
            .map(|(hook, worker)| {
                worker.join().unwrap_or_else(|_| Report {
                    hook: hook.name.clone(),
                    url: hook.url.display(),
                    failure: Some("internal error while sending; what was kept stays in the outbox".into()),
                    ..Report::default()
                })
            })
            .collect()
    })
}

/// How long a run waits for another process to finish sending to the same hook; after
/// that its events wait in the outbox, where that process or the next run finds them.
const LOCK_WAIT: Duration = Duration::from_secs(2);

fn serve(run: &Run, hook: &Hook, fresh: Vec<Delivery>) -> Report {
    let started = Instant::now();
    let mut report = Report {
        hook: hook.name.clone(),
        url: hook.url.display(),
        ..Report::default()
    };
    let agent = send::agent(hook);
    if !run.keep {
        let unsent = send_in_order(run, hook, &agent, fresh, &mut report, |_| {});
        report.dropped += unsent.len();
        report.elapsed = started.elapsed();
        return report;
    }
    let fresh_ids: HashSet<String> = fresh.iter().map(|d| d.id.clone()).collect();
    // Kept before anything is sent, so that a hook killed mid-way loses nothing.
    let unkept = match fresh.is_empty() {
        true => Vec::new(),
        false => match run.outbox.put(&hook.name, &fresh) {
            Ok(_) => Vec::new(),
            Err(e) => {
                report.problems.push(format!(
                    "could not keep {} event(s) in {}: {e}",
                    fresh.len(),
                    run.outbox.root().display()
                ));
                fresh
            }
        },
    };
    let _lock = match run
        .outbox
        .lock(&hook.name, (Instant::now() + LOCK_WAIT).min(run.deadline))
    {
        Ok(file) => file,
        Err(reason) => {
            report.failure = Some(reason);
            report.kept = fresh_ids.len() - unkept.len();
            report.dropped = unkept.len();
            report.elapsed = started.elapsed();
            return report;
        }
    };
    send_outbox(run, hook, &agent, &fresh_ids, &mut report);
    let unsent = send_in_order(run, hook, &agent, unkept, &mut report, |_| {});
    report.dropped += unsent.len();
    report.elapsed = started.elapsed();
    report
}

/// Sends the hook's kept batches oldest first, looking again for batches that other runs
/// kept meanwhile, until none is left or one delivery fails.
fn send_outbox(run: &Run, hook: &Hook, agent: &ureq::Agent, fresh_ids: &HashSet<String>, report: &mut Report) {
    let mut seen = HashSet::new();
    loop {
        let (batches, problems) = run.outbox.pending(&hook.name);
        report.problems.extend(problems);
        let batches: Vec<Batch> = batches.into_iter().filter(|b| seen.insert(b.path.clone())).collect();
        if batches.is_empty() {
            return;
        }
        for batch in batches {
            if report.failure.is_some() {
                report.kept += batch.deliveries.len();
                continue;
            }
            let mut done = batch.done;
            let mut from_backlog = 0;
            let remaining = send_in_order(run, hook, agent, batch.deliveries.clone(), report, |d| {
                done += 1;
                from_backlog += usize::from(!fresh_ids.contains(&d.id));
                run.outbox.mark_done(&batch, done);
            });
            report.from_backlog += from_backlog;
            report.kept += remaining.len();
            if let Err(e) = run.outbox.settle(&batch, &remaining) {
                report
                    .problems
                    .push(format!("could not update {}: {e}", batch.path.display()));
            }
        }
        if report.failure.is_some() {
            return;
        }
    }
}

/// Sends deliveries in order until one fails; returns that one and the rest, unsent.
fn send_in_order(
    run: &Run,
    hook: &Hook,
    agent: &ureq::Agent,
    deliveries: Vec<Delivery>,
    report: &mut Report,
    mut delivered: impl FnMut(&Delivery),
) -> Vec<Delivery> {
    let mut deliveries = deliveries.into_iter();
    while report.failure.is_none() {
        let Some(mut delivery) = deliveries.next() else { break };
        match deliver_one(run, hook, agent, &mut delivery, report) {
            Ok(()) => delivered(&delivery),
            Err(reason) => {
                report.failure = Some(reason);
                return std::iter::once(delivery).chain(deliveries).collect();
            }
        }
    }
    deliveries.collect()
}

/// Tries one delivery up to [`MAX_ATTEMPTS`] times within the budget; logs each attempt.
fn deliver_one(
    run: &Run,
    hook: &Hook,
    agent: &ureq::Agent,
    delivery: &mut Delivery,
    report: &mut Report,
) -> Result<(), String> {
    for n in 1..=MAX_ATTEMPTS {
        let now = Instant::now();
        if now >= run.deadline {
            return Err("time budget used up".into());
        }
        delivery.attempts += 1;
        let timeout = hook.timeout.min(run.deadline - now);
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let outcome = send::attempt(agent, &request::build(hook, delivery, unix), timeout);
        log_attempt(run, hook, delivery, &outcome, now.elapsed(), report);
        if run.out.verbose {
            let result = match &outcome {
                Attempt::Delivered { status } => status.to_string(),
                Attempt::Failed { error, .. } => error.clone(),
            };
            let ms = now.elapsed().as_millis();
            let (event, refname, id) = (delivery.event.name(), &delivery.refname, &delivery.id);
            run.out.detail(&format!(
                "{}: {event} {refname} {id} attempt {}: {result} in {ms} ms",
                hook.name, delivery.attempts
            ));
        }
        let (error, retry_after) = match outcome {
            Attempt::Delivered { status } => {
                report.status = Some(status);
                report.delivered += 1;
                return Ok(());
            }
            Attempt::Failed {
                error, retry: false, ..
            } => return Err(error),
            Attempt::Failed { error, retry_after, .. } => (error, retry_after),
        };
        if n == MAX_ATTEMPTS {
            return Err(format!("{error} after {n} attempts"));
        }
        let wait = retry_after.unwrap_or_else(|| backoff(n));
        if wait >= run.deadline.saturating_duration_since(Instant::now()) {
            return Err(format!("{error}; no time left in the budget to retry"));
        }
        std::thread::sleep(wait);
    }
    unreachable!("the loop returns on its last attempt")
}

/// 200 ms, 400 ms, … with ±50 % jitter so that many hooks do not retry in step.
fn backoff(attempt: u32) -> Duration {
    let base = 200.0 * f64::from(1u32 << (attempt - 1));
    Duration::from_millis((base * rand::thread_rng().gen_range(0.5..1.5)) as u64)
}

fn log_attempt(run: &Run, hook: &Hook, delivery: &Delivery, outcome: &Attempt, took: Duration, report: &mut Report) {
    let (status, error) = match outcome {
        Attempt::Delivered { status } => (Some(*status), None),
        Attempt::Failed { status, error, .. } => (*status, Some(error.clone())),
    };
    let record = Record {
        time: timefmt::now_utc(),
        hook: hook.name.clone(),
        event: delivery.event.name().into(),
        refname: delivery.refname.clone(),
        delivery: delivery.id.clone(),
        attempt: delivery.attempts,
        status,
        error,
        duration_ms: took.as_millis() as u64,
        trigger: run.trigger,
    };
    if let Err(e) = record::append(run.outbox.root(), &record) {
        if report.problems.len() < 3 {
            report.problems.push(format!("could not write the delivery log: {e}"));
        }
    }
}
