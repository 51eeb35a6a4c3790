//! Serving every endpoint of a run in parallel: each endpoint's backlog first, then the
//! new deliveries in order, retried within the time budget, and whatever is left kept in
//! the outbox. One report per endpoint.

use std::collections::HashSet;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::Rng;

use crate::config::Endpoint;
use crate::delivery::attempt::{self, Attempt, Failure, FailureKind};
use crate::delivery::log::Record;
use crate::delivery::nats::Publisher;
use crate::delivery::outbox::{Batch, Delivery, Outbox, Trigger};
use crate::delivery::request;
use crate::delivery::store::{self, Unsynced};
use crate::timefmt;

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
    /// Leave hooks that are backing off alone, keeping their events (pushes do;
    /// commands an operator runs do not).
    pub respect_backoff: bool,
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
    /// Deliveries the receiver refused, set aside as failed.
    pub set_aside: usize,
    /// Why the last of them was refused.
    pub refusal: Option<String>,
    pub status: Option<u16>,
    /// Why the run stopped sending to this endpoint, if it did.
    pub failure: Option<String>,
    /// Until when the hook is left alone after this run or an earlier one.
    pub backoff_until: Option<String>,
    pub problems: Vec<String>,
    /// One line per attempt, for `--verbose`.
    pub details: Vec<String>,
    pub elapsed: Duration,
}

fn count(n: usize) -> String {
    if n == 1 {
        "1 event".to_string()
    } else {
        format!("{n} events")
    }
}

impl Report {
    fn new(hook: &Endpoint) -> Report {
        Report {
            hook: hook.name.clone(),
            url: hook.transport.url.display(),
            ..Report::default()
        }
    }

    /// The one line shown for this endpoint; the URL only to the administrator.
    pub fn line(&self, with_url: bool) -> String {
        let who = match with_url {
            true => format!("{} ({})", self.hook, self.url),
            false => self.hook.clone(),
        };
        let ms = self.elapsed.as_millis();
        let backlog = if self.from_backlog > 0 {
            format!(", {} from the outbox", self.from_backlog)
        } else {
            String::new()
        };
        let status = self.status.map(|s| format!(" ({s})")).unwrap_or_default();
        let refused = match (&self.refusal, self.set_aside) {
            (Some(why), n) if n > 0 => format!(
                "; {} refused ({why}) and set aside as failed: `git-webhooks redeliver --failed` sends again",
                count(n)
            ),
            _ => String::new(),
        };
        match &self.failure {
            None => format!(
                "{who}: delivered {}{status}{backlog} in {ms} ms{refused}",
                count(self.delivered)
            ),
            Some(reason) => {
                let delivered = if self.delivered > 0 {
                    format!("delivered {}{backlog}, then ", count(self.delivered))
                } else {
                    String::new()
                };
                let fate = match (self.kept, self.dropped) {
                    (kept, 0) => format!("{} kept for `git-webhooks redeliver`", count(kept)),
                    (0, dropped) => format!("{} not sent", count(dropped)),
                    (kept, dropped) => format!(
                        "{} kept for `git-webhooks redeliver`, {} neither sent nor kept",
                        count(kept),
                        count(dropped)
                    ),
                };
                let until = match &self.backoff_until {
                    Some(t) => format!("; pushes leave this hook alone until {t}"),
                    None => String::new(),
                };
                format!("{who}: {delivered}failed: {reason}; {fate}{refused}{until}")
            }
        }
    }

    /// True when nothing failed and nothing was refused.
    pub fn ok(&self) -> bool {
        self.failure.is_none() && self.set_aside == 0
    }
}

/// Delivers `jobs` (each hook with its new deliveries, in push order) in parallel.
pub fn deliver(run: &Run, jobs: Vec<(&Endpoint, Vec<Delivery>)>) -> Vec<Report> {
    in_parallel(jobs, |hook, fresh| serve(run, hook, fresh))
}

