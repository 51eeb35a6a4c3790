//! Random histories and random multi-ref pushes, each event checked against
//! `git rev-list` run on the repository's state before the push.

use std::collections::BTreeMap;

use crate::support::*;

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Commits reachable from any local branch of the work clone.
fn all_commits(repo: &Repo) -> Vec<String> {
    repo.git(&["rev-list", "--all"]).lines().map(str::to_string).collect()
}

/// Makes 1..=n commits on top of `base`, sometimes merging another commit in; returns the tip.
fn grow(repo: &Repo, rng: &mut Rng, base: &str, n: usize, label: &str) -> String {
    let mut tip = base.to_string();
    for i in 0..n {
        let tree = repo.git(&["rev-parse", &format!("{tip}^{{tree}}")]);
        let others = all_commits(repo);
        let mut args = vec!["commit-tree".to_string(), tree, "-p".into(), tip.clone()];
        if rng.below(4) == 0 {
            let other = rng.pick(&others).clone();
            if other != tip {
                args.extend(["-p".into(), other]);
            }
        }
        args.extend(["-m".into(), format!("{label} {i}")]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        tip = repo.git(&refs);
        // Keep every commit reachable from a local ref, so later picks can find it.
        repo.git(&["update-ref", &format!("refs/keep/{}", &tip[..12]), &tip]);
    }
    tip
}

fn remote_refs(repo: &Repo) -> BTreeMap<String, String> {
    repo.bare_git(&["for-each-ref", "--format=%(objectname) %(refname)"])
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(id, name)| (name.to_string(), id.to_string())))
        .collect()
}

/// The expected (ids, total, forced) of a branch event, from `git rev-list`.
fn expected(repo: &Repo, before: &BTreeMap<String, String>, event: &serde_json::Value) -> (Vec<String>, usize, bool) {
    let (old, new) = (event["before"].as_str().unwrap(), event["after"].as_str().unwrap());
    if new == ZERO {
        return (vec![], 0, false);
    }
    let mut args: Vec<String> = vec!["--reverse".into(), new.into()];
    let mut forced = false;
    if old == ZERO {
        let excluded: Vec<String> = before.values().map(|id| format!("^{id}")).collect();
        args.extend(excluded);
    } else {
        args.push(format!("^{old}"));
        let ancestor = repo
            .command("git", &repo.bare)
            .args(["merge-base", "--is-ancestor", old, new])
            .status()
            .unwrap();
        forced = !ancestor.success();
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let all = rev_list(repo, &refs);
    let total = all.len();
    (all[total.saturating_sub(20)..].to_vec(), total, forced)
}

fn random_push(repo: &Repo, rng: &mut Rng, round: usize) -> Vec<String> {
    let branches: Vec<String> = remote_refs(repo)
        .keys()
        .filter(|r| r.starts_with("refs/heads/"))
        .cloned()
        .collect();
    let commits = all_commits(repo);
    let mut specs = Vec::new();
    let mut touched = std::collections::BTreeSet::new();
    for k in 0..1 + rng.below(4) {
        let action = rng.below(6);
        let branch = rng.pick(&branches).clone();
        if !touched.insert(branch.clone()) && action < 3 {
            continue;
        }
        let base = rng.pick(&commits[..]).clone();
        let count = rng.below(25);
        let spec = match action {
            0 => {
                let tip = repo.bare_git(&["rev-parse", &branch]);
                format!(
                    "{}:{branch}",
                    grow(repo, rng, &tip, 1 + count, &format!("ff{round}.{k}"))
                )
            }
            1 => format!(
                "+{}:{branch}",
                grow(repo, rng, &base, count % 3, &format!("force{round}.{k}"))
            ),
            2 if branches.len() > 1 && branch != "refs/heads/main" => format!(":{branch}"),
            3 => format!(
                "{}:refs/heads/new{round}-{k}",
                grow(repo, rng, &base, count % 4, &format!("new{round}.{k}"))
            ),
            4 => format!("{base}:refs/tags/t{round}-{k}"),
            _ => {
                let name = format!("a{round}-{k}");
                repo.git(&["tag", "-a", &name, "-m", "annotated", &base]);
                format!("refs/tags/{name}:refs/tags/{name}")
            }
        };
        specs.push(spec);
    }
    specs
}

/// Pushes with `GIT_WEBHOOKS_WALK` set to `walk` when given (`git`: every range is
/// walked by `git rev-list`, none in-process).
fn push_walking(repo: &Repo, args: &[&str], walk: Option<&str>) {
    let mut push = repo.command("git", &repo.work);
    push.arg("push").args(args);
    if let Some(walk) = walk {
        push.env("GIT_WEBHOOKS_WALK", walk);
    }
    let out = push.output().unwrap();
    assert!(out.status.success(), "git push {args:?}: {}", stderr(&out));
}

#[test]
fn random_histories_and_pushes_match_git_rev_list() {
    check_random_pushes(None);
}

#[test]
fn random_histories_and_pushes_match_git_rev_list_when_git_walks_every_range() {
    check_random_pushes(Some("git"));
}

fn check_random_pushes(walk: Option<&str>) {
    for seed in 1..=6u64 {
        let repo = Repo::new();
        let receiver = Receiver::start();
        repo.hook_to(&receiver.url("/"));
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let root = repo.commit("root");
        let main = grow(&repo, &mut rng, &root, 5, "main");
        repo.git(&["update-ref", "refs/heads/main", &main]);
        let side = grow(&repo, &mut rng, &root, 3, "side");
        repo.push(&[
            "origin",
            &format!("{main}:refs/heads/main"),
            &format!("{side}:refs/heads/side"),
        ]);
        let mut seen = receiver.wait_for(2).len();
        for round in 0..4 {
            let before = remote_refs(&repo);
            let specs = random_push(&repo, &mut rng, round);
            if specs.is_empty() {
                continue;
            }
            let mut args = vec!["origin"];
            args.extend(specs.iter().map(String::as_str));
            push_walking(&repo, &args, walk);
            let after = remote_refs(&repo);
            let changed = after.iter().filter(|(r, id)| before.get(*r) != Some(id)).count()
                + before.keys().filter(|r| !after.contains_key(*r)).count();
            let got = receiver.wait_for(seen + changed);
            assert_eq!(got.len(), seen + changed, "seed {seed} round {round}: {specs:?}");
            for request in &got[seen..] {
                let event = request.json();
                if event["object_kind"] != "push" {
                    assert_eq!(event["total_commits_count"], 0);
                    continue;
                }
                let (ids, total, forced) = expected(&repo, &before, &event);
                let context = format!("seed {seed} round {round} {} {specs:?}", event["ref"]);
                assert_eq!(commit_ids(&event), ids, "{context}");
                assert_eq!(event["total_commits_count"], total, "{context}");
                if event["before"] != ZERO && event["after"] != ZERO {
                    assert_eq!(event["forced"], forced, "{context}");
                }
            }
            seen = got.len();
        }
    }
}
