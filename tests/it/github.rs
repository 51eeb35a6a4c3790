//! The GitHub flavour delivered to receivers written for GitHub by others:
//! @octokit/webhooks (its Node middleware verifies `X-Hub-Signature-256` and dispatches
//! by `X-GitHub-Event`; every payload is checked against GitHub's published schema,
//! @octokit/webhooks-schemas, with ajv) and Buildbot's GitHub change hook (which checks
//! the SHA-1 `X-Hub-Signature` and turns pushes into changes).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::*;

/// A receiver program on 127.0.0.1 that writes one JSON line per request to its record
/// file; killed when dropped.
pub struct ForgeReceiver {
    child: Child,
    pub port: u16,
    record: PathBuf,
    log: PathBuf,
}

/// `tests/receivers`, where the receivers and their packages are.
fn receivers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/receivers")
}

impl ForgeReceiver {
    /// Starts `program script PORT SECRET RECORD` and waits until it listens.
    pub fn start(dir: &Path, program: &str, script: &str, secret: &str) -> ForgeReceiver {
        let port = free_port();
        let record = dir.join(format!("{script}.jsonl"));
        let log = dir.join(format!("{script}.log"));
        let child = Command::new(program)
            .arg(receivers_dir().join(script))
            .args([&port.to_string(), secret, record.to_str().unwrap()])
            .current_dir(receivers_dir())
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::from(std::fs::File::create(log.with_extension("err")).unwrap()))
            .spawn()
            .unwrap_or_else(|e| panic!("{program} {script}: {e} (test.sh installs the receivers)"));
        let mut receiver = ForgeReceiver {
            child,
            port,
            record,
            log,
        };
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Some(status) = receiver.child.try_wait().unwrap() {
                panic!("{script} exited ({status}): {}", receiver.log());
            }
            assert!(start.elapsed() < Duration::from_secs(30), "{script} never listened");
            std::thread::sleep(Duration::from_millis(50));
        }
        receiver
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn log(&self) -> String {
        let mut text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.push_str(&std::fs::read_to_string(self.log.with_extension("err")).unwrap_or_default());
        text
    }

    /// The records written so far, and forgets them.
    pub fn take(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.record).unwrap_or_default();
        let _ = std::fs::remove_file(&self.record);
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }
}

impl Drop for ForgeReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Writes `path` (relative to the work clone) with `text`, creating its directory.
pub fn write(repo: &Repo, path: &str, text: &str) {
    let full = repo.work.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, text).unwrap();
}

/// The commits of every test: one adding three files (names with a space and non-ASCII
/// letters), then one that modifies, removes and renames. Returns both ids.
pub fn files_history(repo: &Repo) -> (String, String) {
    write(repo, "a file.txt", "one\n");
    write(repo, "dir/ünïcode.txt", "zwei\n");
    write(repo, "old name.txt", "a file that moves\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "Add three files\n\nWith a body."]);
    let first = repo.git(&["rev-parse", "HEAD"]);
    write(repo, "a file.txt", "one, changed\n");
    repo.git(&["rm", "-q", "dir/ünïcode.txt"]);
    repo.git(&["mv", "old name.txt", "new näme.txt"]);
    repo.git(&["commit", "-q", "-a", "-m", "Change, remove and rename"]);
    (first, repo.git(&["rev-parse", "HEAD"]))
}

pub const CONFIG_HEAD: &str = "[repository]\nhomepage = \"https://git.example.com/team/project\"\nproject_id = 42\n\n[users.alice]\nemail = \"author@example.com\"\nid = 7\nusername = \"alice-gh\"\navatar_url = \"https://avatars.example.com/alice.png\"\n";

fn strs(value: &Value) -> Vec<&str> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect()
}

