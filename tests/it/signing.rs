//! Signatures checked by independent implementations (adnanh/webhook, the reference
//! `standardwebhooks` package, Python's hmac), secret sources, flavours, filters,
//! custom headers and URL variables.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::*;

/// `git push` from the clone with extra environment variables, which the hook inherits.
fn push_with_env(repo: &Repo, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = repo.command("git", &repo.work);
    cmd.arg("push").args(args);
    for (name, value) in env {
        cmd.env(name, value);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "git push {args:?} failed: {}", stderr(&out));
    out
}

/// Runs `python3 -c SCRIPT ARGS...`.
fn python(script: &str, args: &[&str]) -> Output {
    Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap()
}

/// Writes `body` into `dir` and returns the file's path, for handing bytes to python.
fn body_file(dir: &Path, name: &str, body: &[u8]) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, body).unwrap();
    path
}

/// adnanh/webhook on 127.0.0.1, killed when dropped.
pub(crate) struct WebhookServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl WebhookServer {
    /// Starts `webhook` with these hook definitions and waits until it listens.
    pub(crate) fn start(dir: &Path, hooks: &serde_json::Value) -> WebhookServer {
        let hooks_file = dir.join("hooks.json");
        std::fs::write(&hooks_file, serde_json::to_vec_pretty(hooks).unwrap()).unwrap();
        let port = free_port();
        let log = dir.join("webhook.log");
        let child = Command::new("webhook")
            .arg("-hooks")
            .arg(&hooks_file)
            .args(["-ip", "127.0.0.1", "-port", &port.to_string(), "-verbose"])
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::from(std::fs::File::create(dir.join("webhook.err")).unwrap()))
            .spawn()
            .expect("the `webhook` binary (Debian package webhook) must be installed");
        let mut server = WebhookServer { child, port, log };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = server.child.try_wait().unwrap() {
                panic!("webhook exited ({status}): {}", server.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "webhook never listened: {}",
                server.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    pub(crate) fn url(&self, id: &str) -> String {
        format!("http://127.0.0.1:{}/hooks/{id}", self.port)
    }

    pub(crate) fn log(&self) -> String {
        let mut text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.push_str(&std::fs::read_to_string(self.log.with_extension("err")).unwrap_or_default());
        text
    }
}

impl Drop for WebhookServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A hook definition that runs `script REF` for Push Hook events signed with `secret`.
/// The command runs before the answer is sent, and a mismatch is answered with 403.
fn webhook_definition(id: &str, script: &Path, secret: &str) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "execute-command": script,
        "command-working-directory": script.parent().unwrap(),
        "include-command-output-in-response": true,
        "trigger-rule-mismatch-http-response-code": 403,
        "pass-arguments-to-command": [{ "source": "payload", "name": "ref" }],
        "trigger-rule": {
            "and": [
                {
                    "match": {
                        "type": "value",
                        "value": "Push Hook",
                        "parameter": { "source": "header", "name": "X-AtomGit-Event" }
                    }
                },
                {
                    "match": {
                        "type": "payload-hmac-sha256",
                        "secret": secret,
                        "parameter": { "source": "header", "name": "X-Hub-Signature-256" }
                    }
                }
            ]
        }
    })
}

#[test]
fn adnanh_webhook_verifies_the_hmac_signature_and_runs_its_command() {
    let repo = Repo::new();
    let out_file = repo.dir.path().join("received-ref");
    let script = recording_script(repo.dir.path(), &out_file);
    let server = WebhookServer::start(
        repo.dir.path(),
        &serde_json::json!([webhook_definition("deploy", &script, "It's a Secret to Everybody")]),
    );
    repo.config(&format!(
        "[[hook]]\nname = \"deploy\"\nurl = \"{}\"\nsecret = \"It's a Secret to Everybody\"\n",
        server.url("deploy")
    ));
    repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    assert!(
        stderr(&out).contains("delivered 1 event (200)"),
        "{}\n{}",
        stderr(&out),
        server.log()
    );
    let got = std::fs::read_to_string(&out_file).unwrap_or_default();
    assert_eq!(got, "refs/heads/main\n", "{}", server.log());
}

