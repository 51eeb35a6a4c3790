//! Serving every endpoint of a run in parallel: each endpoint's backlog first, then the
//! new deliveries in order, retried within the time budget, and whatever is left kept in
//! the outbox. One report per endpoint.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::Rng;

use crate::config::Hook;
use crate::outbox::{Delivery, Outbox, Trigger};
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
            .map(|(hook, fresh)| scope.spawn(move || serve(run, hook, fresh)))
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("endpoint workers do not panic"))
            .collect()
    })
}

fn serve(run: &Run, hook: &Hook, fresh: Vec<Delivery>) -> Report {
    let started = Instant::now();
    let mut report = Report {
        hook: hook.name.clone(),
        url: hook.url.display(),
        ..Report::default()
    };
    let lock = match run.keep {
        true => match run.outbox.lock(&hook.name, run.deadline) {
            Ok(file) => Some(file),
            Err(reason) => {
                report.failure = Some(reason);
                keep_all(run, &mut report, fresh);
                report.elapsed = started.elapsed();
                return report;
            }
        },
        false => None,
    };
    let agent = send::agent(hook);
    let (backlog, problems) = if run.keep {
        run.outbox.pending(&hook.name)
    } else {
        Default::default()
    };
    report.problems = problems;
    for batch in backlog {
        if report.failure.is_some() {
            report.kept += batch.deliveries.len();
            continue;
        }
        let remaining = send_in_order(run, hook, &agent, batch.deliveries.clone(), &mut report);
        report.from_backlog += batch.deliveries.len() - remaining.len();
        report.kept += remaining.len();
        if let Err(e) = run.outbox.settle(&batch, &remaining) {
            report
                .problems
                .push(format!("could not update {}: {e}", batch.path.display()));
        }
    }
    let rest = send_in_order(run, hook, &agent, fresh, &mut report);
    keep_all(run, &mut report, rest);
    drop(lock);
    report.elapsed = started.elapsed();
    report
}

/// Sends deliveries in order until one fails; returns that one and the rest, unsent.
fn send_in_order(
    run: &Run,
    hook: &Hook,
    agent: &ureq::Agent,
    deliveries: Vec<Delivery>,
    report: &mut Report,
) -> Vec<Delivery> {
    let mut deliveries = deliveries.into_iter();
    while report.failure.is_none() {
        let Some(mut delivery) = deliveries.next() else { break };
        if let Err(reason) = deliver_one(run, hook, agent, &mut delivery, report) {
            report.failure = Some(reason);
            return std::iter::once(delivery).chain(deliveries).collect();
        }
    }
    deliveries.collect()
}

fn keep_all(run: &Run, report: &mut Report, deliveries: Vec<Delivery>) {
    if deliveries.is_empty() {
        return;
    }
    if !run.keep {
        report.dropped += deliveries.len();
        return;
    }
    match run.outbox.put(&deliveries[0].hook, &deliveries) {
        Ok(_) => report.kept += deliveries.len(),
        Err(e) => {
            report.dropped += deliveries.len();
            report.problems.push(format!(
                "could not keep {} deliveries in {}: {e}",
                deliveries.len(),
                run.outbox.root().display()
            ));
        }
    }
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
                Attempt::Failed { error, .. } => hook.redact(error),
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
            } => return Err(hook.redact(&error)),
            Attempt::Failed { error, retry_after, .. } => (hook.redact(&error), retry_after),
        };
        if n == MAX_ATTEMPTS {
            return Err(format!("{error} after {n} attempts"));
        }
        let wait = retry_after.unwrap_or_else(|| backoff(n));
        if Instant::now() + wait >= run.deadline {
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
        Attempt::Failed { status, error, .. } => (*status, Some(hook.redact(error))),
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
