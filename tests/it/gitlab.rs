//! The GitLab flavour against receivers written for GitLab by others: adnanh's `webhook`
//! with a GitLab rule (the token header, the event header, payload fields), and the
//! TypeScript types of GitLab's push and tag push events from the npm package
//! `gitlab-event-types`, checked by the TypeScript compiler.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::signing::WebhookServer;
use crate::support::*;

#[test]
fn adnanh_webhook_with_a_gitlab_rule_runs_on_our_push_events() {
    let repo = Repo::new();
    let out_file = repo.dir.path().join("args");
    let script = recording_script(repo.dir.path(), &out_file);
    let arg = |name: &str| serde_json::json!({ "source": "payload", "name": name });
    let definition = serde_json::json!([{
        "id": "gitlab",
        "execute-command": script,
        "command-working-directory": repo.dir.path(),
        "trigger-rule-mismatch-http-response-code": 403,
        "pass-arguments-to-command": [
            { "source": "header", "name": "X-Gitlab-Event" },
            arg("ref"),
            arg("checkout_sha"),
            arg("user_username"),
            arg("project.path_with_namespace"),
            arg("commits.0.title"),
            arg("commits.0.added.0"),
            arg("commits.0.url"),
            arg("push_options.ci.skip"),
        ],
        "trigger-rule": { "and": [
            { "match": { "type": "value", "value": "s3cr3t-gl",
                "parameter": { "source": "header", "name": "X-Gitlab-Token" } } },
            { "match": { "type": "value", "value": "Push Hook",
                "parameter": { "source": "header", "name": "X-Gitlab-Event" } } },
        ] }
    }]);
    let server = WebhookServer::start(repo.dir.path(), &definition);
    repo.config(&format!(
        "[repository]\nhomepage = \"https://git.example.com/team/project\"\n\n[[hook]]\nname = \"gl\"\nurl = \"{}\"\nflavor = \"gitlab\"\ntoken = \"s3cr3t-gl\"\n",
        server.url("gitlab")
    ));
    std::fs::write(repo.work.join("notes ü.txt"), "x").unwrap();
    repo.git(&["add", "."]);
    repo.git(&["commit", "-q", "-m", "Add notes"]);
    let head = repo.git(&["rev-parse", "HEAD"]);
    repo.bare_git(&["config", "receive.advertisePushOptions", "true"]);
    let out = repo.push(&["-o", "ci.skip", "origin", "main"]);
    assert!(
        stderr(&out).contains("gl: delivered 1 event (200)"),
        "{}\n{}",
        stderr(&out),
        server.log()
    );
    let got = std::fs::read_to_string(&out_file).unwrap_or_default();
    let expected = [
        "Push Hook".to_string(),
        "refs/heads/main".into(),
        head.clone(),
        "alice".into(),
        "team/project".into(),
        "Add notes".into(),
        "notes ü.txt".into(),
        format!("https://git.example.com/team/project/-/commit/{head}"),
        String::new(),
    ];
    assert_eq!(got.lines().collect::<Vec<_>>(), expected, "{}", server.log());

    repo.config(&format!(
        "[[hook]]\nname = \"gl\"\nurl = \"{}\"\nflavor = \"gitlab\"\ntoken = \"wrong\"\n",
        server.url("gitlab")
    ));
    std::fs::remove_file(&out_file).unwrap();
    repo.commit("two");
    let out = repo.push(&["origin", "main"]);
    assert!(stderr(&out).contains("403"), "{}", stderr(&out));
    assert!(!out_file.exists(), "a wrong token ran the command");
}

/// Where test.sh installs the npm packages the tests use.
fn node_modules() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/receivers/node_modules");
    dir.join("gitlab-event-types").is_dir().then_some(dir)
}

#[test]
fn push_and_tag_push_bodies_type_check_against_gitlab_event_types() {
    let Some(modules) = node_modules() else {
        panic!("gitlab-event-types and typescript are missing: run ./test.sh, which installs them");
    };
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.config(&format!(
        "[repository]\nhomepage = \"https://git.example.com/team/project\"\n\n[[hook]]\nname = \"gl\"\nurl = \"{}\"\nflavor = \"gitlab\"\n",
        receiver.url("/")
    ));
    repo.commit("one");
    repo.git(&["tag", "-a", "-m", "release", "v1"]);
    repo.git(&["branch", "side"]);
    repo.push(&["origin", "main", "side", "v1"]);
    repo.commit("two");
    repo.push(&["origin", "main", ":side", ":v1"]);
    let bodies: Vec<Value> = receiver.wait_for(6).iter().map(Request::json).collect();
    assert_eq!(bodies.len(), 6);
    let dir = repo.dir.path().join("ts");
    std::fs::create_dir(&dir).unwrap();
    let mut source = String::from("import type { PushEvent, TagPushEvent } from \"gitlab-event-types\";\n");
    for (i, body) in bodies.iter().enumerate() {
        let (kind, literal) = match body["object_kind"].as_str().unwrap() {
            "push" => ("PushEvent", "push"),
            _ => ("TagPushEvent", "tag_push"),
        };
        // A literal's strings widen to `string`; the kind is restated as the type's literal.
        source.push_str(&format!(
            "const raw{i} = {body};\nexport const event{i}: {kind} = {{ ...raw{i}, object_kind: \"{literal}\" }};\n"
        ));
    }
    std::fs::write(dir.join("events.ts"), source).unwrap();
    std::os::unix::fs::symlink(&modules, dir.join("node_modules")).unwrap();
    let tsc = modules.join("typescript/bin/tsc");
    let out = Command::new("node")
        .arg(tsc)
        .args([
            "--noEmit",
            "--strict",
            "false",
            "--strictNullChecks",
            "false",
            "--skipLibCheck",
            "events.ts",
        ])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // The checker does find a body that is not a push event.
    std::fs::write(
        dir.join("bad.ts"),
        "import type { PushEvent } from \"gitlab-event-types\";\nconst raw = { object_kind: \"push\", before: 1 };\nexport const e: PushEvent = raw;\n",
    )
    .unwrap();
    let bad = Command::new("node")
        .arg(modules.join("typescript/bin/tsc"))
        .args(["--noEmit", "--skipLibCheck", "bad.ts"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!bad.status.success());
}
