//! Running a server: the system-wide config, review-tool events with `send`, and the
//! JSON Schemas of all four events.

use std::path::Path;

use crate::support::*;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data");
const SCHEMAS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/schema");

#[test]
fn a_repository_without_webhooks_toml_is_served_by_the_system_config_with_templates() {
    let repo = Repo::new();
    let system = Receiver::start();
    let own = Receiver::start();
    repo.system_config(&format!(
        "root = \"{}\"\n\n[repository]\nname = \"{{name}}\"\nhomepage = \"https://git.example.com/{{path}}\"\ndescription = \"from system\"\n\n[[hook]]\nname = \"everyone\"\nurl = \"{}\"\n",
        repo.dir.path().display(),
        system.url("/all")
    ));
    let head = repo.commit("one");
    repo.push(&["origin", "main"]);
    let e = system.wait_for(1)[0].json();
    assert_eq!(e["repository"]["name"], "project");
    assert_eq!(e["repository"]["homepage"], "https://git.example.com/project");
    assert_eq!(
        e["commits"][0]["url"],
        format!("https://git.example.com/project/commits/{head}")
    );

    repo.config(&format!(
        "[repository]\ndescription = \"own\"\n\n[[hook]]\nname = \"mine\"\nurl = \"{}\"\n",
        own.url("/own")
    ));
    repo.commit("two");
    repo.push(&["origin", "main"]);
    assert_eq!(system.wait_for(2).len(), 2);
    let e = own.wait_for(1)[0].json();
    assert_eq!(e["repository"]["description"], "own");
    assert_eq!(e["repository"]["homepage"], "https://git.example.com/project");
    let check = repo.run(&["check"], "");
    let text = String::from_utf8_lossy(&check.stdout);
    assert!(text.contains("everyone") && text.contains("mine"), "{text}");
    assert!(
        text.contains("system-webhooks.toml") && text.contains("description = \"own\"  ("),
        "{text}"
    );
}

#[test]
fn send_delivers_the_seeds_note_and_merge_request_bodies() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.config(&format!(
        "[[hook]]\nname = \"review\"\nurl = \"{}\"\nevents = [\"note\", \"merge_request\"]\n",
        receiver.url("/")
    ));
    let cases = [
        ("note", "seed-note-commit.json", "Note Hook"),
        ("merge_request", "seed-merge_request.json", "Merge Request Hook"),
    ];
    for (i, (event, file, header)) in cases.iter().enumerate() {
        let path = Path::new(DATA).join(file);
        let out = repo.run(&["send", "--event", event, path.to_str().unwrap()], "");
        assert!(out.status.success(), "{}", stderr(&out));
        let got = receiver.wait_for(i + 1);
        let r = &got[i];
        assert_eq!(r.header("X-AtomGit-Event"), Some(*header));
        let sent: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        assert_eq!(r.json(), sent);
    }
    let note = std::fs::read_to_string(Path::new(DATA).join("seed-note-commit.json")).unwrap();
    let out = repo.run(&["send", "--event", "note", "-"], &note);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(receiver.wait_for(3).len(), 3);
}

#[test]
fn send_refuses_a_mismatched_or_incomplete_body() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.config(&format!(
        "[[hook]]\nurl = \"{}\"\nevents = [\"note\", \"merge_request\"]\n",
        receiver.url("/")
    ));
    let note = Path::new(DATA).join("seed-note-commit.json");
    let out = repo.run(&["send", "--event", "merge_request", note.to_str().unwrap()], "");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("object_kind is \"note\""), "{}", stderr(&out));
    let out = repo.run(&["send", "--event", "note", "-"], "{\"object_kind\": \"note\"}");
    assert!(!out.status.success());
    assert!(stderr(&out).contains("missing field(s): user"), "{}", stderr(&out));
    let out = repo.run(&["send", "--event", "note", "-"], "[1, 2");
    assert!(!out.status.success());
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(receiver.requests().is_empty());
}

fn validate(schema: &str, documents: &[serde_json::Value]) {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs.json");
    std::fs::write(&docs, serde_json::to_vec(documents).unwrap()).unwrap();
    let script = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        jsonschema.Draft202012Validator.check_schema(schema)\n\
        for doc in json.load(open(sys.argv[2])):\n    jsonschema.validate(doc, schema)\n";
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            script,
            &format!("{SCHEMAS}/{schema}.json"),
            docs.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{schema}: {}", stderr(&out));
}

#[test]
fn generated_payloads_and_the_seeds_samples_match_the_schemas() {
    let repo = Repo::new();
    let a = repo.commit("one");
    let b = repo.commit("two");
    repo.git(&["tag", "-a", "v1", "-m", "v1"]);
    repo.push(&["origin", "main", "v1"]);
    let tag = repo.git(&["rev-parse", "v1"]);
    let events = repo.dry_run(&format!(
        "{ZERO} {b} refs/heads/main\n{a} {b} refs/heads/main\n{b} {ZERO} refs/heads/main\n{ZERO} {tag} refs/tags/v1\n{tag} {ZERO} refs/tags/v1\n"
    ));
    assert_eq!(events.len(), 5);
    validate("push", &events[..3]);
    validate("tag_push", &events[3..]);
    let seed = |f: &str| {
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(Path::new(DATA).join(f)).unwrap()).unwrap()
    };
    validate("tag_push", &[seed("seed-tag_push.json")]);
    validate(
        "note",
        &[seed("seed-note-commit.json"), seed("seed-note-merge-request.json")],
    );
    validate("merge_request", &[seed("seed-merge_request.json")]);
}

#[test]
fn a_repository_can_replace_or_switch_off_a_system_wide_hook() {
    let repo = Repo::new();
    let system = Receiver::start();
    let replacement = Receiver::start();
    repo.system_config(&format!(
        "[[hook]]\nname = \"ci\"\nurl = \"{}\"\n\n[[hook]]\nname = \"chat\"\nurl = \"{}\"\n",
        system.url("/ci"),
        system.url("/chat")
    ));
    repo.config(&format!(
        "[[hook]]\nname = \"ci\"\nurl = \"{}\"\n\n[[hook]]\nname = \"chat\"\nenabled = false\n",
        replacement.url("/own-ci")
    ));
    repo.commit("one");
    repo.push(&["origin", "main"]);
    assert_eq!(replacement.wait_for(1).len(), 1);
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(system.requests().is_empty(), "{:?}", system.requests());
}

#[test]
fn commit_links_follow_the_commit_url_template_of_the_system_file() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.system_config(&format!(
        "root = \"{}\"\n\n[repository]\nhomepage = \"https://git.example.com/{{path}}\"\ncommit_url = \"https://cgit.example.com/{{path}}.git/commit/?id={{id}}\"\n\n[[hook]]\nname = \"ci\"\nurl = \"{}\"\n",
        repo.dir.path().display(),
        receiver.url("/")
    ));
    let head = repo.commit("one");
    repo.push(&["origin", "main"]);
    let event = receiver.wait_for(1)[0].json();
    assert_eq!(
        event["commits"][0]["url"],
        format!("https://cgit.example.com/project.git/commit/?id={head}")
    );
    repo.config("[repository]\ncommit_url = \"{homepage}/c/{sha}\"\n");
    let check = repo.run(&["check"], "");
    assert!(!check.status.success());
    assert!(
        stderr(&check).contains("unknown placeholder {sha}"),
        "{}",
        stderr(&check)
    );
}