#[test]
fn adnanh_webhook_refuses_a_wrong_secret_and_runs_nothing() {
    let repo = Repo::new();
    let out_file = repo.dir.path().join("received-ref");
    let script = recording_script(repo.dir.path(), &out_file);
    let server = WebhookServer::start(
        repo.dir.path(),
        &serde_json::json!([webhook_definition("deploy", &script, "the right secret")]),
    );
    repo.config(&format!(
        "[[hook]]\nname = \"deploy\"\nurl = \"{}\"\nsecret = \"a wrong secret\"\n",
        server.url("deploy")
    ));
    repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    let err = stderr(&out);
    assert!(
        err.contains("failed") && err.contains("kept"),
        "{err}\n{}",
        server.log()
    );
    assert!(server.log().contains("invalid payload signature"), "{}", server.log());
    assert!(!out_file.exists(), "the command ran: {}", server.log());
}

/// Verifies with the reference Standard Webhooks package; returns python's output.
fn standard_webhooks_verify(dir: &Path, secret: &str, body: &[u8], headers: &serde_json::Value) -> Output {
    let path = body_file(dir, "body.json", body);
    python(
        "import json, sys\n\
         from standardwebhooks.webhooks import Webhook\n\
         Webhook(sys.argv[1]).verify(open(sys.argv[2], 'rb').read(), json.loads(sys.argv[3]))\n",
        &[secret, path.to_str().unwrap(), &headers.to_string()],
    )
}

/// `sha256=<hex>` computed by python's hmac module.
fn python_hub_signature(dir: &Path, secret: &str, body: &[u8]) -> String {
    let path = body_file(dir, "hmac-body.json", body);
    let out = python(
        "import hashlib, hmac, sys\n\
         print('sha256=' + hmac.new(sys.argv[1].encode(), open(sys.argv[2], 'rb').read(), hashlib.sha256).hexdigest())\n",
        &[secret, path.to_str().unwrap()],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn standard_headers(request: &Request) -> serde_json::Value {
    let mut map = serde_json::Map::new();
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let value = request.header(name).unwrap_or_else(|| panic!("no {name} header"));
        map.insert(name.to_string(), value.into());
    }
    map.into()
}

#[test]
fn standard_webhooks_headers_verify_with_the_reference_package() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    repo.config(&format!(
        "[[hook]]\nname = \"sw\"\nurl = \"{}\"\nsigning_secret = \"{secret}\"\n",
        receiver.url("/sw")
    ));
    repo.commit("one");
    repo.git(&["tag", "-a", "-m", "release", "v1"]);
    repo.push(&["origin", "main", "v1"]);
    let got = receiver.wait_for(2);
    assert_eq!(got.len(), 2);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    for request in &got {
        let headers = standard_headers(request);
        assert_eq!(
            request.header("webhook-id"),
            request.header("X-AtomGit-Delivery"),
            "webhook-id is the delivery id"
        );
        let ts: u64 = request.header("webhook-timestamp").unwrap().parse().unwrap();
        assert!(ts.abs_diff(now) < 120, "timestamp {ts} vs now {now}");
        assert!(request.header("webhook-signature").unwrap().starts_with("v1,"));
        let ok = standard_webhooks_verify(repo.dir.path(), secret, &request.body, &headers);
        assert!(ok.status.success(), "verification failed: {}", stderr(&ok));

        let tampered = String::from_utf8(request.body.clone())
            .unwrap()
            .replacen("refs/", "refs/x", 1);
        assert_ne!(tampered.as_bytes(), &request.body[..]);
        let bad = standard_webhooks_verify(repo.dir.path(), secret, tampered.as_bytes(), &headers);
        assert!(!bad.status.success(), "a tampered body verified");
        assert!(stderr(&bad).contains("WebhookVerificationError"), "{}", stderr(&bad));

        let other = standard_webhooks_verify(repo.dir.path(), "whsec_b3RoZXIgc2VjcmV0", &request.body, &headers);
        assert!(!other.status.success(), "another secret verified");
    }
}