/// Sends each hook's failed deliveries again, oldest first, with their ids.
pub fn deliver_failed(run: &Run, hooks: Vec<&Endpoint>) -> Vec<Report> {
    let jobs = hooks.into_iter().map(|h| (h, ())).collect();
    in_parallel(jobs, |hook, ()| serve_failed(run, hook))
}

/// Runs `work` for each hook on a thread of its own (a single hook on this one); a worker
/// that panics gets a report that says so.
fn in_parallel<T: Send>(mut jobs: Vec<(&Endpoint, T)>, work: impl Fn(&Endpoint, T) -> Report + Sync) -> Vec<Report> {
    let panicked = |hook: &Endpoint| Report {
        failure: Some("internal error while sending; what was kept stays in the outbox".into()),
        ..Report::new(hook)
    };
    if jobs.len() == 1 {
        let (hook, job) = jobs.pop().expect("one job");
        let report = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(hook, job)));
        return vec![report.unwrap_or_else(|_| panicked(hook))];
    }
    std::thread::scope(|scope| {
        let work = &work;
        let workers: Vec<_> = jobs
            .into_iter()
            .map(|(hook, job)| (hook, scope.spawn(move || work(hook, job))))
            .collect();
        workers
            .into_iter()
            .map(|(hook, worker)| worker.join().unwrap_or_else(|_| panicked(hook)))
            .collect()
    })
}

/// How one endpoint's deliveries leave: POSTed with an HTTP agent, or published to NATS.
enum Sender {
    Http(ureq::Agent),
    Nats(Box<Publisher>),
}

impl Sender {
    /// The sender for `hook`; a NATS hook connects when it first publishes.
    fn new(hook: &Endpoint) -> Sender {
        match hook.transport.nats {
            Some(_) => Sender::Nats(Box::default()),
            None => Sender::Http(attempt::agent(hook)),
        }
    }

    fn send(&self, hook: &Endpoint, delivery: &Delivery, timeout: Duration) -> Attempt {
        let unix = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let request = request::build(hook, delivery, unix);
        match self {
            Sender::Http(agent) => attempt::post(agent, &request, timeout),
            Sender::Nats(publisher) => publisher.publish(hook, delivery, &request, timeout),
        }
    }
}

/// How long a run waits for another process to finish sending to the same hook; after
/// that its events wait in the outbox, where that process or the next run finds them.
const LOCK_WAIT: Duration = Duration::from_secs(2);

fn serve(run: &Run, hook: &Endpoint, fresh: Vec<Delivery>) -> Report {
    let started = Instant::now();
    let mut report = Report::new(hook);
    let finish = |mut report: Report| {
        report.elapsed = started.elapsed();
        report
    };
    // A hook that cannot send now (its secret cannot be read, or it is backing off) keeps
    // its events without waiting for anything.
    let hold = match hook.unavailable.is_empty() {
        false => {
            report.problems.extend(hook.unavailable.iter().cloned());
            Some("a secret of this hook cannot be read (`git-webhooks check` says which); its events wait until it can be".into())
        }
        true if run.respect_backoff => run.outbox.backoff(&hook.name).filter(|b| b.active()).map(|b| {
            report.backoff_until = Some(b.until());
            format!("backing off after {} failed run(s) ({})", b.failures, b.error)
        }),
        true => None,
    };
    if let Some(reason) = hold {
        let total = fresh.len();
        let unkept = match run.keep {
            true => {
                let (unkept, unsynced) = keep(run, hook, fresh, &mut report);
                if let Some(unsynced) = unsynced {
                    note_sync(unsynced.sync(), &mut report);
                }
                unkept
            }
            false => fresh,
        };
        report.failure = Some(reason);
        report.kept = total - unkept.len();
        report.dropped = unkept.len();
        return finish(report);
    }
    let sender = Sender::new(hook);
    if !run.keep {
        let unsent = send_in_order(run, hook, &sender, fresh, &mut report, |_| {});
        report.dropped += unsent.len();
        return finish(report);
    }
    let fresh_ids: HashSet<String> = fresh.iter().map(|d| d.id.clone()).collect();
    // Kept before anything is sent, so that a hook killed mid-way loses nothing; the disk
    // catches up while the first request is on its way.
    let (unkept, unsynced) = keep(run, hook, fresh, &mut report);
    std::thread::scope(|scope| {
        let syncing = unsynced.map(|unsynced| scope.spawn(move || unsynced.sync()));
        send_kept(run, hook, &sender, &fresh_ids, unkept, &mut report);
        if let Some(syncing) = syncing {
            let synced = syncing
                .join()
                .unwrap_or_else(|_| Err(std::io::Error::other("internal error")));
            note_sync(synced, &mut report);
        }
    });
    finish(report)
}

