//! `log`: recent deliveries from the delivery log.

use super::Context;
use crate::delivery::{log, store};

/// `log`: the last `n` attempts (and problems noted), as text or JSON lines.
pub(super) fn run(ctx: &Context, n: usize, json: bool) -> u8 {
    let records = match log::recent(ctx.site.outbox.store(), n) {
        Ok(r) => r,
        Err(e) => {
            let path = log::path(ctx.site.outbox.root());
            return super::fail(
                &ctx.out,
                &format!("cannot read {}: {}", path.display(), store::describe(&e)),
            );
        }
    };
    if records.is_empty() {
        ctx.out.info("no deliveries yet");
    }
    for line in super::check::hook_states(&ctx.site.outbox) {
        ctx.out.info(&line);
    }
    let lines = records.iter().map(|r| {
        if json {
            return serde_json::to_string(r).expect("records serialize");
        }
        if let Some(problem) = &r.problem {
            return format!("{}  {:<16} problem: {problem}", r.time, r.hook);
        }
        let outcome = match (&r.status, &r.error) {
            (Some(s), None) => s.to_string(),
            (Some(s), Some(e)) => format!("{s} {e}"),
            (None, Some(e)) => e.clone(),
            (None, None) => "-".into(),
        };
        let outcome = match r.set_aside {
            true => format!("{outcome} (set aside as failed)"),
            false => outcome,
        };
        format!(
            "{}  {:<16} {:<9} {:<24} #{} {:>6} ms  {}  {}  {outcome}",
            r.time,
            r.hook,
            r.event,
            r.refname,
            r.attempt,
            r.duration_ms,
            r.delivery,
            r.trigger.name()
        )
    });
    super::print_lines(lines)
}
