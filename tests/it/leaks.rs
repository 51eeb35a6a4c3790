//! No secret reaches the pusher's output, the CLI's output, the log or the outbox.

use crate::support::*;

const SECRETS: [&str; 7] = [
    "tok-Q7s3cret",
    "hmac-Q7s3cret",
    "pw-Q7s3cret",
    "query-Q7s3cret",
    "var-Q7s3cret",
    "envtok-Q7s3cret",
    "bXlzaWduaW5na2V5",
];

#[test]
fn secrets_never_appear_in_output_logs_or_files() {
    let repo = Repo::new();
    let failing = Receiver::start();
    failing.always(Answer::Status(500));
    let refusing = free_port();
    let secret_file = repo.dir.path().join("token.txt");
    std::fs::write(&secret_file, "envtok-Q7s3cret\n").unwrap();
    repo.config(&format!(
        r#"[delivery]
budget = 3

[[hook]]
name = "fails"
url = "http://user:pw-Q7s3cret@127.0.0.1:{}/p/{{KEY}}?k=query-Q7s3cret"
url_variables = {{ KEY = "var-Q7s3cret" }}
token = "tok-Q7s3cret"
secret = "hmac-Q7s3cret"
signing_secret = "whsec_bXlzaWduaW5na2V5"

[[hook]]
name = "refused"
url = "http://user:pw-Q7s3cret@127.0.0.1:{refusing}/x?k=query-Q7s3cret"
token = {{ file = "{}" }}
"#,
        failing.port,
        secret_file.display()
    ));
    repo.commit("one");
    let mut outputs = vec![stderr(&repo.push(&["origin", "main"]))];
    for args in [
        &["check"][..],
        &["log"],
        &["log", "--json"],
        &["redeliver", "--dry-run"],
        &["redeliver"],
        &["test"],
        &["-v", "redeliver"],
    ] {
        let out = repo.run(args, "");
        outputs.push(String::from_utf8_lossy(&out.stdout).into_owned());
        outputs.push(stderr(&out));
    }
    assert!(
        outputs[0].contains("kept for `git-webhooks redeliver`"),
        "{}",
        outputs[0]
    );
    for file in files_under(&repo.bare) {
        if file.ends_with("webhooks.toml") {
            continue;
        }
        outputs.push(String::from_utf8_lossy(&std::fs::read(&file).unwrap()).into_owned());
    }
    assert!(
        failing.requests().iter().any(|r| r.text().contains("tok-Q7s3cret")),
        "the receiver does get the token"
    );
    for text in &outputs {
        for secret in SECRETS {
            assert!(!text.contains(secret), "{secret} leaked in:\n{text}");
        }
    }
}

#[test]
fn config_errors_never_show_the_text_of_the_line_or_the_value() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.commit("one");
    let url = receiver.url("/");
    let broken = [
        (
            format!("[[hook]]\nurl = \"{url}\"\nghp_S3CRETstray\n"),
            "webhooks.toml:3: column 16:",
        ),
        (
            format!("[[hook]]\nurl = \"{url}\"\ntoken = \"ghp_S3CRET\n"),
            "webhooks.toml:3: key `token`: column 20:",
        ),
        (
            format!("[[hook]]\nurl = \"{url}\"\ntoken = [\"ghp_S3CRET\"]\n"),
            "webhooks.toml:3: key `token`: column 9:",
        ),
        (
            format!("[[hook]]\nurl = \"{url}\"\ntimeout = \"ghp_S3CRET\"\n"),
            "webhooks.toml:3: key `timeout`: column 11:",
        ),
    ];
    for (i, (text, expected)) in broken.iter().enumerate() {
        repo.config(text);
        let check = repo.run(&["check"], "");
        let shown = format!("{}{}", String::from_utf8_lossy(&check.stdout), stderr(&check));
        assert_eq!(check.status.code(), Some(1), "{shown}");
        repo.commit(&format!("push {i}"));
        let push = stderr(&repo.push(&["origin", "main"]));
        assert!(shown.contains(expected), "{expected} in:\n{shown}");
        assert!(push.contains("configuration has 1 error(s)"), "{push}");
        for text in [&shown, &push] {
            assert!(!text.contains("S3CRET"), "leaked in:\n{text}");
        }
    }
    assert!(receiver.requests().is_empty());
}

