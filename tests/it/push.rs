//! A real `git push` delivers the right Push Hook and Tag Push Hook events.

use crate::support::*;

fn setup() -> (Repo, Receiver) {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/hook"));
    (repo, receiver)
}

#[test]
fn first_push_into_an_empty_repository_sends_the_whole_history() {
    let (repo, receiver) = setup();
    let ids: Vec<String> = (1..=3).map(|i| repo.commit(&format!("commit {i}"))).collect();
    let out = repo.push(&["origin", "main"]);
    let requests = receiver.wait_for(1);
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.header("X-AtomGit-Event"), Some("Push Hook"));
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    assert!(r.header("User-Agent").unwrap().starts_with("git-webhooks/"));
    let e = r.json();
    assert_eq!(e["object_kind"], "push");
    assert_eq!(e["event_name"], "push");
    assert_eq!(e["before"], ZERO);
    assert_eq!(e["after"], ids[2].as_str());
    assert_eq!(e["checkout_sha"], ids[2].as_str());
    assert_eq!(e["ref"], "refs/heads/main");
    assert_eq!(e["user_name"], "alice");
    assert_eq!(e["repository"]["name"], "project");
    assert_eq!(e["repository"]["homepage"], "https://git.example.com/demo/project");
    assert_eq!(commit_ids(&e), ids);
    assert_eq!(e["total_commits_count"], 3);
    let c = &e["commits"][0];
    assert_eq!(c["message"], "commit 1\n");
    assert_eq!(c["title"], "commit 1");
    assert_eq!(
        c["url"],
        format!("https://git.example.com/demo/project/commits/{}", ids[0])
    );
    assert_eq!(c["author"]["name"], "A U Thor");
    assert_eq!(c["author"]["email"], "author@example.com");
    let committed = repo.git(&["show", "-s", "--format=%cI", &ids[0]]);
    assert_eq!(c["timestamp"], committed.as_str());
    assert!(committed.ends_with("+08:00"));
    assert!(
        stderr(&out).contains("remote: git-webhooks: ci: delivered 1 event (200)"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_fast_forward_lists_old_to_new() {
    let (repo, receiver) = setup();
    let old = repo.commits("base", 2);
    repo.push(&["origin", "main"]);
    let new = repo.commits("more", 2);
    repo.push(&["origin", "main"]);
    let e = receiver.wait_for(2)[1].json();
    assert_eq!(e["before"], old.as_str());
    assert_eq!(e["after"], new.as_str());
    assert_eq!(
        commit_ids(&e),
        rev_list(&repo, &["--reverse", &format!("{old}..{new}")])
    );
    assert_eq!(e["total_commits_count"], 2);
    assert_eq!(e["forced"], false);
}

#[test]
fn a_new_branch_lists_only_commits_new_to_the_repository() {
    let (repo, receiver) = setup();
    repo.commits("base", 3);
    repo.push(&["origin", "main"]);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let ids = vec![repo.commit("feature 1"), repo.commit("feature 2")];
    repo.push(&["origin", "feature"]);
    let e = receiver.wait_for(2)[1].json();
    assert_eq!(e["ref"], "refs/heads/feature");
    assert_eq!(e["before"], ZERO);
    assert_eq!(commit_ids(&e), ids);
    assert_eq!(e["total_commits_count"], 2);
}

#[test]
fn a_branch_created_at_an_existing_commit_has_no_commits() {
    let (repo, receiver) = setup();
    repo.commits("base", 2);
    repo.push(&["origin", "main"]);
    repo.push(&["origin", "main:refs/heads/copy"]);
    let e = receiver.wait_for(2)[1].json();
    assert_eq!(e["commits"].as_array().unwrap().len(), 0);
    assert_eq!(e["total_commits_count"], 0);
}

#[test]
fn more_than_twenty_commits_are_capped_with_an_exact_count() {
    let (repo, receiver) = setup();
    let old = repo.commit("base");
    repo.push(&["origin", "main"]);
    let new = repo.commits("c", 25);
    repo.push(&["origin", "main"]);
    let e = receiver.wait_for(2)[1].json();
    let all = rev_list(&repo, &["--reverse", &format!("{old}..{new}")]);
    assert_eq!(e["total_commits_count"], 25);
    assert_eq!(commit_ids(&e), all[5..].to_vec());
    assert_eq!(commit_ids(&e).last().unwrap(), &new);
}

#[test]
fn max_commits_changes_the_cap() {
    let (repo, receiver) = setup();
    let text = std::fs::read_to_string(repo.bare.join("webhooks.toml")).unwrap();
    repo.config(&format!("[payload]\nmax_commits = 2\n{text}"));
    repo.commits("c", 5);
    repo.push(&["origin", "main"]);
    let e = receiver.wait_for(1)[0].json();
    assert_eq!(e["commits"].as_array().unwrap().len(), 2);
    assert_eq!(e["total_commits_count"], 5);
}

#[test]
fn a_force_push_lists_the_new_commits_and_says_forced() {
    let (repo, receiver) = setup();
    repo.commits("base", 3);
    let old = repo.commit("to be rewritten");
    repo.push(&["origin", "main"]);
    repo.git(&["reset", "-q", "--hard", "HEAD~2"]);
    let new = repo.commit("rewritten");
    repo.push(&["-f", "origin", "main"]);
    let e = receiver.wait_for(2)[1].json();
    assert_eq!(e["before"], old.as_str());
    assert_eq!(commit_ids(&e), vec![new.clone()]);
    assert_eq!(
        commit_ids(&e),
        rev_list(&repo, &["--reverse", &format!("{old}..{new}")])
    );
    assert_eq!(e["forced"], true);
}

#[test]
fn deleting_a_branch_and_a_tag_sends_empty_events() {
    let (repo, receiver) = setup();
    let head = repo.commit("base");
    repo.git(&["tag", "v1"]);
    repo.push(&["origin", "main", "main:refs/heads/gone", "v1"]);
    repo.push(&["origin", "--delete", "gone", "v1"]);
    let requests = receiver.wait_for(5);
    assert_eq!(requests.len(), 5);
    let deletes: Vec<_> = requests[3..]
        .iter()
        .map(|r| (r.header("X-AtomGit-Event").unwrap().to_string(), r.json()))
        .collect();
    for (_, e) in &deletes {
        assert_eq!(e["before"], head.as_str());
        assert_eq!(e["after"], ZERO);
        assert_eq!(e["commits"].as_array().unwrap().len(), 0);
        assert_eq!(e["total_commits_count"], 0);
        assert!(e["checkout_sha"].is_null());
    }
    let kinds: Vec<&str> = deletes.iter().map(|(h, _)| h.as_str()).collect();
    assert!(kinds.contains(&"Push Hook") && kinds.contains(&"Tag Push Hook"));
}

#[test]
fn tags_send_tag_push_events_only() {
    let (repo, receiver) = setup();
    let head = repo.commit("base");
    repo.push(&["origin", "main"]);
    repo.git(&["tag", "light"]);
    repo.git(&["tag", "-a", "annotated", "-m", "Release notes\n\nbody"]);
    repo.push(&["origin", "light", "annotated"]);
    let requests = receiver.wait_for(3);
    assert_eq!(requests.len(), 3);
    for r in &requests[1..] {
        assert_eq!(r.header("X-AtomGit-Event"), Some("Tag Push Hook"));
        let e = r.json();
        assert_eq!(e["object_kind"], "tag_push");
        assert_eq!(e["checkout_sha"], head.as_str());
        assert_eq!(e["commits"].as_array().unwrap().len(), 0);
        assert_eq!(e["total_commits_count"], 0);
        if e["ref"] == "refs/tags/annotated" {
            let tag_object = repo.bare_git(&["rev-parse", "refs/tags/annotated"]);
            assert_eq!(e["after"], tag_object.as_str());
            assert_ne!(tag_object, head);
            assert_eq!(e["message"], "Release notes\n\nbody\n");
        } else {
            assert_eq!(e["after"], head.as_str());
            assert!(e["message"].is_null());
        }
    }
}

#[test]
fn every_ref_of_a_push_gets_its_event() {
    let (repo, receiver) = setup();
    repo.commit("base");
    for i in 0..6 {
        repo.git(&["branch", &format!("b{i}")]);
        repo.git(&["tag", &format!("t{i}")]);
    }
    repo.push(&["origin", "--all"]);
    repo.push(&["origin", "--tags"]);
    let requests = receiver.wait_for(13);
    assert_eq!(requests.len(), 13);
    let tags = requests
        .iter()
        .filter(|r| r.header("X-AtomGit-Event") == Some("Tag Push Hook"))
        .count();
    assert_eq!(tags, 6);
}

#[test]
fn notes_and_other_refs_send_nothing() {
    let (repo, receiver) = setup();
    repo.commit("base");
    repo.push(&["origin", "main"]);
    repo.git(&["notes", "add", "-m", "a note"]);
    let out = repo.push(&["origin", "refs/notes/commits"]);
    repo.push(&["origin", "HEAD:refs/changes/01/1/1"]);
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(receiver.requests().len(), 1, "{}", stderr(&out));
}

#[test]
fn non_utf8_messages_and_names_are_decoded_lossily() {
    let (repo, receiver) = setup();
    let msg = repo.dir.path().join("msg");
    std::fs::write(&msg, b"caf\xe9 \xff\xfe\n").unwrap();
    repo.git(&[
        "-c",
        "i18n.commitEncoding=ISO-8859-1",
        "commit",
        "-q",
        "--allow-empty",
        "-F",
        msg.to_str().unwrap(),
    ]);
    repo.push(&["origin", "main"]);
    let e = receiver.wait_for(1)[0].json();
    let message = e["commits"][0]["message"].as_str().unwrap();
    assert!(message.starts_with("caf"), "{message}");
    assert!(message.contains('\u{fffd}'), "{message}");
}

#[test]
fn basic_auth_and_token_are_sent_and_never_shown() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    let url = format!(
        "http://jenkins:p%40ss-w0rd@127.0.0.1:{}/job?key=query-s3cret",
        receiver.port
    );
    repo.config(&format!("[[hook]]\nurl = \"{url}\"\ntoken = \"tok-s3cret\"\n"));
    repo.commit("base");
    let out = repo.push(&["origin", "main"]);
    let r = &receiver.wait_for(1)[0];
    // base64("jenkins:p@ss-w0rd")
    assert_eq!(r.header("Authorization"), Some("Basic amVua2luczpwQHNzLXcwcmQ="));
    assert_eq!(r.header("X-AtomGit-Token"), Some("tok-s3cret"));
    assert_eq!(r.path, "/job?key=query-s3cret");
    let err = stderr(&out);
    for secret in ["p%40ss", "p@ss", "tok-s3cret", "query-s3cret", "jenkins:"] {
        assert!(!err.contains(secret), "{secret} leaked: {err}");
    }
    assert!(err.contains("delivered 1 event"), "{err}");
}

#[test]
fn the_events_list_filters_what_a_hook_gets() {
    let repo = Repo::new();
    let tags_only = Receiver::start();
    let everything = Receiver::start();
    repo.config(&format!(
        "[[hook]]\nname = \"tags\"\nurl = \"{}\"\nevents = [\"tag_push\"]\n\n[[hook]]\nname = \"all\"\nurl = \"{}\"\n",
        tags_only.url("/"),
        everything.url("/")
    ));
    repo.commit("base");
    repo.git(&["tag", "v1"]);
    repo.push(&["origin", "main", "v1"]);
    assert_eq!(everything.wait_for(2).len(), 2);
    let got = tags_only.wait_for(1);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].header("X-AtomGit-Event"), Some("Tag Push Hook"));
}

