//! `send`: delivers a Note Hook or Merge Request Hook body made by a review tool.

use std::path::Path;

use super::{fail, read_stdin, Context};
use crate::cli::SendEvent;
use crate::delivery::outbox::Trigger;
use crate::delivery::worker;
use crate::event::EventKind;
use crate::ids::fresh_id;
use crate::payload::review;
use crate::push::Outcome;

pub(super) fn run(ctx: &Context, event: SendEvent, file: &Path) -> u8 {
    let kind = match event {
        SendEvent::Note => EventKind::Note,
        SendEvent::MergeRequest => EventKind::MergeRequest,
    };
    let text = if file == Path::new("-") {
        String::from_utf8_lossy(&read_stdin(&ctx.out)).into_owned()
    } else {
        match std::fs::read_to_string(file) {
            Ok(t) => t,
            Err(e) => return fail(&ctx.out, &format!("cannot read {}: {e}", file.display())),
        }
    };
    let Some(config) = ctx.config() else {
        return 1;
    };
    let event = match review::event(kind, &text, &config.repository.homepage) {
        Ok(e) => e,
        Err(e) => return fail(&ctx.out, &format!("{}: {e}; nothing was sent", file.display())),
    };
    let jobs = ctx
        .site
        .jobs(&config, std::slice::from_ref(&event), Trigger::Send, &|_, _| fresh_id());
    if jobs.iter().all(|(_, d)| d.is_empty()) {
        ctx.out.warn(&format!(
            "no hook takes this {} event (check the hooks' `events` and `branches`)",
            kind.name()
        ));
    }
    let reports = worker::deliver(&ctx.site.run(Trigger::Send, config.budget, true), jobs);
    ctx.show(&Outcome {
        notes: Vec::new(),
        reports,
    })
}