#[test]
fn an_unpadded_standard_webhooks_secret_is_accepted_like_the_reference_does() {
    // base64 of 16 bytes without its "==" padding, as some providers print them.
    let secret = "whsec_c2l4dGVlbiBieXRlIGtleQ";
    let check = python(
        "import sys\nfrom standardwebhooks.webhooks import Webhook\nWebhook(sys.argv[1])\n",
        &[secret],
    );
    assert!(check.status.success(), "{}", stderr(&check));
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.config(&format!(
        "[[hook]]\nname = \"sw\"\nurl = \"{}\"\nsigning_secret = \"{secret}\"\n",
        receiver.url("/")
    ));
    repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    let got = receiver.wait_for(1);
    assert_eq!(got.len(), 1, "{}", stderr(&out));
    let verified = standard_webhooks_verify(repo.dir.path(), secret, &got[0].body, &standard_headers(&got[0]));
    assert!(verified.status.success(), "{}", stderr(&verified));
}

#[test]
fn hub_signature_matches_pythons_hmac_over_the_exact_body() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    let secret = "hub s3cret with spaces & ünïcode";
    repo.config(&format!(
        "[[hook]]\nname = \"gh\"\nurl = \"{}\"\nsecret = \"{secret}\"\n",
        receiver.url("/")
    ));
    repo.commit("first line\n\nnon-ascii body: héllo \"quoted\"");
    repo.push(&["origin", "main"]);
    let got = receiver.wait_for(1);
    let header = got[0].header("X-Hub-Signature-256").expect("signature header");
    assert_eq!(header, python_hub_signature(repo.dir.path(), secret, &got[0].body));
    assert!(header[7..]
        .bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
    assert_eq!(header.len(), "sha256=".len() + 64);
    assert!(
        got[0].header("webhook-signature").is_none(),
        "no signing_secret, no webhook-*"
    );
}

#[test]
fn secrets_come_from_the_environment_and_from_files() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    let token_file = repo.dir.path().join("token.txt");
    std::fs::write(&token_file, "file-token\n").unwrap();
    // A relative path starts from the config file's directory.
    std::fs::write(
        repo.bare.join("signing.key"),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
    )
    .unwrap();
    repo.config(&format!(
        r#"[[hook]]
name = "ci"
url = "{}"
token = {{ file = "{}" }}
secret = {{ env = "GW_TEST_HMAC_SECRET" }}
signing_secret = {{ file = "signing.key" }}
"#,
        receiver.url("/"),
        token_file.display()
    ));
    repo.commit("one");
    let out = push_with_env(&repo, &[("GW_TEST_HMAC_SECRET", "from-the-env")], &["origin", "main"]);
    let got = receiver.wait_for(1);
    assert_eq!(got.len(), 1, "{}", stderr(&out));
    let request = &got[0];
    assert_eq!(request.header("X-AtomGit-Token"), Some("file-token"));
    assert_eq!(
        request.header("X-Hub-Signature-256").unwrap(),
        python_hub_signature(repo.dir.path(), "from-the-env", &request.body)
    );
    let verified = standard_webhooks_verify(
        repo.dir.path(),
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        &request.body,
        &standard_headers(request),
    );
    assert!(verified.status.success(), "{}", stderr(&verified));
    let err = stderr(&out);
    for secret in ["file-token", "from-the-env", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"] {
        assert!(!err.contains(secret), "{err}");
    }
}