/// The octokit records of one push, each checked: verified, dispatched and valid
/// against GitHub's schema. Returns (event name, payload) pairs.
fn octokit_events(octokit: &ForgeReceiver, n: usize) -> Vec<(String, Value)> {
    let start = Instant::now();
    let mut got = Vec::new();
    while got.len() < n && start.elapsed() < Duration::from_secs(20) {
        got.extend(octokit.take());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(got.len(), n, "{got:#?}\n{}", octokit.log());
    for r in &got {
        if let Some(name) = r["name"].as_str() {
            assert_schema(
                octokit.record.parent().unwrap(),
                &format!("github-{name}"),
                &[&r["payload"]],
            );
        }
    }
    got.into_iter()
        .map(|r| {
            assert!(r.get("error").is_none(), "octokit refused: {r}");
            assert_eq!(
                r["valid"], true,
                "{} fails GitHub's schema: {:#}",
                r["name"], r["errors"]
            );
            assert!(r["headers"]["user-agent"]
                .as_str()
                .unwrap()
                .starts_with("GitHub-Hookshot/"));
            assert!(r["headers"]["x-hub-signature"].as_str().unwrap().starts_with("sha1="));
            (r["name"].as_str().unwrap().to_string(), r["payload"].clone())
        })
        .collect()
}

fn names(events: &[(String, Value)]) -> Vec<(&str, &str)> {
    events
        .iter()
        .map(|(n, p)| (n.as_str(), p["ref"].as_str().unwrap()))
        .collect()
}

#[test]
fn octokit_and_buildbot_receive_every_shape_of_push_as_from_github() {
    let repo = Repo::new();
    let secret = "It's a Secret to Everybody";
    let octokit = ForgeReceiver::start(repo.dir.path(), "node", "octokit.mjs", secret);
    let buildbot = ForgeReceiver::start(repo.dir.path(), "python3", "buildbot_hooks.py", secret);
    repo.config(&format!(
        "{CONFIG_HEAD}\n[[hook]]\nname = \"octokit\"\nurl = \"{}\"\nflavor = \"github\"\nsecret = \"{secret}\"\nevents = [\"push\", \"tag_push\", \"create\", \"delete\"]\n\n[[hook]]\nname = \"buildbot\"\nurl = \"{}\"\nflavor = \"github\"\nsecret = \"{secret}\"\n",
        octokit.url("/"),
        buildbot.url("/github")
    ));
    let check = repo.run(&["check"], "");
    let check_text = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(check_text.contains("flavor: github (X-GitHub-Hook-ID "), "{check_text}");

    // The first push into the empty repository: create + push.
    let (first, second) = files_history(&repo);
    repo.push(&["origin", "main"]);
    let events = octokit_events(&octokit, 2);
    assert_eq!(names(&events), [("create", "main"), ("push", "refs/heads/main")]);
    let create = &events[0].1;
    assert_eq!(create["ref_type"], "branch");
    assert_eq!(create["master_branch"], "main");
    assert_eq!(create["pusher_type"], "user");
    let push = &events[1].1;
    assert_eq!(
        (
            push["created"].as_bool(),
            push["deleted"].as_bool(),
            push["forced"].as_bool()
        ),
        (Some(true), Some(false), Some(false))
    );
    assert_eq!(push["before"], ZERO);
    assert_eq!(push["after"], second.as_str());
    assert_eq!(push["compare"], "https://git.example.com/team/project/compare/main");
    let ids: Vec<&str> = push["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [first.as_str(), second.as_str()]);
    let c2 = &push["commits"][1];
    assert_eq!(strs(&c2["added"]), ["new näme.txt"]);
    assert_eq!(strs(&c2["removed"]), ["dir/ünïcode.txt", "old name.txt"]);
    assert_eq!(strs(&c2["modified"]), ["a file.txt"]);
    assert_eq!(
        strs(&push["commits"][0]["added"]),
        ["a file.txt", "dir/ünïcode.txt", "old name.txt"]
    );
    assert_eq!(
        c2["url"],
        format!("https://git.example.com/team/project/commit/{second}")
    );
    assert_eq!(c2["author"]["name"], "A U Thor");
    assert_eq!(c2["author"]["username"], "alice-gh");
    assert_eq!(c2["committer"]["email"], "committer@example.com");
    assert!(c2["committer"].get("username").is_none());
    assert_eq!(c2["tree_id"], repo.git(&["rev-parse", "HEAD^{tree}"]).as_str());
    let date = repo.git(&["log", "-1", "--format=%cI", "HEAD"]);
    assert_eq!(c2["timestamp"], date.as_str());
    assert_eq!(push["head_commit"]["id"], second.as_str());
    assert_eq!(push["pusher"]["name"], "alice-gh");
    assert_eq!(push["sender"]["login"], "alice-gh");
    assert_eq!(push["sender"]["id"], 7);
    assert_eq!(push["sender"]["avatar_url"], "https://avatars.example.com/alice.png");
    let repository = &push["repository"];
    assert_eq!(repository["full_name"], "team/project");
    assert_eq!(repository["owner"]["login"], "team");
    assert_eq!(repository["id"], 42);
    assert_eq!(repository["html_url"], "https://git.example.com/team/project");
    assert_eq!(repository["clone_url"], "https://git.example.com/team/project.git");
    // Buildbot takes a new branch's head commit as its one change.
    let bb = wait_records(&buildbot, 1);
    let change = &bb[0]["changes"][0];
    assert_eq!(bb[0]["changes"].as_array().unwrap().len(), 1, "{bb:#?}");
    assert_eq!(change["revision"], second.as_str());
    assert_eq!(change["branch"], "main");
    assert_eq!(change["project"], "team/project");
    assert_eq!(change["author"], "A U Thor <author@example.com>");
    assert_eq!(change["committer"], "C O Mitter <committer@example.com>");
    assert_eq!(
        strs(&change["files"]),
        ["new näme.txt", "a file.txt", "dir/ünïcode.txt", "old name.txt"]
    );
    assert_eq!(
        change["revlink"],
        format!("https://git.example.com/team/project/commit/{second}")
    );
    assert_eq!(change["when_timestamp"], date.as_str());

    // An update: two commits, compared by abbreviated ids.
    write(&repo, "a file.txt", "three\n");
    repo.git(&["commit", "-q", "-a", "-m", "Third"]);
    let fourth = repo.commit("Fourth");
    repo.push(&["origin", "main"]);
    let push = octokit_events(&octokit, 1).remove(0).1;
    assert_eq!(push["created"], false);
    assert_eq!(push["forced"], false);
    assert_eq!(
        push["compare"],
        format!(
            "https://git.example.com/team/project/compare/{}...{}",
            &second[..12],
            &fourth[..12]
        )
    );
    assert_eq!(push["commits"].as_array().unwrap().len(), 2);
    assert_eq!(strs(&push["commits"][0]["modified"]), ["a file.txt"]);
    let bb = wait_records(&buildbot, 1);
    let revisions: Vec<&str> = bb[0]["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["revision"].as_str().unwrap())
        .collect();
    assert_eq!(
        revisions,
        rev_list(&repo, &["--reverse", &format!("{second}..{fourth}")])
    );

    // A force push.
    repo.git(&["reset", "-q", "--hard", &second]);
    let rewritten = repo.commit("Rewritten");
    repo.push(&["-f", "origin", "main"]);
    let push = octokit_events(&octokit, 1).remove(0).1;
    assert_eq!(push["forced"], true);
    assert_eq!(push["before"], fourth.as_str());
    assert_eq!(push["after"], rewritten.as_str());
    assert_eq!(
        wait_records(&buildbot, 1)[0]["changes"][0]["revision"],
        rewritten.as_str()
    );

    // Several refs at once: a lightweight tag, an annotated tag and a new branch.
    repo.git(&["tag", "v1"]);
    repo.git(&["tag", "-a", "-m", "Release 2", "v2"]);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let feature = repo.commit("On the feature branch");
    repo.push(&["origin", "v1", "v2", "feature"]);
    let events = octokit_events(&octokit, 6);
    let mut got = names(&events);
    got.sort();
    assert_eq!(
        got,
        [
            ("create", "feature"),
            ("create", "v1"),
            ("create", "v2"),
            ("push", "refs/heads/feature"),
            ("push", "refs/tags/v1"),
            ("push", "refs/tags/v2"),
        ]
    );
    for (name, payload) in &events {
        match (name.as_str(), payload["ref"].as_str().unwrap()) {
            ("create", "v2") => assert_eq!(payload["ref_type"], "tag"),
            ("push", "refs/tags/v2") => {
                assert_eq!(payload["after"], repo.git(&["rev-parse", "v2"]).as_str());
                assert_eq!(payload["head_commit"]["id"], rewritten.as_str());
                assert_eq!(payload["commits"], serde_json::json!([]));
            }
            ("push", "refs/heads/feature") => {
                let ids: Vec<&str> = payload["commits"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c["id"].as_str().unwrap())
                    .collect();
                assert_eq!(ids, [feature.as_str()]);
                assert_eq!(
                    payload["compare"],
                    "https://git.example.com/team/project/compare/feature"
                );
            }
            _ => {}
        }
    }
    let bb = wait_records(&buildbot, 3);
    let mut tags: Vec<(String, String)> = bb
        .iter()
        .map(|r| {
            let c = &r["changes"][0];
            (
                c["branch"].as_str().unwrap().to_string(),
                c["revision"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    tags.sort();
    assert_eq!(
        tags,
        [
            ("feature".to_string(), feature.clone()),
            ("v1".to_string(), rewritten.clone()),
            ("v2".to_string(), rewritten.clone()),
        ]
    );

    // Deletions: a push with `deleted` and a delete event each.
    repo.push(&["origin", "--delete", "feature", "v1"]);
    let events = octokit_events(&octokit, 4);
    let mut got = names(&events);
    got.sort();
    assert_eq!(
        got,
        [
            ("delete", "feature"),
            ("delete", "v1"),
            ("push", "refs/heads/feature"),
            ("push", "refs/tags/v1")
        ]
    );
    for (name, payload) in &events {
        if name == "push" {
            assert_eq!(payload["deleted"], true);
            assert_eq!(payload["after"], ZERO);
            assert!(payload["head_commit"].is_null());
        }
    }
    // Buildbot ignores deletions, and says so by making no change.
    let bb = wait_records(&buildbot, 2);
    assert!(
        bb.iter()
            .all(|r| r["error"].is_null() && r["changes"] == serde_json::json!([])),
        "{bb:#?}"
    );
}

/// Checks `bodies` against `docs/schema/{name}.json` with Python's jsonschema.
pub fn assert_schema(dir: &Path, name: &str, bodies: &[&Value]) {
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("docs/schema/{name}.json"));
    let docs = dir.join(format!("{name}-bodies.json"));
    std::fs::write(&docs, serde_json::to_vec(bodies).unwrap()).unwrap();
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        jsonschema.Draft7Validator.check_schema(schema)\n\
        for doc in json.load(open(sys.argv[2])):\n    jsonschema.validate(doc, schema)\n";
    let out = Command::new("python3")
        .args(["-c", script, schema.to_str().unwrap(), docs.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{name}: {}", stderr(&out));
}

/// Waits for `n` records of a receiver and returns them.
pub fn wait_records(receiver: &ForgeReceiver, n: usize) -> Vec<Value> {
    let start = Instant::now();
    let mut got = Vec::new();
    while got.len() < n && start.elapsed() < Duration::from_secs(20) {
        got.extend(receiver.take());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(got.len(), n, "{got:#?}\n{}", receiver.log());
    for r in &got {
        assert!(r["error"].is_null(), "refused: {r}");
    }
    got
}

#[test]
fn octokit_and_buildbot_refuse_a_wrong_secret() {
    let repo = Repo::new();
    let octokit = ForgeReceiver::start(repo.dir.path(), "node", "octokit.mjs", "the right secret");
    let buildbot = ForgeReceiver::start(repo.dir.path(), "python3", "buildbot_hooks.py", "the right secret");
    repo.config(&format!(
        "{CONFIG_HEAD}\n[[hook]]\nname = \"octokit\"\nurl = \"{}\"\nflavor = \"github\"\nsecret = \"a wrong secret\"\n\n[[hook]]\nname = \"buildbot\"\nurl = \"{}\"\nflavor = \"github\"\nsecret = \"a wrong secret\"\n",
        octokit.url("/"),
        buildbot.url("/github")
    ));
    repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    let err = stderr(&out);
    assert!(
        err.contains("octokit: delivered 0 events") && err.contains("(HTTP 400)"),
        "{err}"
    );
    assert!(
        err.contains("buildbot: delivered 0 events") && err.contains("(HTTP 403)"),
        "{err}"
    );
    std::thread::sleep(Duration::from_millis(200));
    let records = octokit.take();
    assert!(
        records.iter().all(|r| r.get("payload").is_none()),
        "octokit took an event it could not verify: {records:?}"
    );
    let bb = buildbot.take();
    assert_eq!(bb.len(), 1);
    assert_eq!(bb[0]["error"], "Hash mismatch");
}

#[test]
fn github_hooks_refuse_tokens_and_atomgit_hooks_refuse_create_events() {
    let repo = Repo::new();
    repo.config("[[hook]]\nurl = \"http://a/\"\nflavor = \"github\"\ntoken = \"t\"\n\n[[hook]]\nurl = \"http://b/\"\nevents = [\"push\", \"create\"]\n\n[[hook]]\nurl = \"http://c/\"\nflavor = \"gitea\"\nevents = [\"note\"]\n");
    let out = repo.run(&["check"], "");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("github hooks send no token"), "{text}");
    assert!(
        text.contains("atomgit hooks have no \"create\" event; it is sent by the \"github\", \"gitea\" flavours"),
        "{text}"
    );
    assert!(text.contains("gitea hooks have no \"note\" event"), "{text}");
}
