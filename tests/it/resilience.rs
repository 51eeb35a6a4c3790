//! What a busy server throws at the hook: refused events, dead receivers, a backlog of
//! recorded pushes, unreadable secrets, crashes, full disks, links and long names.

use std::path::Path;
use std::process::Command;

use crate::support::*;

fn delivery_ids(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| r.header("X-AtomGit-Delivery").unwrap().to_string())
        .collect()
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Moves each of the branches `b0…b{n-1}` to a new commit of its own in one
/// `git fast-import`: the first time they start from `main`, then from where they are.
fn many_branches(repo: &Repo, n: usize, prefix: &str) {
    let mut stream = String::new();
    for i in 0..n {
        let message = format!("{prefix} {i}");
        let exists = !repo.git(&["branch", "--list", &format!("b{i}")]).is_empty();
        let parent = if exists { format!("b{i}") } else { "main".into() };
        stream.push_str(&format!(
            "commit refs/heads/b{i}\ncommitter C <c@example.com> {} +0000\ndata {}\n{message}\nfrom refs/heads/{parent}^0\n\n",
            1_700_000_000 + i,
            message.len()
        ));
    }
    let mut child = repo
        .command("git", &repo.work)
        .args(["fast-import", "--quiet", "--force"])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), stream.as_bytes()).unwrap();
    assert!(child.wait().unwrap().success());
}

#[test]
fn a_refused_event_is_set_aside_and_the_later_events_still_go_out() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    receiver.script(&[Answer::Status(404)]);
    repo.commit("base");
    repo.git(&["branch", "b1"]);
    repo.git(&["branch", "b2"]);
    let out = repo.push(&["origin", "b1", "b2", "main"]);
    let got = receiver.wait_for(3);
    assert_eq!(got.len(), 3, "one attempt for the refused event: {}", stderr(&out));
    let refs: Vec<_> = got
        .iter()
        .map(|r| r.json()["ref"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(refs, ["refs/heads/b1", "refs/heads/b2", "refs/heads/main"]);
    let refused_id = delivery_ids(&got)[0].clone();
    assert!(stderr(&out).contains("set aside as failed"), "{}", stderr(&out));

    let pending = repo.run(&["redeliver", "--dry-run"], "");
    assert_eq!(stdout(&pending), "", "a refused event is not pending");
    let listed = repo.run(&["redeliver", "--dry-run", "--failed"], "");
    let listed = stdout(&listed);
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 1, "{listed}");
    assert!(
        lines[0].contains(&refused_id) && lines[0].contains("refs/heads/b1"),
        "{}",
        lines[0]
    );
    let log = repo.run(&["log"], "");
    assert!(
        stdout(&log).contains("404") && stdout(&log).contains("set aside as failed"),
        "{}",
        stdout(&log)
    );
    let check = repo.run(&["check"], "");
    assert!(stderr(&check).contains("1 failed delivery"), "{}", stderr(&check));

    let again = repo.run(&["redeliver", "--failed"], "");
    assert!(again.status.success(), "{}", stderr(&again));
    let got = receiver.wait_for(4);
    assert_eq!(delivery_ids(&got)[3], refused_id, "sent again with its id");
    assert_eq!(stdout(&repo.run(&["redeliver", "--dry-run", "--failed"], "")), "");
    assert!(!stderr(&repo.run(&["check"], "")).contains("failed deliver"));
}

#[test]
fn timeouts_408_425_and_429_keep_their_place_and_are_retried() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    receiver.script(&[Answer::Status(408), Answer::Status(425)]);
    repo.commit("one");
    repo.push(&["origin", "main"]);
    let got = receiver.wait_for(3);
    assert_eq!(got.len(), 3);
    let ids = delivery_ids(&got);
    assert!(ids.iter().all(|i| i == &ids[0]));
    assert_eq!(stdout(&repo.run(&["redeliver", "--dry-run", "--failed"], "")), "");
}