#[test]
fn a_missing_secret_is_a_clear_error_and_the_push_still_succeeds() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.config(&format!(
        "[[hook]]\nname = \"needs-env\"\nurl = \"{}\"\ntoken = {{ env = \"GW_SURELY_UNSET_TOKEN\" }}\n\n[[hook]]\nname = \"needs-file\"\nurl = \"{}\"\nsecret = {{ file = \"no-such-secret-file\" }}\n",
        receiver.url("/a"),
        receiver.url("/b")
    ));
    let head = repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    let err = stderr(&out);
    assert!(
        err.contains("needs-env: failed: a secret of this hook cannot be read"),
        "{err}"
    );
    assert!(
        err.contains("needs-file: failed: a secret of this hook cannot be read"),
        "{err}"
    );
    assert!(!err.contains("webhooks.toml"), "pushers see no server path: {err}");
    let log = String::from_utf8_lossy(&repo.run(&["log"], "").stdout).into_owned();
    assert!(log.contains("webhooks.toml:4: key `token`"), "{log}");
    assert!(
        log.contains("needs-env") && log.contains("GW_SURELY_UNSET_TOKEN"),
        "{log}"
    );
    assert!(log.contains("key `secret`") && log.contains("needs-file"), "{log}");
    assert!(log.contains("no-such-secret-file"), "{log}");
    assert_eq!(repo.bare_git(&["rev-parse", "main"]), head, "the push went through");
    std::thread::sleep(Duration::from_millis(100));
    assert!(receiver.requests().is_empty());
    let check = repo.run(&["check"], "");
    assert!(!check.status.success());
    assert!(stderr(&check).contains("GW_SURELY_UNSET_TOKEN"), "{}", stderr(&check));
}

#[test]
fn the_gitlab_flavor_speaks_gitlab_headers_and_commit_urls() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.config(&format!(
        r#"[repository]
homepage = "https://git.example.com/demo/project"

[[hook]]
name = "jenkins"
url = "{}"
flavor = "gitlab"
token = "gl-token"

[[hook]]
name = "default"
url = "{}"
token = "ag-token"
"#,
        receiver.url("/gitlab"),
        receiver.url("/atomgit")
    ));
    let a = repo.commit("one");
    let b = repo.commit("two");
    repo.git(&["tag", "v1"]);
    repo.push(&["origin", "main", "v1"]);
    let got = receiver.wait_for(4);
    assert_eq!(got.len(), 4);
    let gitlab: Vec<&Request> = got.iter().filter(|r| r.path == "/gitlab").collect();
    let atomgit: Vec<&Request> = got.iter().filter(|r| r.path == "/atomgit").collect();
    let events: Vec<&str> = gitlab.iter().map(|r| r.header("X-Gitlab-Event").unwrap()).collect();
    assert_eq!(events, ["Push Hook", "Tag Push Hook"]);
    for r in &gitlab {
        assert_eq!(r.header("X-Gitlab-Token"), Some("gl-token"));
        let uuid = r.header("X-Gitlab-Event-UUID").expect("X-Gitlab-Event-UUID");
        assert_eq!(uuid.len(), 36);
        assert_eq!(r.header("Idempotency-Key"), Some(uuid));
        let atomgit_headers: Vec<&String> = r
            .headers
            .iter()
            .map(|(n, _)| n)
            .filter(|n| n.to_ascii_lowercase().starts_with("x-atomgit"))
            .collect();
        assert!(atomgit_headers.is_empty(), "{atomgit_headers:?}");
    }
    let urls: Vec<String> = gitlab[0].json()["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["url"].as_str().unwrap().to_string())
        .collect();
    let home = "https://git.example.com/demo/project";
    assert_eq!(urls, [format!("{home}/-/commit/{a}"), format!("{home}/-/commit/{b}")]);

    // The default flavour on the same push.
    assert_eq!(atomgit[0].header("X-AtomGit-Event"), Some("Push Hook"));
    assert_eq!(atomgit[0].header("X-AtomGit-Token"), Some("ag-token"));
    assert!(atomgit[0].header("X-Gitlab-Event").is_none() && atomgit[0].header("X-Gitlab-Token").is_none());
    assert_eq!(atomgit[0].json()["commits"][0]["url"], format!("{home}/commits/{a}"));
    // Same body otherwise, but for GitLab's own `ref_protected`.
    let strip = |mut v: serde_json::Value| {
        for c in v["commits"].as_array_mut().unwrap() {
            c["url"] = serde_json::Value::Null;
        }
        v.as_object_mut().unwrap().remove("ref_protected");
        v
    };
    assert_eq!(gitlab[0].json()["ref_protected"], true, "main is the default branch");
    assert_eq!(strip(gitlab[0].json()), strip(atomgit[0].json()));
}

