//! `hook` and `replay`: the post-receive hook, and the same run by hand.

use std::io::Write;

use super::Context;
use crate::delivery::outbox::Trigger;
use crate::git::pusher;
use crate::payload::Flavor;
use crate::push::{self, Outcome};

/// Builds, keeps and delivers the events of `input`'s ref updates; with a broken config,
/// records them for later.
pub(super) fn push(ctx: &Context, input: &[u8], trigger: Trigger) -> u8 {
    let mut out = Outcome::default();
    let updates = push::parse(input, &mut out);
    ctx.show(&out);
    let options = pusher::push_options();
    let outcome = match ctx.config() {
        Some(config) => {
            let pusher = ctx.pusher(&config.users);
            ctx.site.push(&config, updates, trigger, &pusher, &options)
        }
        None => {
            let mut out = Outcome::default();
            let tips = ctx.site.tips_before(&updates, &mut out);
            let why = format!("no events sent until {} is fixed", crate::config::FILE_NAME);
            let pusher = ctx.pusher(&Default::default());
            ctx.site.record(&updates, tips, (&pusher, &options), &why, &mut out);
            out
        }
    };
    ctx.show(&outcome)
}

/// `replay --dry-run`: each event's AtomGit body on a line of its own; nothing is sent.
pub(super) fn dry_run(ctx: &Context, input: &[u8]) -> u8 {
    let Some(config) = ctx.config() else {
        return 1;
    };
    let mut out = Outcome::default();
    let updates = push::parse(input, &mut out);
    let tips = ctx.site.tips_before(&updates, &mut out);
    let pusher = ctx.pusher(&config.users);
    let options = pusher::push_options();
    let (events, _) = ctx
        .site
        .build_events(&config, &updates, tips, (&pusher, &options), None, &mut out);
    ctx.show(&out);
    let mut stdout = std::io::stdout().lock();
    for event in &events {
        let mut line = Flavor::AtomGit.render(event);
        line.push(b'\n');
        if stdout.write_all(&line).is_err() {
            return 1;
        }
    }
    0
}
