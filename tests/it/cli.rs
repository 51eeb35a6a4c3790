//! The operator's commands: replay, test, check, log, listen, completions.

use crate::support::*;

#[test]
fn replay_dry_run_prints_one_json_document_per_event_without_any_hook() {
    let repo = Repo::new();
    let a = repo.commit("one");
    repo.git(&["tag", "v1"]);
    let b = repo.commit("two");
    repo.push(&["origin", "main", "v1"]);
    let input = format!("{a} {b} refs/heads/main\n{ZERO} {a} refs/tags/v1\n{ZERO} {a} refs/notes/x\n");
    let events = repo.dry_run(&input);
    assert_eq!(events.len(), 2);
    assert_eq!(commit_ids(&events[0]), vec![b.clone()]);
    assert_eq!(events[1]["object_kind"], "tag_push");
    let single = repo.run(&["replay", "--dry-run", &a, &b, "refs/heads/main"], "");
    assert_eq!(String::from_utf8(single.stdout).unwrap().lines().count(), 1);
}

#[test]
fn replay_of_a_creation_excludes_commits_other_refs_already_had() {
    let repo = Repo::new();
    repo.commits("base", 3);
    repo.push(&["origin", "main"]);
    repo.git(&["checkout", "-q", "-b", "topic"]);
    let t = repo.commit("topic");
    repo.push(&["origin", "topic"]);
    let events = repo.dry_run(&format!("{ZERO} {t} refs/heads/topic\n"));
    assert_eq!(commit_ids(&events[0]), vec![t]);
}

#[test]
fn bad_stdin_lines_are_reported_and_the_rest_still_sent() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    let a = repo.commit("one");
    repo.push(&["origin", "main"]);
    let missing = "1234567890123456789012345678901234567890";
    let input = format!("garbage\n{ZERO} {missing} refs/heads/x\n{ZERO} {a} refs/heads/main\n{ZERO} zz refs/heads/y\n");
    let out = repo.run(&["hook"], &input);
    let err = stderr(&out);
    assert!(err.contains("stdin line 1"), "{err}");
    assert!(err.contains("stdin line 4"), "{err}");
    assert!(err.contains(missing) && err.contains("not in the repository"), "{err}");
    assert_eq!(receiver.wait_for(2).len(), 2);
}

#[test]
fn test_sends_the_default_branchs_latest_commits() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    repo.commits("c", 5);
    std::fs::remove_file(repo.bare.join("hooks/post-receive")).unwrap();
    repo.push(&["origin", "main"]);
    let out = repo.run(&["test", "--hook", "ci"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let e = receiver.wait_for(1)[0].json();
    assert_eq!(e["ref"], "refs/heads/main");
    assert_eq!(e["total_commits_count"], 3);
    let missing = repo.run(&["test", "--hook", "nope"], "");
    assert!(!missing.status.success());
    assert!(stderr(&missing).contains("ci"));
}

#[test]
fn check_lists_hooks_with_secrets_masked_and_fails_on_errors() {
    let repo = Repo::new();
    repo.config(
        "[[hook]]\nname = \"ci\"\nurl = \"http://u:pw-s3cret@ci.example.com/b?t=q-s3cret\"\ntoken = \"tok-s3cret\"\n",
    );
    let out = repo.run(&["check"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(all.contains("ci  http://ci.example.com/b"), "{all}");
    assert!(all.contains("token: ********"), "{all}");
    assert!(!all.contains("s3cret"), "{all}");
    assert!(all.contains("plain http"), "{all}");
    repo.config("[[hook]]\nurl = \"nope\"\n");
    let out = repo.run(&["check"], "");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("webhooks.toml:2: key `url`"), "{}", stderr(&out));
}

#[test]
fn log_shows_recent_deliveries() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    repo.commit("one");
    repo.push(&["origin", "main"]);
    let out = repo.run(&["log", "--json"], "");
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[0]["trigger"], "push");
    assert_eq!(lines[0]["hook"], "ci");
    let id = receiver.requests()[0].header("X-AtomGit-Delivery").unwrap().to_string();
    assert_eq!(lines[0]["delivery"], id.as_str());
    let table = repo.run(&["log"], "");
    assert!(String::from_utf8_lossy(&table.stdout).contains("refs/heads/main"));
}

#[test]
fn completions_and_man_page_are_generated() {
    let repo = Repo::new();
    for shell in ["bash", "zsh", "fish"] {
        let out = repo.run(&["completions", shell], "");
        assert!(out.status.success());
        assert!(String::from_utf8_lossy(&out.stdout).contains("redeliver"), "{shell}");
    }
    let man = repo.run(&["man"], "");
    assert!(String::from_utf8_lossy(&man.stdout).contains(".TH"));
}

#[test]
fn the_demo_runs_and_shows_delivered_events() {
    let repo = Repo::new();
    let out = repo.command(BIN, repo.dir.path()).arg("demo").output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Push Hook") && text.contains("Tag Push Hook"), "{text}");
}