#[test]
fn branch_and_tag_filters_deliver_only_matching_refs() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.config(&format!(
        r#"[[hook]]
name = "both"
url = "{}"
branches = ["main", "release/*"]
tags = ["v*"]

[[hook]]
name = "branches-only"
url = "{}"
branches = ["main"]
"#,
        receiver.url("/both"),
        receiver.url("/branches")
    ));
    repo.commit("one");
    for branch in ["release/1.0", "release/2.0/hotfix", "feature/x", "mainline"] {
        repo.git(&["branch", branch]);
    }
    for tag in ["v1.0", "x1", "version-2"] {
        repo.git(&["tag", tag]);
    }
    repo.push(&["origin", "--all"]);
    repo.push(&["origin", "--tags"]);
    std::thread::sleep(Duration::from_millis(100));
    let refs = |path: &str| {
        let mut refs: Vec<String> = receiver
            .requests()
            .iter()
            .filter(|r| r.path == path)
            .map(|r| r.json()["ref"].as_str().unwrap().to_string())
            .collect();
        refs.sort();
        refs
    };
    assert_eq!(
        refs("/both"),
        [
            "refs/heads/main",
            "refs/heads/release/1.0",
            "refs/tags/v1.0",
            "refs/tags/version-2"
        ]
    );
    // No tag filter: every tag.
    assert_eq!(
        refs("/branches"),
        [
            "refs/heads/main",
            "refs/tags/v1.0",
            "refs/tags/version-2",
            "refs/tags/x1"
        ]
    );
    // Deleting a filtered-out branch sends nothing to the filtered hook.
    repo.push(&["origin", "--delete", "feature/x"]);
    repo.push(&["origin", "--delete", "release/1.0"]);
    std::thread::sleep(Duration::from_millis(100));
    let deleted: Vec<serde_json::Value> = receiver
        .requests()
        .iter()
        .filter(|r| r.path == "/both")
        .map(|r| r.json())
        .filter(|e| e["after"] == ZERO)
        .collect();
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0]["ref"], "refs/heads/release/1.0");
}

#[test]
fn custom_headers_are_sent() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.config(&format!(
        "[[hook]]\nname = \"ci\"\nurl = \"{}\"\nheaders = {{ \"X-Env\" = \"prod\", \"X-Team\" = \"platform team\", \"Authorization-Extra\" = \"a:b\" }}\n",
        receiver.url("/")
    ));
    repo.commit("one");
    repo.push(&["origin", "main"]);
    let got = receiver.wait_for(1);
    assert_eq!(got[0].header("X-Env"), Some("prod"));
    assert_eq!(got[0].header("X-Team"), Some("platform team"));
    assert_eq!(got[0].header("Authorization-Extra"), Some("a:b"));
    assert_eq!(got[0].header("X-AtomGit-Event"), Some("Push Hook"));
}