#[test]
fn a_broken_config_never_fails_the_push_and_loses_nothing() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.config("[[hook]]\nurl = \"http://127.0.0.1:1/\"\nbogus = true\n");
    let head = repo.commit("base");
    let out = repo.push(&["origin", "main"]);
    let err = stderr(&out);
    assert!(
        err.contains("configuration has 1 error(s)") && err.contains("kept"),
        "{err}"
    );
    let remote: String = err.lines().filter(|l| l.starts_with("remote:")).collect();
    assert!(
        !remote.contains("bogus") && !remote.contains(repo.bare.to_str().unwrap()),
        "pushers see no config or path: {err}"
    );
    let check = stderr(&repo.run(&["check"], ""));
    assert!(check.contains("webhooks.toml:3") && check.contains("bogus"), "{check}");
    assert_eq!(repo.bare_git(&["rev-parse", "main"]), head);
    repo.hook_to(&receiver.url("/"));
    let out = repo.run(&["redeliver"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let got = receiver.wait_for(1);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].json()["after"], head.as_str());
    assert_eq!(commit_ids(&got[0].json()), vec![head]);
}

#[test]
fn a_new_branch_pushed_with_a_tag_no_hook_wants_still_lists_its_commits() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.config(&format!(
        "[[hook]]\nurl = \"{}\"\nevents = [\"push\"]\n",
        receiver.url("/")
    ));
    repo.commit("base");
    repo.push(&["origin", "main"]);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let ids = vec![repo.commit("f1"), repo.commit("f2")];
    repo.git(&["tag", "v1-rc"]);
    repo.push(&["origin", "feature", "v1-rc"]);
    let got = receiver.wait_for(2);
    assert_eq!(got.len(), 2);
    assert_eq!(commit_ids(&got[1].json()), ids);
}