#[test]
fn a_dead_receiver_costs_one_push_not_every_push() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    receiver.always(Answer::Status(503));
    let first = repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    assert_eq!(receiver.wait_for(3).len(), 3, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("pushes leave this hook alone until"),
        "{}",
        stderr(&out)
    );

    let second = repo.commit("two");
    let out = repo.push(&["origin", "main"]);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(receiver.requests().len(), 3, "the backing-off hook was not tried");
    assert!(stderr(&out).contains("backing off"), "{}", stderr(&out));
    assert!(stderr(&out).contains("1 event kept"), "{}", stderr(&out));
    for args in [&["check"][..], &["log"]] {
        let shown = stderr(&repo.run(args, ""));
        assert!(shown.contains("backing off until"), "{args:?}: {shown}");
    }

    receiver.always(Answer::Status(200));
    let out = repo.run(&["redeliver"], "");
    assert!(out.status.success(), "redeliver ignores the backoff: {}", stderr(&out));
    let afters: Vec<String> = receiver.wait_for(5)[3..]
        .iter()
        .map(|r| r.json()["after"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(afters, [first, second.clone()]);
    assert!(!stderr(&repo.run(&["check"], "")).contains("backing off"));
    let third = repo.commit("three");
    repo.push(&["origin", "main"]);
    assert_eq!(
        receiver.wait_for(6)[5].json()["after"],
        third.as_str(),
        "the success ended it"
    );
}

#[test]
fn recorded_pushes_are_rebuilt_within_the_budget_and_the_rest_stays_recorded() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.commit("base");
    repo.push(&["origin", "main"]);
    many_branches(&repo, 400, "first");
    repo.push(&["origin", "--all"]);
    repo.config("[[hook]]\nurl = \"http://127.0.0.1:1/\"\nbogus = true\n");
    many_branches(&repo, 400, "second");
    let out = repo.push(&["origin", "--all"]);
    assert!(stderr(&out).contains("400 ref update(s) kept"), "{}", stderr(&out));

    repo.config(&format!(
        "[delivery]\nbudget = 1\n\n[[hook]]\nname = \"ci\"\nurl = \"{}\"\n",
        receiver.url("/")
    ));
    repo.commit("after");
    // Each update built by `git rev-list` processes: 400 of them take seconds.
    let push = repo
        .command("git", &repo.work)
        .args(["push", "origin", "main"])
        .env("GIT_WEBHOOKS_WALK", "git")
        .output()
        .unwrap();
    assert!(push.status.success(), "{}", stderr(&push));
    let pending = stdout(&repo.run(&["redeliver", "--dry-run"], ""));
    let still: usize = pending
        .lines()
        .filter_map(|l| l.split("recorded push: ").nth(1))
        .map(|l| l.split(' ').next().unwrap().parse::<usize>().unwrap())
        .sum();
    assert!(still > 0, "the backlog cannot all be built in half a second: {pending}");

    let out = repo.run(&["redeliver"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let got = receiver.wait_for(401);
    assert_eq!(got.len(), 401);
    let mut ids = delivery_ids(&got);
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 401, "every event once");
    let mut refs: Vec<String> = got
        .iter()
        .map(|r| r.json()["ref"].as_str().unwrap().to_string())
        .collect();
    refs.sort();
    refs.dedup();
    assert_eq!(refs.len(), 401);
}

#[test]
fn a_recorded_push_rebuilt_twice_gets_the_same_delivery_ids() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.config("[[hook]]\nurl = \"http://127.0.0.1:1/\"\nbogus = true\n");
    repo.commit("one");
    repo.git(&["branch", "side"]);
    repo.push(&["origin", "main", "side"]);
    repo.hook_to(&receiver.url("/"));
    // A copy of the repository as it was: as if a first rebuild died before it finished.
    let copy = repo.dir.path().join("copy.git");
    assert!(Command::new("cp")
        .arg("-a")
        .arg(&repo.bare)
        .arg(&copy)
        .status()
        .unwrap()
        .success());
    for dir in [&repo.bare, &copy] {
        let out = repo
            .command(BIN, repo.dir.path())
            .arg("redeliver")
            .arg("--repo")
            .arg(dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let got = receiver.wait_for(4);
    let ids = delivery_ids(&got);
    assert_eq!(ids.len(), 4);
    assert_eq!(ids[..2], ids[2..], "same events, same ids");
    assert_ne!(ids[0], ids[1]);
}

#[test]
fn one_hooks_unreadable_secret_does_not_stop_the_others() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.config(&format!(
        "[[hook]]\nname = \"good\"\nurl = \"{}\"\n\n[[hook]]\nname = \"needs-env\"\nurl = \"{}\"\ntoken = {{ env = \"GW_TEST_LATE_TOKEN\" }}\n",
        receiver.url("/good"),
        receiver.url("/env")
    ));
    let head = repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    let err = stderr(&out);
    let got = receiver.wait_for(1);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert_eq!(receiver.requests().len(), 1, "{err}");
    assert_eq!(got[0].path, "/good");
    assert!(
        err.contains("needs-env: failed: a secret of this hook cannot be read") && err.contains("1 event kept"),
        "{err}"
    );
    let log = String::from_utf8_lossy(&repo.run(&["log"], "").stdout).into_owned();
    assert!(log.contains("GW_TEST_LATE_TOKEN"), "the administrator's details: {log}");
    let check = repo.run(&["check"], "");
    assert!(!check.status.success());
    assert!(stderr(&check).contains("GW_TEST_LATE_TOKEN"), "{}", stderr(&check));

    let out = repo
        .command(BIN, repo.dir.path())
        .args(["redeliver", "--repo"])
        .arg(&repo.bare)
        .env("GW_TEST_LATE_TOKEN", "late-value")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let got = receiver.wait_for(2);
    assert_eq!(got[1].path, "/env");
    assert_eq!(got[1].header("X-AtomGit-Token"), Some("late-value"));
    assert_eq!(got[1].json()["after"], head.as_str());
}

#[test]
fn an_unreadable_outbox_file_stays_and_only_garbage_is_set_aside() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&format!("http://127.0.0.1:{}/", free_port()));
    repo.commit("one");
    repo.push(&["origin", "main"]);
    repo.hook_to(&receiver.url("/"));
    let dir = repo.bare.join("webhooks/outbox/h-ci");
    std::fs::create_dir_all(dir.join("0000000000000001-unreadable.json")).unwrap();
    std::fs::write(dir.join("0000000000000002-garbage.json"), "{not json").unwrap();
    let out = repo.run(&["redeliver"], "");
    let err = stderr(&out);
    assert!(err.contains("cannot read") && err.contains("tried again"), "{err}");
    assert!(
        dir.join("0000000000000001-unreadable.json").is_dir(),
        "a read error is not corruption"
    );
    assert!(dir.join("0000000000000002-garbage.corrupt").exists(), "{err}");
    assert_eq!(receiver.wait_for(1).len(), 1, "the readable batch is sent");
}