#[test]
fn check_refuses_bad_header_names_values_and_overrides() {
    let repo = Repo::new();
    let cases: &[(&str, &str)] = &[
        (r#""Bad Name" = "x""#, "Bad Name"),
        (r#""X-Colon:" = "x""#, "X-Colon:"),
        (r#""" = "x""#, "is not a valid HTTP header name"),
        (r#""X-Inject" = "a\r\nX-Evil: 1""#, "X-Inject"),
        (r#""X-Newline" = "a\nb""#, "X-Newline"),
        (r#""x-atomgit-token" = "forged""#, "x-atomgit-token"),
        (r#""X-AtomGit-Event" = "Tag Push Hook""#, "X-AtomGit-Event"),
        (r#""Content-Type" = "text/plain""#, "Content-Type"),
        (r#""X-Hub-Signature-256" = "sha256=00""#, "X-Hub-Signature-256"),
        (r#""Webhook-Signature" = "v1,AA==""#, "Webhook-Signature"),
        (r#""Idempotency-Key" = "1""#, "Idempotency-Key"),
        (r#""X-AtomGit-Delivery" = "1""#, "X-AtomGit-Delivery"),
        (r#""X-Gitlab-Token" = "1""#, "X-Gitlab-Token"),
    ];
    for (line, needle) in cases {
        repo.config(&format!(
            "[[hook]]\nname = \"ci\"\nurl = \"http://127.0.0.1:9/\"\n\n[hook.headers]\n\"X-Fine\" = \"ok\"\n{line}\n"
        ));
        let out = repo.run(&["check"], "");
        let err = stderr(&out);
        assert!(!out.status.success(), "{line}: check passed: {err}");
        assert!(err.contains("webhooks.toml:7: key `headers`"), "{line}: {err}");
        assert!(err.contains(needle), "{line}: {err}");
        assert!(err.contains("'ci'"), "{line}: {err}");
    }
    repo.config("[[hook]]\nname = \"ci\"\nurl = \"http://127.0.0.1:9/\"\nheaders = { \"X-Fine\" = \"ok\" }\n");
    let out = repo.run(&["check"], "");
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn url_variables_fill_the_path_and_never_show() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    receiver.script(&[Answer::Status(404)]);
    let value = "T0kEn-in-PATH-7f3a";
    repo.config(&format!(
        "[[hook]]\nname = \"chat\"\nurl = \"http://127.0.0.1:{}/hooks/{{TOKEN}}\"\nurl_variables = {{ TOKEN = {{ env = \"GW_TEST_URL_TOKEN\" }} }}\n",
        receiver.port
    ));
    repo.commit("one");
    // First a failure (its message names the URL), then a success.
    let failed = push_with_env(&repo, &[("GW_TEST_URL_TOKEN", value)], &["origin", "main"]);
    repo.commit("two");
    let ok = push_with_env(&repo, &[("GW_TEST_URL_TOKEN", value)], &["origin", "main"]);
    // The 404 set the first event aside; `redeliver --failed` sends it again.
    let again = repo
        .command(BIN, repo.dir.path())
        .args(["redeliver", "--failed", "--repo"])
        .arg(&repo.bare)
        .env("GW_TEST_URL_TOKEN", value)
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    let got = receiver.wait_for(3);
    assert_eq!(got.len(), 3, "{}", stderr(&ok));
    assert!(got.iter().all(|r| r.path == format!("/hooks/{value}")), "{got:?}");
    assert!(stderr(&failed).contains("404"), "{}", stderr(&failed));
    let mut shown = vec![stderr(&failed), stderr(&ok), stderr(&again)];
    for args in [
        &["check"][..],
        &["log"],
        &["log", "--json"],
        &["redeliver", "--dry-run"],
        &["redeliver", "--dry-run", "--failed"],
    ] {
        let mut cmd = repo.command(BIN, repo.dir.path());
        let out = cmd
            .args(args)
            .arg("--repo")
            .arg(&repo.bare)
            .env("GW_TEST_URL_TOKEN", value)
            .output()
            .unwrap();
        shown.push(String::from_utf8_lossy(&out.stdout).into_owned());
        shown.push(stderr(&out));
    }
    for text in &shown {
        assert!(!text.contains(value), "{text}");
    }
    assert!(
        shown[0].contains("/hooks/{TOKEN}") || shown[0].contains("chat"),
        "{}",
        shown[0]
    );
}
