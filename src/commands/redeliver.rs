//! `redeliver`: sends what earlier runs kept (ignoring backoffs), builds what was
//! recorded, and with `--failed` sends again what receivers refused.

use std::time::{Duration, Instant};

use super::Context;
use crate::config::{self, Endpoint};
use crate::delivery::outbox::Trigger;
use crate::delivery::worker;
use crate::push::Outcome;

/// How long `redeliver` may take at most, whatever the push budget.
const REDELIVER_BUDGET: Duration = Duration::from_secs(600);

/// `redeliver`: what earlier runs kept, or with `--failed` what receivers refused.
pub(super) fn run(ctx: &Context, dry_run: bool, failed: bool) -> u8 {
    if let Some(problem) = ctx.site.outbox.unreadable() {
        return super::fail(&ctx.out, &problem);
    }
    if dry_run {
        return if failed { list_failed(ctx) } else { list_pending(ctx) };
    }
    let Some(config) = ctx.config() else {
        return super::fail(
            &ctx.out,
            "nothing was sent; fix the file and run `git-webhooks redeliver` again",
        );
    };
    let waiting = if failed {
        ctx.site.outbox.hooks_with_failed()
    } else {
        let mut out = Outcome::default();
        ctx.site
            .flush_recorded_pushes(&config, Instant::now() + REDELIVER_BUDGET / 2, &mut out);
        ctx.show(&out);
        ctx.site.outbox.hooks_with_pending()
    };
    for orphan in waiting
        .iter()
        .filter(|name| !config.hooks.iter().any(|h| &&h.name == name))
    {
        ctx.out.warn(&format!(
            "deliveries for hook '{orphan}' are kept, but {} no longer defines that hook",
            config::FILE_NAME
        ));
    }
    let hooks: Vec<&Endpoint> = config.hooks.iter().filter(|h| waiting.contains(&h.name)).collect();
    if hooks.is_empty() {
        ctx.out.info(if failed {
            "no failed deliveries"
        } else {
            "nothing to redeliver"
        });
        return 0;
    }
    let run = ctx.site.run(Trigger::Redeliver, REDELIVER_BUDGET, true);
    let reports = if failed {
        worker::deliver_failed(&run, hooks)
    } else {
        worker::deliver(&run, hooks.into_iter().map(|h| (h, Vec::new())).collect())
    };
    ctx.show(&Outcome {
        notes: Vec::new(),
        reports,
    })
}

fn list_pending(ctx: &Context) -> u8 {
    let (pushes, _) = ctx.site.outbox.recorded_pushes();
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
    for hook in ctx.site.outbox.hooks_with_pending() {
        let (batches, _) = ctx.site.outbox.pending(&hook);
        lines.extend(batches.iter().flat_map(|b| &b.deliveries).map(|d| {
            let (event, attempts) = (d.event.name(), d.attempts);
            format!(
                "{}  {}  {event}  {}  {}  attempts={attempts}",
                d.created, d.hook, d.refname, d.id
            )
        }));
    }
    if lines.is_empty() {
        ctx.out.info("nothing pending");
    }
    super::print_lines(lines)
}

fn list_failed(ctx: &Context) -> u8 {
    let mut lines = Vec::new();
    for hook in ctx.site.outbox.hooks_with_failed() {
        let (failed, problems) = ctx.site.outbox.failed(&hook);
        for problem in problems {
            ctx.out.warn(&problem);
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
        ctx.out.info("no failed deliveries");
    }
    super::print_lines(lines)
}
