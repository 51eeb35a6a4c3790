//! Odd objects and names: tags of tags, tags of trees and blobs, merges, non-UTF-8 ref
//! names, SHA-256 repositories.

use crate::support::*;

fn setup() -> (Repo, Receiver) {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    (repo, receiver)
}

#[test]
fn a_tag_of_a_tag_peels_to_the_commit() {
    let (repo, receiver) = setup();
    let head = repo.commit("base");
    repo.git(&["tag", "-a", "inner", "-m", "inner"]);
    repo.git(&["tag", "-a", "outer", "-m", "outer", "inner"]);
    repo.push(&["origin", "main", "outer"]);
    let got = receiver.wait_for(2);
    let e = got[1].json();
    assert_eq!(e["ref"], "refs/tags/outer");
    assert_eq!(e["after"], repo.git(&["rev-parse", "outer"]).as_str());
    assert_eq!(e["checkout_sha"], head.as_str());
    assert_eq!(e["message"], "outer\n");
}

#[test]
fn tags_of_trees_and_blobs_have_no_checkout_sha() {
    let (repo, receiver) = setup();
    repo.commit("base");
    let tree = repo.git(&["rev-parse", "HEAD^{tree}"]);
    let blob = repo.git(&["hash-object", "-w", "--stdin"]);
    repo.git(&["tag", "tree-tag", &tree]);
    repo.git(&["tag", "-a", "blob-tag", "-m", "a blob", &blob]);
    repo.push(&["origin", "main", "tree-tag", "blob-tag"]);
    let got = receiver.wait_for(3);
    assert_eq!(got.len(), 3);
    for r in &got[1..] {
        let e = r.json();
        assert!(e["checkout_sha"].is_null(), "{e}");
        assert_eq!(e["total_commits_count"], 0);
    }
}

#[test]
fn a_merge_lists_the_merged_commits() {
    let (repo, receiver) = setup();
    let base = repo.commit("base");
    repo.push(&["origin", "main"]);
    repo.git(&["checkout", "-q", "-b", "topic"]);
    let t1 = repo.commit("topic 1");
    let t2 = repo.commit("topic 2");
    repo.git(&["checkout", "-q", "main"]);
    let m1 = repo.commit("main 1");
    repo.git(&["merge", "-q", "--no-ff", "-m", "Merge topic", "topic"]);
    let merge = repo.git(&["rev-parse", "HEAD"]);
    repo.push(&["origin", "main"]);
    let e = receiver.wait_for(2)[1].json();
    let ids = commit_ids(&e);
    assert_eq!(ids, rev_list(&repo, &["--reverse", &format!("{base}..{merge}")]));
    for id in [&t1, &t2, &m1, &merge] {
        assert!(ids.contains(id));
    }
    assert_eq!(e["total_commits_count"], 4);
}

#[test]
fn non_utf8_branch_names_are_escaped_losslessly() {
    let (repo, receiver) = setup();
    let head = repo.commit("base");
    let name: std::ffi::OsString = std::os::unix::ffi::OsStringExt::from_vec(b"refs/heads/caf\xe9".to_vec());
    let out = repo
        .command("git", &repo.work)
        .arg("update-ref")
        .arg(&name)
        .arg(&head)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = repo
        .command("git", &repo.work)
        .arg("push")
        .arg("origin")
        .arg({
            let mut spec = std::ffi::OsString::from("+");
            spec.push(&name);
            spec.push(":");
            spec.push(&name);
            spec
        })
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let e = receiver.wait_for(1)[0].json();
    assert_eq!(e["ref"], "refs/heads/caf\\xe9");
    assert_eq!(commit_ids(&e), vec![head]);
}

#[test]
fn a_sha256_repository_gets_one_clear_message_and_the_push_succeeds() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    let dir = repo.dir.path();
    repo.git_in(
        dir,
        &[
            "init",
            "-q",
            "--bare",
            "--object-format=sha256",
            "-b",
            "main",
            "sha256.git",
        ],
    );
    repo.git_in(dir, &["init", "-q", "--object-format=sha256", "-b", "main", "work256"]);
    let bare = dir.join("sha256.git");
    std::os::unix::fs::symlink(BIN, bare.join("hooks/post-receive")).unwrap();
    std::fs::write(
        bare.join("webhooks.toml"),
        format!("[[hook]]\nurl = \"{}\"\n", receiver.url("/")),
    )
    .unwrap();
    let work = dir.join("work256");
    repo.git_in(&work, &["commit", "-q", "--allow-empty", "-m", "one"]);
    let out = repo
        .command("git", &work)
        .args(["push", bare.to_str().unwrap(), "main"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    let messages = err.lines().filter(|l| l.contains("git-webhooks")).count();
    assert_eq!(messages, 1, "{err}");
    assert!(
        err.contains("uses SHA-256 object ids, which git-webhooks cannot read yet"),
        "{err}"
    );
    assert!(receiver.requests().is_empty());
}