#[test]
fn listen_prints_each_requests_event_and_pretty_body() {
    let repo = Repo::new();
    let port = free_port();
    let listener = repo
        .command(BIN, repo.dir.path())
        .args(["listen", "--port", &port.to_string(), "--count", "1"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    repo.hook_to(&format!("http://127.0.0.1:{port}/hook"));
    let head = repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    assert!(stderr(&out).contains("delivered 1 event (200)"), "{}", stderr(&out));
    let printed = listener.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&printed.stdout);
    assert!(text.starts_with("POST /hook  Push Hook\n{\n"), "{text}");
    assert!(text.contains(&format!("  \"after\": \"{head}\"")), "{text}");
}

#[test]
fn requests_go_through_the_proxy_named_in_the_environment_except_no_proxy_hosts() {
    let repo = Repo::new();
    let proxy = Receiver::start();
    let direct = Receiver::start();
    repo.config(&format!(
        "[[hook]]\nname = \"far\"\nurl = \"http://hooks.example.invalid/build\"\n\n[[hook]]\nname = \"near\"\nurl = \"{}\"\n",
        direct.url("/near")
    ));
    repo.commit("one");
    let mut cmd = repo.command("git", &repo.work);
    cmd.args(["push", "origin", "main"])
        .env("HTTP_PROXY", proxy.url(""))
        .env("NO_PROXY", "127.0.0.1");
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    // The proxy is asked to open a tunnel to the far host; the near one is reached directly.
    let got = proxy.wait_for(1);
    assert_eq!(got[0].path, "hooks.example.invalid:80", "{}", stderr(&out));
    assert_eq!(direct.wait_for(1)[0].path, "/near");
    assert!(proxy.requests().iter().all(|r| !r.path.contains("near")));
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let repo = Repo::new();
    repo.config("[[hook]]\nurl = \"http://u:p@h.example/\"\n");
    let on_terminal = |no_color: bool| {
        let command = format!("{BIN} check --repo {}", repo.bare.display());
        let mut cmd = repo.command("script", repo.dir.path());
        cmd.args(["-qec", &command, "/dev/null"]);
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        String::from_utf8_lossy(&cmd.output().unwrap().stdout).into_owned()
    };
    assert!(on_terminal(false).contains("\x1b[33mwarning:"));
    let plain = on_terminal(true);
    assert!(plain.contains("warning:") && !plain.contains('\x1b'), "{plain}");
    let piped = repo.run(&["check"], "");
    assert!(stderr(&piped).contains("warning:") && !stderr(&piped).contains('\x1b'));
}

#[test]
fn quiet_hides_progress_and_verbose_shows_each_attempt() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    let head = repo.commit("one");
    std::fs::remove_file(repo.bare.join("hooks/post-receive")).unwrap();
    repo.push(&["origin", "main"]);
    let line = format!("{ZERO} {head} refs/heads/main\n");
    let quiet = repo.run(&["--quiet", "replay"], &line);
    assert_eq!(stderr(&quiet), "");
    let verbose = repo.run(&["--verbose", "replay"], &line);
    let err = stderr(&verbose);
    assert!(err.contains("refs/heads/main: push event, 1 commit(s)"), "{err}");
    assert!(err.contains("attempt 1: 200"), "{err}");
    assert_eq!(receiver.wait_for(2).len(), 2);
}

#[test]
fn the_default_branch_is_one_that_exists_and_head_is_never_changed() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    // As `git init --bare` leaves it on most machines, while people push `main`.
    repo.bare_git(&["symbolic-ref", "HEAD", "refs/heads/master"]);
    repo.commit("one");
    repo.push(&["origin", "main"]);
    assert_eq!(receiver.wait_for(1)[0].json()["project"]["default_branch"], "main");
    let test = repo.run(&["test"], "");
    assert!(test.status.success(), "{}", stderr(&test));
    assert_eq!(receiver.wait_for(2)[1].json()["ref"], "refs/heads/main");
    let check = stderr(&repo.run(&["check"], ""));
    assert!(
        check.contains("HEAD names the branch 'master', which does not exist") && check.contains("'main'"),
        "{check}"
    );
    assert_eq!(repo.bare_git(&["symbolic-ref", "HEAD"]), "refs/heads/master");

    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.commit("two");
    repo.push(&["origin", "topic", ":main"]);
    let events = receiver.wait_for(4);
    assert!(
        events[2..]
            .iter()
            .all(|e| e.json()["project"]["default_branch"] == "topic"),
        "the only branch left"
    );
}

#[test]
fn replay_credits_the_pusher_it_is_given() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    let head = repo.commit("one");
    repo.push(&["origin", "main"]);
    let replayed = repo.run(&["replay", "--pusher", "bob", ZERO, &head, "refs/heads/main"], "");
    assert!(replayed.status.success(), "{}", stderr(&replayed));
    let got = receiver.wait_for(2);
    assert_eq!(got[0].json()["user_name"], "alice", "GIT_WEBHOOKS_USER of the push");
    assert_eq!(got[1].json()["user_name"], "bob");
    let dry = repo.dry_run(&format!("{ZERO} {head} refs/heads/main\n"));
    assert_eq!(dry[0]["user_name"], "alice", "without --pusher: GIT_WEBHOOKS_USER");
}

#[test]
fn check_warns_when_the_hooks_run_git_webhooks_twice_per_push() {
    let repo = Repo::new();
    let hooks = repo.bare.join("hooks");
    assert!(!stderr(&repo.run(&["check"], "")).contains("times per push"));
    // gitolite's way: its own post-receive runs each post-receive.h* file.
    std::fs::remove_file(hooks.join("post-receive")).unwrap();
    std::fs::write(
        hooks.join("post-receive"),
        "#!/bin/sh\n# runs the repo-specific hooks\nfor h in \"$0\".h*; do \"$h\"; done\n",
    )
    .unwrap();
    std::fs::write(
        hooks.join("post-receive.h00-webhooks"),
        "#!/bin/sh\nexec git-webhooks hook\n",
    )
    .unwrap();
    std::os::unix::fs::symlink(BIN, hooks.join("post-receive.h01-again")).unwrap();
    let check = stderr(&repo.run(&["check"], ""));
    assert!(check.contains("run git-webhooks 2 times per push"), "{check}");
    assert!(
        check.contains("post-receive.h00-webhooks") && check.contains("post-receive.h01-again"),
        "{check}"
    );
}
