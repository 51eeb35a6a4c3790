//! `test`: a push event for the default branch's latest commits, like a forge's "Test
//! Hook" button; nothing is kept.

use git2::Repository;

use super::{fail, Context};
use crate::config::{self, Endpoint};
use crate::delivery::outbox::Trigger;
use crate::delivery::worker;
use crate::event::EventKind;
use crate::git::update::{Change, ObjectId, RefUpdate};
use crate::ids::fresh_id;
use crate::push::{self, Outcome};

pub(super) fn run(ctx: &Context, only: Option<&str>) -> u8 {
    let Some(config) = ctx.config() else {
        return 1;
    };
    let hooks: Vec<&Endpoint> = match only {
        Some(name) => match config.hooks.iter().find(|h| h.name == name) {
            Some(h) => vec![h],
            None => {
                let names: Vec<&str> = config.hooks.iter().map(|h| h.name.as_str()).collect();
                return fail(
                    &ctx.out,
                    &format!("no hook named '{name}'; hooks: {}", names.join(", ")),
                );
            }
        },
        None => config
            .hooks
            .iter()
            .filter(|h| h.filter.events.contains(&EventKind::Push))
            .collect(),
    };
    if hooks.is_empty() {
        let file = ctx.site.git_dir().join(config::FILE_NAME);
        return fail(
            &ctx.out,
            &format!("no hook takes push events; add a [[hook]] to {}", file.display()),
        );
    }
    let Some(update) = latest_commits(&ctx.site.repo) else {
        return fail(&ctx.out, "the default branch has no commits yet; push something first");
    };
    let mut out = Outcome::default();
    let pusher = ctx.pusher(&config.users);
    let by = (&pusher, &[][..]);
    let (events, _) = ctx
        .site
        .build_events(&config, &[update], Vec::new(), by, None, &mut out);
    let jobs = hooks
        .into_iter()
        .map(|h| {
            let deliveries = events
                .iter()
                .map(|e| push::delivery(fresh_id(), h, e, Trigger::Test))
                .collect();
            (h, deliveries)
        })
        .collect();
    out.reports = worker::deliver(&ctx.site.run(Trigger::Test, config.budget, false), jobs);
    ctx.show(&out)
}

/// The default branch's last three commits as an update (a creation when it has fewer).
fn latest_commits(repo: &Repository) -> Option<RefUpdate> {
    let branch = crate::git::branch::default_branch(repo);
    let name = format!("refs/heads/{branch}");
    let head = repo.find_reference(&name).ok()?.peel_to_commit().ok()?;
    let mut old = head.clone();
    for _ in 0..3 {
        match old.parent(0) {
            Ok(p) => old = p,
            Err(_) => {
                let new = ObjectId::parse(&head.id().to_string())?;
                return Some(RefUpdate {
                    name: name.into_bytes(),
                    change: Change::Create { new },
                });
            }
        }
    }
    let change = Change::Update {
        old: ObjectId::parse(&old.id().to_string())?,
        new: ObjectId::parse(&head.id().to_string())?,
    };
    Some(RefUpdate {
        name: name.into_bytes(),
        change,
    })
}