/// Sends what the outbox holds for `hook`, then what could not be kept, under the hook's
/// lock.
fn send_kept(
    run: &Run,
    hook: &Endpoint,
    sender: &Sender,
    fresh_ids: &HashSet<String>,
    unkept: Vec<Delivery>,
    report: &mut Report,
) {
    let _lock = match run
        .outbox
        .lock(&hook.name, (Instant::now() + LOCK_WAIT).min(run.deadline))
    {
        Ok(file) => file,
        Err(reason) => {
            report.failure = Some(reason);
            report.kept = fresh_ids.len() - unkept.len();
            report.dropped = unkept.len();
            return;
        }
    };
    send_outbox(run, hook, sender, fresh_ids, report);
    let unsent = send_in_order(run, hook, sender, unkept, report, |_| {});
    report.dropped += unsent.len();
    settle_backoff(run, hook, report);
}

/// Keeps `fresh` in the outbox; returns what could not be kept, and the kept batch
/// still to be synced to the disk.
fn keep(run: &Run, hook: &Endpoint, fresh: Vec<Delivery>, report: &mut Report) -> (Vec<Delivery>, Option<Unsynced>) {
    if fresh.is_empty() {
        return (fresh, None);
    }
    match run.outbox.put(&hook.name, &fresh) {
        Ok(unsynced) => (Vec::new(), Some(unsynced)),
        Err(e) => {
            report.problems.push(format!(
                "could not keep {} in the outbox: {}",
                count(fresh.len()),
                store::describe(&e)
            ));
            (fresh, None)
        }
    }
}

/// Says when kept events did not reach the disk: they are in the outbox, but may not
/// survive a power loss.
fn note_sync(synced: std::io::Result<()>, report: &mut Report) {
    if let Err(e) = synced {
        report.problems.push(format!(
            "kept events may not survive a power loss: {}",
            store::describe(&e)
        ));
    }
}

/// A delivery went through: the backoff ends. The run failed for the receiver's sake:
/// pushes leave the hook alone for a while.
fn settle_backoff(run: &Run, hook: &Endpoint, report: &mut Report) {
    if report.delivered > 0 || report.set_aside > 0 {
        run.outbox.end_backoff(&hook.name);
    }
    if let Some(reason) = &report.failure {
        match run.outbox.back_off(&hook.name, reason) {
            Ok(b) => report.backoff_until = Some(b.until()),
            Err(e) => report
                .problems
                .push(format!("could not note the backoff: {}", store::describe(&e))),
        }
    }
}

