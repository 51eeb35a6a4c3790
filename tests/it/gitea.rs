//! The Gitea flavour delivered to receivers written for Gitea by others: the
//! buildbot-gitea plugin's change hook (it checks `X-Gitea-Signature`, dispatches by
//! `X-Gitea-Event` and reads Gitea's push payload) and, through the GitHub headers Gitea
//! adds for older receivers, Buildbot's GitHub change hook (SHA-1 `X-Hub-Signature`).

use serde_json::Value;

use crate::github::{assert_schema, files_history, wait_records, write, ForgeReceiver, CONFIG_HEAD};
use crate::support::*;

fn strs(value: &Value) -> Vec<&str> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect()
}

fn revisions(record: &Value) -> Vec<&str> {
    record["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["revision"].as_str().unwrap())
        .collect()
}

/// The records of one push, sorted by path (`/gitea` before `/github`).
fn records(receiver: &ForgeReceiver, n: usize) -> Vec<Value> {
    let mut got = wait_records(receiver, n);
    got.sort_by_key(|r| r["path"].as_str().unwrap().to_string());
    got
}

#[test]
fn buildbot_gitea_receives_every_shape_of_push_as_from_gitea() {
    let repo = Repo::new();
    let secret = "It's a Secret to Everybody";
    let buildbot = ForgeReceiver::start(repo.dir.path(), "python3", "buildbot_hooks.py", secret);
    let headers = Receiver::start();
    let head = CONFIG_HEAD.replace(
        "project_id = 42\n",
        "project_id = 42\ngit_ssh_url = \"git@git.example.com:team/project.git\"\n",
    );
    repo.config(&format!(
        "{head}\n[[hook]]\nname = \"gitea\"\nurl = \"{}\"\nflavor = \"gitea\"\nsecret = \"{secret}\"\n\n[[hook]]\nname = \"as-github\"\nurl = \"{}\"\nflavor = \"gitea\"\nsecret = \"{secret}\"\nevents = [\"push\"]\nbranches = [\"main\"]\n\n[[hook]]\nname = \"headers\"\nurl = \"{}\"\nflavor = \"gitea\"\nsecret = \"{secret}\"\nevents = [\"push\", \"tag_push\", \"create\", \"delete\"]\n",
        buildbot.url("/gitea"),
        buildbot.url("/github"),
        headers.url("/h")
    ));
    let (first, second) = files_history(&repo);
    repo.push(&["origin", "main"]);
    let got = records(&buildbot, 2);
    let (gitea, github) = (&got[0], &got[1]);
    // Gitea lists the newest commit first; the plugin turns the list around.
    assert_eq!(revisions(gitea), [first.as_str(), second.as_str()]);
    let change = &gitea["changes"][1];
    assert_eq!(change["branch"], "main");
    assert_eq!(change["category"], "push");
    assert_eq!(change["project"], "team/project");
    assert_eq!(change["repository"], "git@git.example.com:team/project.git");
    assert_eq!(change["properties"]["owner"], "team");
    assert_eq!(change["properties"]["repository_name"], "project");
    assert_eq!(change["author"], "A U Thor <author@example.com>");
    assert_eq!(change["comments"], "Change, remove and rename\n");
    assert_eq!(
        strs(&change["files"]),
        ["new näme.txt", "a file.txt", "dir/ünïcode.txt", "old name.txt"]
    );
    assert_eq!(
        change["revlink"],
        format!("https://git.example.com/team/project/commit/{second}")
    );
    // Gitea's timestamp is the author date.
    let authored = repo.git(&["log", "-1", "--format=%aI", &second]);
    assert_eq!(change["when_timestamp"], authored.as_str());
    // The GitHub hook reads the same delivery by its X-GitHub-Event and X-Hub-Signature,
    // in Gitea's order (Gitea's push has no `created` for it to take the head commit by).
    assert_eq!(revisions(github), [second.as_str(), first.as_str()]);

    // What the headers say, and the signatures Python's hmac computes.
    let requests = headers.wait_for(2);
    let kinds: Vec<&str> = requests.iter().map(|r| r.header("X-Gitea-Event").unwrap()).collect();
    assert_eq!(kinds, ["create", "push"]);
    for request in &requests {
        let id = request.header("X-Gitea-Delivery").unwrap();
        for name in ["X-Gogs-Delivery", "X-GitHub-Delivery", "Idempotency-Key"] {
            assert_eq!(request.header(name), Some(id), "{name}");
        }
        let kind = request.header("X-Gitea-Event").unwrap();
        for name in [
            "X-Gitea-Event-Type",
            "X-Gogs-Event",
            "X-Gogs-Event-Type",
            "X-GitHub-Event",
            "X-GitHub-Event-Type",
        ] {
            assert_eq!(request.header(name), Some(kind), "{name}");
        }
        let sha256 = python_hmac(&repo, "sha256", secret, &request.body);
        assert_eq!(request.header("X-Gitea-Signature"), Some(sha256.as_str()));
        assert_eq!(request.header("X-Gogs-Signature"), Some(sha256.as_str()));
        assert_eq!(
            request.header("X-Hub-Signature-256"),
            Some(format!("sha256={sha256}").as_str())
        );
        let sha1 = python_hmac(&repo, "sha1", secret, &request.body);
        assert_eq!(request.header("X-Hub-Signature"), Some(format!("sha1={sha1}").as_str()));
    }
    let create = requests[0].json();
    assert_eq!(create["ref"], "main");
    assert_eq!(create["ref_type"], "branch");
    assert_eq!(create["sha"], second.as_str());
    let push = requests[1].json();
    assert_eq!(push["total_commits"], 2);
    assert_eq!(push["compare_url"], "");
    assert_eq!(push["head_commit"]["id"], second.as_str());
    assert_eq!(push["pusher"]["login"], "alice-gh");
    assert_eq!(push["sender"]["id"], 7);
    assert_eq!(push["sender"]["avatar_url"], "https://avatars.example.com/alice.png");
    assert_eq!(push["repository"]["full_name"], "team/project");
    assert_eq!(push["repository"]["owner"]["username"], "team");
    assert_eq!(push["commits"][0]["author"]["username"], "alice-gh");

    // An update, compared by full ids.
    write(&repo, "a file.txt", "three\n");
    repo.git(&["commit", "-q", "-a", "-m", "Third"]);
    let fourth = repo.commit("Fourth");
    repo.push(&["origin", "main"]);
    let got = records(&buildbot, 2);
    let expected = rev_list(&repo, &["--reverse", &format!("{second}..{fourth}")]);
    assert_eq!(revisions(&got[0]), expected);
    assert_eq!(strs(&got[0]["changes"][0]["files"]), ["a file.txt"]);
    let push = headers.wait_for(3)[2].json();
    assert_eq!(
        push["compare_url"],
        format!("https://git.example.com/team/project/compare/{second}...{fourth}")
    );

    // A force push, and then tags and a branch at once.
    repo.git(&["reset", "-q", "--hard", &second]);
    let rewritten = repo.commit("Rewritten");
    repo.push(&["-f", "origin", "main"]);
    assert_eq!(revisions(&records(&buildbot, 2)[0]), [rewritten.as_str()]);
    repo.git(&["tag", "v1"]);
    repo.git(&["tag", "-a", "-m", "Release 2", "v2"]);
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let feature = repo.commit("On the feature branch");
    repo.push(&["origin", "v1", "v2", "feature"]);
    let got = wait_records(&buildbot, 3);
    let mut seen: Vec<(String, String, String)> = got
        .iter()
        .filter(|r| r["path"] == "/gitea")
        .map(|r| {
            let c = &r["changes"][0];
            (
                c["branch"].as_str().unwrap().to_string(),
                c["revision"].as_str().unwrap().to_string(),
                c["category"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    seen.sort();
    let push = |b: &str, id: &str| (b.to_string(), id.to_string(), "push".to_string());
    // A tag's push lists no commit; the plugin takes its head commit.
    assert_eq!(
        seen,
        [
            push("feature", &feature),
            push("v1", &rewritten),
            push("v2", &rewritten)
        ]
    );

    // Deletions: as from Gitea, a delete event each and no push, which Gitea receivers
    // do not expect (the plugin fails on a tag push without a head commit).
    repo.push(&["origin", "--delete", "feature", "v1"]);
    let requests = headers.wait_for(3 + 1 + 6 + 2);
    assert_eq!(requests.len(), 12);
    let last: Vec<(&str, Value)> = requests[10..]
        .iter()
        .map(|r| (r.header("X-Gitea-Event").unwrap(), r.json()))
        .collect();
    let kinds: Vec<(&str, &str)> = last.iter().map(|(k, b)| (*k, b["ref"].as_str().unwrap())).collect();
    assert_eq!(kinds, [("delete", "feature"), ("delete", "v1")]);
    assert_eq!(last[0].1["pusher_type"], "user");
    assert_eq!(last[0].1["ref_type"], "branch");
    assert_eq!(last[1].1["ref_type"], "tag");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(buildbot.take().is_empty(), "the deletions were sent as pushes");
    for kind in ["push", "create", "delete"] {
        let bodies: Vec<Value> = requests
            .iter()
            .filter(|r| r.header("X-Gitea-Event") == Some(kind))
            .map(|r| r.json())
            .collect();
        assert!(!bodies.is_empty(), "{kind}");
        assert_schema(
            repo.dir.path(),
            &format!("gitea-{kind}"),
            &bodies.iter().collect::<Vec<_>>(),
        );
    }
}

/// The lowercase hex HMAC of `body` computed by Python's hmac module.
fn python_hmac(repo: &Repo, digest: &str, secret: &str, body: &[u8]) -> String {
    let path = repo.dir.path().join("hmac-body");
    std::fs::write(&path, body).unwrap();
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg("import hashlib, hmac, sys\nprint(hmac.new(sys.argv[2].encode(), open(sys.argv[3], 'rb').read(), getattr(hashlib, sys.argv[1])).hexdigest())")
        .args([digest, secret, path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}
