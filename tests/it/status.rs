//! `status` and `redeliver --all` over many real bare repositories under one root.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::*;

/// A bare repository at `repo.dir/rel`, with git-webhooks as its hook and one hook to
/// `url`, into which the work clone's `main` is pushed.
fn bare_in(repo: &Repo, rel: &str, url: &str) -> PathBuf {
    let bare = repo.dir.path().join(rel);
    std::fs::create_dir_all(bare.parent().unwrap()).unwrap();
    repo.git_in(
        repo.dir.path(),
        &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
    );
    std::os::unix::fs::symlink(BIN, bare.join("hooks/post-receive")).unwrap();
    point_at(&bare, url);
    repo.git(&["push", "-q", bare.to_str().unwrap(), "main"]);
    bare
}

fn point_at(bare: &Path, url: &str) {
    std::fs::write(
        bare.join("webhooks.toml"),
        format!("[[hook]]\nname = \"ci\"\nurl = \"{url}\"\ntimeout = 1\n"),
    )
    .unwrap();
}

fn status(repo: &Repo, args: &[&str]) -> (i32, String, String) {
    let mut cmd = repo.command(BIN, repo.dir.path());
    let out = cmd.arg("status").args(args).output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr(&out),
    )
}

fn json(repo: &Repo, args: &[&str]) -> Value {
    let mut full = args.to_vec();
    full.push("--json");
    serde_json::from_str(&status(repo, &full).1).unwrap()
}

#[test]
fn status_shows_pending_backoff_failed_and_the_last_attempt() {
    let repo = Repo::new();
    let dead = format!("http://127.0.0.1:{}/", free_port());
    repo.hook_to(&dead);
    repo.commit("one");
    repo.push(&["origin", "main"]);
    let bare = repo.bare.to_str().unwrap();
    let (code, text, _) = status(&repo, &["--repo", bare]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("ci: 1 pending, 0 failed, backing off until"), "{text}");
    assert!(
        text.contains("push refs/heads/main: failed: connection refused"),
        "{text}"
    );
    let doc = json(&repo, &["--repo", bare]);
    let hook = &doc["repositories"][0]["hooks"][0];
    assert_eq!((hook["pending"].as_u64(), hook["failed"].as_u64()), (Some(1), Some(0)));
    assert_eq!(hook["last"]["ok"], false);
    assert_eq!(hook["backoff_failures"], 1);

    // The receiver refuses: the delivery is set aside, and status exits 1.
    let receiver = Receiver::start();
    receiver.always(Answer::Status(400));
    repo.hook_to(&receiver.url("/"));
    repo.run(&["redeliver"], "");
    let (code, text, _) = status(&repo, &["--repo", bare]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("ci: 0 pending, 1 failed; last"), "{text}");
    assert!(text.contains("failed: HTTP 400"), "{text}");
    let (code, metrics, _) = status(&repo, &["--repo", bare, "--prometheus"]);
    assert_eq!(code, 1);
    let labels = format!("{{repository=\"{bare}\",hook=\"ci\"}}");
    for line in [
        format!("git_webhooks_failed_deliveries{labels} 1"),
        format!("git_webhooks_pending_deliveries{labels} 0"),
        format!("git_webhooks_last_attempt_success{labels} 0"),
        "git_webhooks_repositories 1".to_string(),
    ] {
        assert!(metrics.lines().any(|l| l == line), "{line} in\n{metrics}");
    }
    receiver.always(Answer::Status(200));
    repo.run(&["redeliver", "--failed"], "");
    let (code, text, _) = status(&repo, &["--repo", bare]);
    assert_eq!(code, 0, "{text}");
    assert!(text.contains("ci: 0 pending, 0 failed; last"), "{text}");
    assert!(text.contains("delivered (200)"), "{text}");
}