/// Sends the hook's kept batches oldest first, looking again for batches that other runs
/// kept meanwhile, until none is left or one delivery fails.
fn send_outbox(run: &Run, hook: &Endpoint, sender: &Sender, fresh_ids: &HashSet<String>, report: &mut Report) {
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
            let mut left = batch.deliveries.len();
            let mut progress = run.outbox.progress(&batch);
            let mut from_backlog = 0;
            let remaining = send_in_order(run, hook, sender, batch.deliveries.clone(), report, |d| {
                left -= 1;
                from_backlog += usize::from(!fresh_ids.contains(&d.id));
                // After the last one, settling removes the batch at once.
                if left > 0 {
                    progress.note();
                }
            });
            report.from_backlog += from_backlog;
            report.kept += remaining.len();
            if let Err(e) = run.outbox.settle(&batch, &remaining) {
                report.problems.push(format!(
                    "could not update {}: {}",
                    batch.path.display(),
                    store::describe(&e)
                ));
            }
        }
        if report.failure.is_some() {
            return;
        }
    }
}

/// Sends deliveries in order until one fails; returns that one and the rest, unsent. A
/// delivery the receiver refuses is set aside (when the run keeps what fails) and the
/// line goes on; `done` is called for each delivery that left the line.
fn send_in_order(
    run: &Run,
    hook: &Endpoint,
    sender: &Sender,
    deliveries: Vec<Delivery>,
    report: &mut Report,
    mut done: impl FnMut(&Delivery),
) -> Vec<Delivery> {
    let mut deliveries = deliveries.into_iter();
    while report.failure.is_none() {
        let Some(mut delivery) = deliveries.next() else { break };
        match deliver_one(run, hook, sender, &mut delivery, report) {
            Ok(()) => done(&delivery),
            Err(failure) if failure.kind == FailureKind::Refused && run.keep => {
                match run.outbox.put_failed(&delivery, failure.status, &failure.reason) {
                    Ok(()) => {
                        report.set_aside += 1;
                        report.refusal = Some(failure.reason);
                        done(&delivery);
                    }
                    Err(e) => {
                        report.failure = Some(format!(
                            "{}, and it could not be set aside: {}",
                            failure.reason,
                            store::describe(&e)
                        ));
                        return std::iter::once(delivery).chain(deliveries).collect();
                    }
                }
            }
            Err(failure) => {
                report.failure = Some(failure.reason);
                return std::iter::once(delivery).chain(deliveries).collect();
            }
        }
    }
    deliveries.collect()
}

/// Sends the hook's failed deliveries in order: each delivered one is removed, each
/// refused again stays failed, and a transient failure stops the line.
fn serve_failed(run: &Run, hook: &Endpoint) -> Report {
    let started = Instant::now();
    let mut report = Report::new(hook);
    let (failed, problems) = run.outbox.failed(&hook.name);
    report.problems = problems;
    if let Some(reason) = hook.unavailable.first() {
        report.failure = Some(reason.clone());
        report.set_aside = failed.len();
        return report;
    }
    let _lock = match run.outbox.lock(&hook.name, Instant::now() + LOCK_WAIT) {
        Ok(file) => file,
        Err(reason) => {
            report.failure = Some(reason);
            return report;
        }
    };
    let sender = Sender::new(hook);
    for (path, mut failed) in failed {
        if report.failure.is_some() {
            report.set_aside += 1;
            continue;
        }
        match deliver_one(run, hook, &sender, &mut failed.delivery, &mut report) {
            Ok(()) => {
                let _ = std::fs::remove_file(&path);
            }
            Err(failure) => {
                report.set_aside += 1;
                if let Err(e) = run.outbox.put_failed(&failed.delivery, failure.status, &failure.reason) {
                    report
                        .problems
                        .push(format!("could not update {}: {}", path.display(), store::describe(&e)));
                }
                match failure.kind {
                    FailureKind::Refused => report.refusal = Some(failure.reason),
                    _ => report.failure = Some(failure.reason),
                }
            }
        }
    }
    if report.delivered > 0 {
        run.outbox.end_backoff(&hook.name);
    }
    report.elapsed = started.elapsed();
    report
}