#[test]
fn events_that_cannot_be_built_are_recorded_and_sent_later() {
    let (repo, receiver) = setup();
    let head = repo.commit("base");
    std::fs::remove_file(repo.bare.join("hooks/post-receive")).unwrap();
    repo.push(&["origin", "main"]);
    let mut cmd = repo.command(BIN, repo.dir.path());
    cmd.args([
        "replay",
        "--repo",
        repo.bare.to_str().unwrap(),
        ZERO,
        &head,
        "refs/heads/main",
    ])
    .env("PATH", "/nonexistent");
    let out = cmd.output().unwrap();
    assert!(
        stderr(&out).contains("kept for `git-webhooks redeliver`"),
        "{}",
        stderr(&out)
    );
    assert!(receiver.requests().is_empty());
    let out = repo.run(&["redeliver"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(commit_ids(&receiver.wait_for(1)[0].json()), vec![head]);
}

#[test]
fn ref_names_that_are_not_utf8_stay_distinct_in_payloads_logs_and_filters() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let repo = Repo::new();
    let (all, filtered) = (Receiver::start(), Receiver::start());
    repo.config(&format!(
        "[[hook]]\nname = \"all\"\nurl = \"{}\"\n\n[[hook]]\nname = \"filtered\"\nurl = \"{}\"\nbranches = ['a\\xff']\n",
        all.url("/"),
        filtered.url("/")
    ));
    repo.commit("one");
    for name in [&b"refs/heads/a\xff"[..], b"refs/heads/a\xfe"] {
        let out = repo
            .command("git", &repo.work)
            .args(["update-ref", "--no-deref"])
            .arg(OsStr::from_bytes(name))
            .arg("HEAD")
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    repo.push(&["origin", "refs/heads/a*:refs/heads/a*"]);
    let mut refs: Vec<String> = all
        .wait_for(2)
        .iter()
        .map(|r| r.json()["ref"].as_str().unwrap().to_string())
        .collect();
    refs.sort();
    assert_eq!(refs, ["refs/heads/a\\xfe", "refs/heads/a\\xff"]);
    let got = filtered.wait_for(1);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(filtered.requests().len(), 1);
    assert_eq!(got[0].json()["ref"], "refs/heads/a\\xff");
    let log = repo.run(&["log", "--json"], "");
    let refs: Vec<String> = String::from_utf8_lossy(&log.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["ref"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert!(refs.contains(&"refs/heads/a\\xff".to_string()), "{refs:?}");
    assert!(refs.contains(&"refs/heads/a\\xfe".to_string()), "{refs:?}");
}