#[test]
fn temporary_files_left_by_a_crash_are_cleaned_up() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    let dir = repo.bare.join("webhooks/outbox/h-ci");
    std::fs::create_dir_all(&dir).unwrap();
    let (old, new) = (dir.join(".tmp-999999-1"), dir.join(".tmp-999999-2"));
    std::fs::write(&old, "half").unwrap();
    std::fs::write(&new, "in progress").unwrap();
    let touched = Command::new("touch")
        .args(["-d", "2 hours ago"])
        .arg(&old)
        .status()
        .unwrap();
    assert!(touched.success());
    repo.commit("one");
    repo.push(&["origin", "main"]);
    assert!(!old.exists(), "a stale temporary file is removed");
    assert!(new.exists(), "a recent one may belong to a running process");
}

/// Mounts a tiny tmpfs at `dir`; false where this account cannot mount.
fn mount_small_disk(dir: &Path) -> bool {
    std::fs::create_dir_all(dir).unwrap();
    is_root()
        && Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=96k", "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success())
}

#[test]
fn a_full_disk_says_so_and_loses_nothing_already_kept() {
    let repo = Repo::new();
    let webhooks = repo.bare.join("webhooks");
    if !mount_small_disk(&webhooks) {
        eprintln!("skipped: mounting a small tmpfs needs root");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&webhooks);
    let port = free_port();
    repo.hook_to(&format!("http://127.0.0.1:{port}/"));
    let first = repo.commit("kept before the disk filled up");
    repo.push(&["origin", "main"]);
    std::fs::remove_dir_all(webhooks.join("backoff")).ok();
    let filler = webhooks.join("filler");
    let _ = Command::new("dd")
        .args(["if=/dev/zero", "bs=4k", "count=1000"])
        .arg(format!("of={}", filler.display()))
        .stderr(std::process::Stdio::null())
        .status();
    repo.commit("pushed onto a full disk");
    let out = repo.push(&["origin", "main"]);
    assert!(
        stderr(&out).contains("1 event neither sent nor kept"),
        "{}",
        stderr(&out)
    );
    let log = String::from_utf8_lossy(&repo.run(&["log"], "").stdout).into_owned();
    let shown = format!("{}{log}", stderr(&out));
    assert!(shown.contains("the disk is full"), "{shown}");
    std::fs::remove_file(&filler).unwrap();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    let out = repo.run(&["redeliver"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(receiver.wait_for(1)[0].json()["after"], first.as_str());
}

#[test]
fn files_under_webhooks_are_never_written_through_links() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    let decoy = repo.dir.path().join("decoy");
    std::fs::write(&decoy, "precious\n").unwrap();
    std::fs::create_dir_all(repo.bare.join("webhooks")).unwrap();
    std::os::unix::fs::symlink(&decoy, repo.bare.join("webhooks/deliveries.log")).unwrap();
    let decoy_dir = repo.dir.path().join("decoy-dir");
    std::fs::create_dir_all(&decoy_dir).unwrap();
    std::os::unix::fs::symlink(&decoy_dir, repo.bare.join("webhooks/locks")).unwrap();
    repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&decoy).unwrap(), "precious\n");
    assert_eq!(std::fs::read_dir(&decoy_dir).unwrap().count(), 0);
}

#[test]
fn hooks_with_long_and_non_latin_names_keep_and_send_their_events() {
    let repo = Repo::new();
    let port = free_port();
    let names = ["构建".repeat(100), "🚀".repeat(200), "x".repeat(200)];
    let mut config = String::new();
    for name in &names {
        config.push_str(&format!(
            "[[hook]]\nname = \"{name}\"\nurl = \"http://127.0.0.1:{port}/{}\"\n\n",
            name.len()
        ));
    }
    repo.config(&config);
    repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    assert_eq!(stderr(&out).matches("1 event kept").count(), 3, "{}", stderr(&out));
    for entry in std::fs::read_dir(repo.bare.join("webhooks/outbox")).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(
            name.len() <= 120 && !name.to_string_lossy().contains("127.0.0.1"),
            "{name:?}"
        );
    }
    let receiver = Receiver::start();
    repo.config(&config.replace(&format!("127.0.0.1:{port}"), &format!("127.0.0.1:{}", receiver.port)));
    let out = repo.run(&["redeliver"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let mut paths: Vec<String> = receiver.wait_for(3).iter().map(|r| r.path.clone()).collect();
    paths.sort();
    assert_eq!(paths, ["/200", "/600", "/800"]);
}