/// Tries one delivery up to [`MAX_ATTEMPTS`] times within the budget, retrying only
/// transient failures; logs each attempt.
fn deliver_one(
    run: &Run,
    hook: &Endpoint,
    sender: &Sender,
    delivery: &mut Delivery,
    report: &mut Report,
) -> Result<(), Failure> {
    let transient = |reason: String, status| Failure {
        reason,
        status,
        kind: FailureKind::Transient { retry_after: None },
    };
    for n in 1..=MAX_ATTEMPTS {
        let now = Instant::now();
        if now >= run.deadline {
            return Err(transient("time budget used up".into(), None));
        }
        delivery.attempts += 1;
        let timeout = hook.transport.timeout.min(run.deadline - now);
        let outcome = sender.send(hook, delivery, timeout);
        log_attempt(run, hook, delivery, &outcome, now.elapsed(), report);
        let result = match &outcome {
            Attempt::Delivered { status } => status.to_string(),
            Attempt::Published {
                stream,
                sequence,
                duplicate,
            } => match duplicate {
                true => format!("already in stream {stream} as message {sequence}"),
                false => format!("stored in stream {stream} as message {sequence}"),
            },
            Attempt::Failed(f) => f.reason.clone(),
        };
        let (event, refname, id) = (delivery.event.name(), &delivery.refname, &delivery.id);
        let ms = now.elapsed().as_millis();
        report.details.push(format!(
            "{}: {event} {refname} {id} attempt {}: {result} in {ms} ms",
            hook.name, delivery.attempts
        ));
        let failure = match outcome {
            Attempt::Delivered { status } => {
                report.status = Some(status);
                report.delivered += 1;
                return Ok(());
            }
            Attempt::Published { .. } => {
                report.delivered += 1;
                return Ok(());
            }
            Attempt::Failed(failure) => failure,
        };
        let FailureKind::Transient { retry_after } = failure.kind else {
            return Err(failure);
        };
        if n == MAX_ATTEMPTS {
            return Err(transient(
                format!("{} after {n} attempts", failure.reason),
                failure.status,
            ));
        }
        let wait = retry_after.unwrap_or_else(|| backoff(n));
        if wait >= run.deadline.saturating_duration_since(Instant::now()) {
            let reason = format!("{}; no time left in the budget to retry", failure.reason);
            return Err(transient(reason, failure.status));
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

fn log_attempt(
    run: &Run,
    hook: &Endpoint,
    delivery: &Delivery,
    outcome: &Attempt,
    took: Duration,
    report: &mut Report,
) {
    let (status, error, refused) = match outcome {
        Attempt::Delivered { status } => (Some(*status), None, false),
        Attempt::Published { .. } => (None, None, false),
        Attempt::Failed(f) => (f.status, Some(f.reason.clone()), f.kind == FailureKind::Refused),
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
        set_aside: run.keep && refused,
        problem: None,
    };
    if let Err(e) = run.outbox.log().append(&record) {
        if report.problems.len() < 3 {
            report
                .problems
                .push(format!("could not write the delivery log: {}", store::describe(&e)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_that_panics_gets_a_report_saying_so_alone_or_beside_others() {
        let dir = tempfile::tempdir().unwrap();
        let hooks = "[[hook]]\nname = \"bad\"\nurl = \"http://127.0.0.1:9/\"\n\
                     [[hook]]\nname = \"good\"\nurl = \"http://127.0.0.1:9/\"\n";
        std::fs::write(dir.path().join(crate::config::FILE_NAME), hooks).unwrap();
        let config = crate::config::load(dir.path()).unwrap();
        let work = |hook: &Endpoint, ()| match hook.name.as_str() {
            "bad" => panic!("on purpose"),
            _ => Report::new(hook),
        };
        for n in [1, 2] {
            let jobs = config.hooks.iter().take(n).map(|h| (h, ())).collect();
            let reports = in_parallel(jobs, work);
            assert_eq!(reports.len(), n);
            assert!(reports[0].failure.as_deref().unwrap().contains("internal error"));
            assert!(reports[1..].iter().all(|r| r.failure.is_none() && r.hook == "good"));
        }
    }
}
