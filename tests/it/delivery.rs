//! Delivery: ids, retries, budget, outbox and redelivery against misbehaving receivers.

use std::time::{Duration, Instant};

use crate::support::*;

fn ids(requests: &[Request]) -> Vec<String> {
    requests
        .iter()
        .map(|r| r.header("X-AtomGit-Delivery").unwrap().to_string())
        .collect()
}

#[test]
fn a_500_500_200_receiver_gets_the_same_delivery_id_three_times() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    receiver.script(&[Answer::Status(500), Answer::Status(502)]);
    repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    let got = receiver.wait_for(3);
    assert_eq!(got.len(), 3, "{}", stderr(&out));
    let ids = ids(&got);
    assert!(ids.iter().all(|i| i == &ids[0]));
    assert_eq!(got[0].header("Idempotency-Key"), Some(ids[0].as_str()));
    assert_eq!(ids[0].len(), 36);
    assert!(stderr(&out).contains("delivered 1 event (200)"), "{}", stderr(&out));
}

#[test]
fn bodies_and_answers_larger_than_the_buffers_go_through_whole() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    let big_header: &'static str = Box::leak("v".repeat(40 << 10).into_boxed_str());
    receiver.script(&[Answer::WithHeader(200, "X-Large", big_header)]);
    let messages: Vec<String> = (0..20)
        .map(|i| format!("commit {i}\n\n{}", "x".repeat(10_000)))
        .collect();
    for message in &messages {
        repo.commit(message);
    }
    let out = repo.push(&["origin", "main"]);
    let got = receiver.wait_for(1);
    assert!(stderr(&out).contains("delivered 1 event (200)"), "{}", stderr(&out));
    let body = got[0].json();
    assert!(got[0].body.len() > 200_000, "{}", got[0].body.len());
    let listed: Vec<&str> = body["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["message"].as_str().unwrap())
        .collect();
    assert_eq!(listed.len(), 20);
    assert!(listed
        .iter()
        .all(|m| messages.iter().any(|sent| sent.trim_end() == m.trim_end())));
}

#[test]
fn retry_after_is_honoured() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    receiver.script(&[Answer::WithHeader(429, "Retry-After", "1")]);
    repo.commit("one");
    let start = Instant::now();
    repo.push(&["origin", "main"]);
    assert_eq!(receiver.wait_for(2).len(), 2);
    assert!(start.elapsed() >= Duration::from_secs(1));
}

#[test]
fn a_redirect_is_kept_not_followed() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    receiver.script(&[Answer::WithHeader(302, "Location", "/elsewhere")]);
    repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    std::thread::sleep(Duration::from_millis(200));
    let got = receiver.requests();
    assert_eq!(got.len(), 1, "redirects must not be followed");
    assert!(stderr(&out).contains("302"), "{}", stderr(&out));
    let pending = repo.run(&["redeliver", "--dry-run"], "");
    assert_eq!(String::from_utf8_lossy(&pending.stdout).lines().count(), 1);
    repo.run(&["redeliver"], "");
    let got = receiver.wait_for(2);
    assert_eq!(ids(&got)[0], ids(&got)[1]);
}