#[test]
fn status_all_and_redeliver_all_cover_every_repository_under_a_root() {
    let repo = Repo::new();
    let dead = format!("http://127.0.0.1:{}/", free_port());
    repo.hook_to(&dead);
    repo.commit("one");
    repo.push(&["origin", "main"]);
    let others = [
        bare_in(&repo, "team/a.git", &dead),
        bare_in(&repo, "team/sub/b.git", &dead),
    ];
    // A repository with no hooks at all, and one with nothing waiting.
    bare_in(&repo, "quiet.git", &dead);
    std::fs::remove_dir_all(repo.dir.path().join("quiet.git/webhooks")).unwrap();
    let root = repo.dir.path().to_str().unwrap();

    let doc = json(&repo, &["--all", root]);
    assert_eq!(
        doc["repositories_seen"], 4,
        "the work clone's .git is not a served repository"
    );
    assert_eq!(doc["pending"], 3);
    let (code, text, err) = status(&repo, &["--all", root]);
    assert_eq!(code, 0, "{text}{err}");
    assert!(
        text.contains("4 repositories: 3 with deliveries waiting or failed, 0 with failed deliveries"),
        "{text}"
    );
    assert!(!text.contains("quiet.git"), "{text}");
    assert!(err.is_empty(), "no progress line off a terminal: {err}");

    // The receiver is back: one command sends what every repository kept, with its id.
    let receiver = Receiver::start();
    for bare in others.iter().chain([&repo.bare]) {
        point_at(bare, &receiver.url("/"));
    }
    let kept_ids: Vec<String> = files_under(repo.dir.path())
        .iter()
        .filter(|p| p.to_string_lossy().contains("webhooks/outbox/"))
        .flat_map(|p| {
            let batch: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
            batch
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d["id"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(kept_ids.len(), 3);
    let mut cmd = repo.command(BIN, repo.dir.path());
    let out = cmd.args(["redeliver", "--quiet", "--all", root]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(out.stderr.is_empty(), "quiet: {}", stderr(&out));
    let got = receiver.wait_for(3);
    let mut sent: Vec<String> = got
        .iter()
        .map(|r| r.header("X-AtomGit-Delivery").unwrap().to_string())
        .collect();
    let mut kept_ids = kept_ids;
    sent.sort();
    kept_ids.sort();
    assert_eq!(sent, kept_ids);
    let doc = json(&repo, &["--all", root]);
    assert_eq!(doc["pending"], 0);

    // A refusal in one repository makes `status --all` exit 1; `redeliver --all --failed`
    // sends it again.
    receiver.always(Answer::Status(422));
    repo.git(&["commit", "-q", "--allow-empty", "-m", "two"]);
    repo.git(&["push", "-q", others[1].to_str().unwrap(), "main"]);
    let (code, text, _) = status(&repo, &["--all", root]);
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("1 with failed deliveries") && text.contains("team/sub/b.git"),
        "{text}"
    );
    receiver.always(Answer::Status(200));
    let mut cmd = repo.command(BIN, repo.dir.path());
    let out = cmd.args(["redeliver", "--all", root, "--failed"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 repositories under"), "{}", stderr(&out));
    assert_eq!(status(&repo, &["--all", root]).0, 0);
}

#[test]
fn the_system_files_root_is_the_default() {
    let repo = Repo::new();
    let (code, _, err) = status(&repo, &["--all"]);
    assert_ne!(code, 0);
    assert!(err.contains("set `root`"), "{err}");
    repo.system_config(&format!("root = \"{}\"\n", repo.dir.path().display()));
    let doc = json(&repo, &["--all"]);
    assert_eq!(doc["repositories_seen"], 1, "{doc}");
}

/// The owner of every file under `dir`.
fn owners(dir: &Path) -> Vec<u32> {
    use std::os::unix::fs::MetadataExt;
    let mut uids: Vec<u32> = files_under(dir)
        .iter()
        .map(|f| std::fs::symlink_metadata(f).unwrap().uid())
        .collect();
    uids.sort();
    uids.dedup();
    uids
}

/// Root looks at another account's repositories without writing anything there, and
/// `redeliver --all` sends their deliveries as that account.
#[test]
fn root_reads_every_account_and_redelivers_as_each_owner() {
    if !accounts("gwfleet", &["gwfleet-owner"]) {
        eprintln!("note: root_reads_every_account_and_redelivers_as_each_owner needs root; skipped");
        return;
    }
    let repo = Repo::new();
    let dead = format!("http://127.0.0.1:{}/", free_port());
    repo.commit("one");
    let theirs = bare_in(&repo, "srv/theirs.git", &dead);
    let srv = repo.dir.path().join("srv");
    let chown = std::process::Command::new("chown")
        .args(["-R", "gwfleet-owner:gwfleet"])
        .arg(&srv)
        .status()
        .unwrap();
    assert!(chown.success());
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(repo.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let owner = owners(&srv);
    assert_eq!(owner.len(), 1);
    assert_ne!(owner[0], 0);

    let root = srv.to_str().unwrap();
    let doc = json(&repo, &["--all", root]);
    assert_eq!(doc["pending"], 1, "{doc}");
    assert_eq!(owners(&srv), owner, "status wrote nothing");

    let receiver = Receiver::start();
    point_at(&theirs, &receiver.url("/"));
    let mut cmd = repo.command(BIN, repo.dir.path());
    let out = cmd.args(["redeliver", "--all", root]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(receiver.wait_for(1).len(), 1);
    assert_eq!(owners(&srv), owner, "everything under the repository stays its owner's");
    assert_eq!(json(&repo, &["--all", root])["pending"], 0);
}