#[test]
fn control_characters_in_secrets_and_headers_are_refused_by_check_and_the_hook() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    let file = repo.dir.path().join("secret.txt");
    std::fs::write(&file, "hmac-S3CRET\n\n").unwrap();
    repo.config(&format!(
        r#"[[hook]]
name = "ci"
url = "{}{{KEY}}"
token = "tok-S3CRET\r\nX-Injected: yes"
secret = {{ file = "{}" }}
url_variables = {{ KEY = {{ env = "GW_TEST_VAR" }} }}
headers = {{ "X-Team" = "a\u0000b-S3CRET", "X-Bad\u0001" = "x" }}

[[hook]]
name = "fine"
url = "{}"
token = {{ file = "{}" }}
"#,
        receiver.url("/"),
        file.display(),
        receiver.url("/fine"),
        repo.dir.path().join("good.txt").display(),
    ));
    std::fs::write(repo.dir.path().join("good.txt"), "good-token\r\n").unwrap();
    let run = |args: &[&str]| {
        let mut cmd = repo.command(BIN, repo.dir.path());
        cmd.args(args)
            .arg("--repo")
            .arg(&repo.bare)
            .env("GW_TEST_VAR", "var\u{7f}S3CRET");
        cmd.output().unwrap()
    };
    let check = run(&["check"]);
    let shown = format!("{}{}", String::from_utf8_lossy(&check.stdout), stderr(&check));
    assert_eq!(check.status.code(), Some(1), "{shown}");
    for key in ["token", "secret", "url_variables.KEY", "headers"] {
        let line = shown
            .lines()
            .find(|l| l.contains(&format!("key `{key}`: hook 'ci'")) && l.contains("control character"));
        assert!(line.is_some(), "{key} in:\n{shown}");
    }
    assert!(
        shown.contains("\"X-Bad\\u{1}\" is not a valid HTTP header name"),
        "{shown}"
    );
    assert!(
        !shown.contains("S3CRET") && !shown.contains('\u{1}') && !shown.contains('\u{0}'),
        "{shown}"
    );
    repo.commit("one");
    let mut push = repo.command("git", &repo.work);
    push.env("GW_TEST_VAR", "var\u{7f}S3CRET")
        .args(["push", "origin", "main"]);
    let out = push.output().unwrap();
    assert!(out.status.success());
    let text = stderr(&out);
    assert!(text.contains("configuration has") && !text.contains("S3CRET"), "{text}");
    assert!(receiver.requests().is_empty(), "nothing is sent with a broken config");
}

#[test]
fn short_secrets_leave_messages_intact_and_messages_hold_no_secret() {
    let repo = Repo::new();
    let failing = Receiver::start();
    failing.always(Answer::Status(500));
    let down = free_port();
    // One-letter secrets that every message is full of.
    repo.config(&format!(
        "[delivery]\nbudget = 3\n\n[[hook]]\nname = \"down\"\nurl = \"http://u:e@127.0.0.1:{down}/x/{{V}}?k=query-S3CRET\"\nurl_variables = {{ V = \"var-S3CRET\" }}\ntoken = \"o\"\n\n[[hook]]\nname = \"failing\"\nurl = \"http://u:e@127.0.0.1:{}/y?k=query-S3CRET\"\ntoken = \"o\"\n",
        failing.port
    ));
    repo.commit("one");
    let mut outputs = vec![stderr(&repo.push(&["origin", "main"]))];
    for args in [&["log"][..], &["-v", "redeliver"], &["log", "--json"]] {
        let out = repo.run(args, "");
        outputs.push(format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out)));
    }
    for text in &outputs {
        assert!(!text.contains("[redacted]"), "{text}");
        for secret in ["S3CRET", "u:e@", "?k="] {
            assert!(!text.contains(secret), "{secret} in:\n{text}");
        }
    }
    for (i, expected) in [
        (0, "connection refused"),
        (0, "HTTP 500 after 3 attempts"),
        (1, "connection refused"),
        (2, "connection refused"),
    ] {
        assert!(outputs[i].contains(expected), "{expected} in:\n{}", outputs[i]);
    }
    assert!(failing
        .requests()
        .iter()
        .all(|r| r.header("X-AtomGit-Token") == Some("o")));
}