#[test]
fn a_silent_receiver_cannot_hold_the_push_past_the_budget() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    receiver.always(Answer::Silent);
    repo.config(&format!(
        "[delivery]\nbudget = 2\n\n[[hook]]\nname = \"slow\"\nurl = \"{}\"\ntimeout = 30\n",
        receiver.url("/")
    ));
    repo.commit("one");
    let start = Instant::now();
    let out = repo.push(&["origin", "main"]);
    let took = start.elapsed();
    assert!(took < Duration::from_secs(6), "push took {took:?}");
    assert!(
        stderr(&out).contains("kept for `git-webhooks redeliver`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_connection_reset_mid_answer_is_retried() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    receiver.script(&[Answer::Reset]);
    repo.commit("one");
    repo.push(&["origin", "main"]);
    let got = receiver.wait_for(2);
    assert_eq!(got.len(), 2);
    assert_eq!(ids(&got)[0], ids(&got)[1]);
}

#[test]
fn events_kept_while_the_receiver_is_down_arrive_once_in_order() {
    let repo = Repo::new();
    // A port nobody listens on: take one and close it.
    let port = free_port();
    repo.hook_to(&format!("http://127.0.0.1:{port}/"));
    let mut heads = Vec::new();
    for i in 0..4 {
        heads.push(repo.commit(&format!("c{i}")));
        let out = repo.push(&["origin", "main"]);
        assert!(stderr(&out).contains("connection refused"), "{}", stderr(&out));
    }
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    drop(listener);
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    let out = repo.run(&["redeliver"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let got = receiver.wait_for(4);
    let afters: Vec<String> = got
        .iter()
        .map(|r| r.json()["after"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(afters, heads);
    let again = repo.run(&["redeliver"], "");
    assert!(again.status.success());
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(receiver.requests().len(), 4);
    let files: Vec<_> = files_under(&repo.bare.join("webhooks/outbox"));
    assert!(
        files.iter().all(|f| f.extension().is_none_or(|e| e != "json")),
        "{files:?}"
    );
}

#[test]
fn a_later_push_sends_the_backlog_first() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    receiver.script(&[Answer::Status(503); 3]);
    let first = repo.commit("first");
    repo.push(&["origin", "main"]);
    // As when the backoff that the failure started has passed.
    std::fs::remove_dir_all(repo.bare.join("webhooks/backoff")).unwrap();
    let second = repo.commit("second");
    repo.push(&["origin", "main"]);
    let got = receiver.wait_for(5);
    let afters: Vec<String> = got
        .iter()
        .map(|r| r.json()["after"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(afters, vec![first.clone(), first.clone(), first.clone(), first, second]);
}

#[test]
fn outbox_files_are_private_and_hold_no_url_or_credentials() {
    use std::os::unix::fs::PermissionsExt;
    let repo = Repo::new();
    let port = free_port();
    repo.config(&format!("[[hook]]\nname = \"down\"\nurl = \"http://user:pw-s3cret@127.0.0.1:{port}/p?q=q-s3cret\"\ntoken = \"tok-s3cret\"\n"));
    repo.commit("one");
    repo.push(&["origin", "main"]);
    let files = files_under(&repo.bare.join("webhooks"));
    assert!(files.iter().any(|f| f.extension().is_some_and(|e| e == "json")));
    for f in files {
        let mode = std::fs::metadata(&f).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{f:?}");
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        assert!(
            !text.contains("s3cret") && !text.contains(&port.to_string()),
            "{f:?}: {text}"
        );
    }
}

#[test]
fn a_corrupt_outbox_file_is_set_aside_not_fatal() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    let dir = repo.bare.join("webhooks/outbox/h-ci");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("0000000000000001-00000001-000000-x.json"), "[{not json").unwrap();
    repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    assert!(
        !stderr(&out).contains("webhooks/outbox"),
        "no server path for the pusher: {}",
        stderr(&out)
    );
    let log = String::from_utf8_lossy(&repo.run(&["log"], "").stdout).into_owned();
    assert!(log.contains("problem:") && log.contains("set aside"), "{log}");
    assert_eq!(receiver.wait_for(1).len(), 1);
    assert!(dir.join("0000000000000001-00000001-000000-x.corrupt").exists());
}

#[test]
fn concurrent_pushes_and_redelivers_deliver_every_event_exactly_once() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    // Flapping: every third answer fails.
    receiver.script(&[Answer::Status(503), Answer::Status(200), Answer::Status(200)].repeat(6));
    repo.commit("base");
    repo.push(&["origin", "main"]);
    let expected = 5;
    std::thread::scope(|s| {
        for i in 0..4 {
            let repo = &repo;
            s.spawn(move || {
                let input = repo.git(&["rev-parse", "HEAD"]);
                let line = format!("{ZERO} {input} refs/heads/c{i}\n");
                repo.run(&["replay"], &line);
                repo.run(&["redeliver"], "");
            });
        }
    });
    repo.run(&["redeliver"], "");
    let got = receiver.wait_for(expected);
    let mut delivered = ids(&got);
    let total = delivered.len();
    delivered.sort();
    delivered.dedup();
    assert_eq!(delivered.len(), expected, "every event arrives");
    assert!(total >= expected);
    let log = repo.run(&["log", "-n", "1000", "--json"], "");
    let ok: Vec<String> = String::from_utf8_lossy(&log.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|v| v["status"] == 200)
        .map(|v| v["delivery"].as_str().unwrap().to_string())
        .collect();
    let mut unique = ok.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(ok.len(), unique.len(), "no delivery succeeded twice");
}

#[test]
fn endpoints_are_served_in_parallel_and_each_keeps_one_connection() {
    let repo = Repo::new();
    // One receiver behind three hooks: if they were served one after another, never
    // more than one request would be waiting for its answer at a time.
    let receiver = Receiver::start();
    receiver.always(Answer::After(Duration::from_millis(700), 200));
    let hooks: String = (0..3)
        .map(|i| {
            format!(
                "[[hook]]\nname = \"h{i}\"\nurl = \"{}\"\n",
                receiver.url(&format!("/{i}"))
            )
        })
        .collect();
    repo.config(&hooks);
    repo.commit("base");
    for i in 0..3 {
        repo.git(&["branch", &format!("b{i}")]);
    }
    repo.push(&["origin", "--all"]);
    let got = receiver.wait_for(12);
    assert_eq!(got.len(), 12);
    assert_eq!(receiver.most_busy.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert_eq!(
        receiver.connections.load(std::sync::atomic::Ordering::SeqCst),
        3,
        "one kept-alive connection per endpoint"
    );
    for i in 0..3 {
        let refs: Vec<String> = got
            .iter()
            .filter(|r| r.path == format!("/{i}"))
            .map(|r| r.json()["ref"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            refs,
            vec!["refs/heads/b0", "refs/heads/b1", "refs/heads/b2", "refs/heads/main"],
            "push order per endpoint"
        );
    }
}

#[test]
fn a_batch_partly_delivered_keeps_the_rest_in_order() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    receiver.script(&[Answer::Status(503); 3]);
    repo.commit("base");
    for i in 0..5 {
        repo.git(&["branch", &format!("b{i}")]);
    }
    repo.push(&["origin", "--all"]);
    assert_eq!(receiver.wait_for(3).len(), 3);
    // Six events kept as one batch; the redelivery fails after two.
    receiver.script(&[Answer::Status(200), Answer::Status(200)]);
    receiver.script(&[Answer::Status(503); 3]);
    let out = repo.run(&["redeliver"], "");
    assert!(
        stderr(&out).contains("delivered 2 events, 2 from the outbox, then failed"),
        "{}",
        stderr(&out)
    );
    let listed = repo.run(&["redeliver", "--dry-run"], "");
    assert_eq!(String::from_utf8_lossy(&listed.stdout).lines().count(), 4);
    let out = repo.run(&["redeliver"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    // 3 attempts at b0 in the push; b0, b1 and 3 attempts at b2; then b2 to main.
    let got = receiver.wait_for(12);
    assert_eq!(got.len(), 12);
    let refs: Vec<String> = got[3..]
        .iter()
        .map(|r| r.json()["ref"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        refs,
        ["b0", "b1", "b2", "b2", "b2", "b2", "b3", "b4", "main"].map(|b| format!("refs/heads/{b}"))
    );
    let delivered = ids(&[&got[3..5], &got[8..]].concat());
    let mut unique = delivered.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 6, "each of the six events delivered once");
}

#[test]
fn a_hook_killed_mid_push_loses_nothing_and_resends_only_what_was_not_answered() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.hook_to(&receiver.url("/"));
    let head = repo.commit("base");
    std::fs::remove_file(repo.bare.join("hooks/post-receive")).unwrap();
    repo.push(&["origin", "main", "main:refs/heads/a", "main:refs/heads/b"]);
    receiver.script(&[
        Answer::Status(200),
        Answer::Status(200),
        Answer::After(Duration::from_secs(30), 200),
    ]);
    let input: String = ["a", "b", "main"]
        .iter()
        .map(|b| format!("{ZERO} {head} refs/heads/{b}\n"))
        .collect();
    let mut cmd = repo.command(BIN, repo.dir.path());
    cmd.args(["replay", "--repo", repo.bare.to_str().unwrap()])
        .stdin(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), input.as_bytes()).unwrap();
    assert_eq!(receiver.wait_for(3).len(), 3);
    child.kill().unwrap();
    child.wait().unwrap();
    receiver.always(Answer::Status(200));
    let out = repo.run(&["redeliver"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let got = receiver.wait_for(4);
    assert_eq!(got.len(), 4, "only the unanswered event is sent again");
    assert_eq!(ids(&got)[3], ids(&got)[2]);
    assert_eq!(got[3].json()["ref"], "refs/heads/main");
}
