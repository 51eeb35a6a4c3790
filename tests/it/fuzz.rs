//! Property tests with arbitrary input: no input makes the binary panic. Each runs a
//! fixed number of cases from a fixed seed; `GIT_WEBHOOKS_FUZZ_CASES` multiplies them.

use git_webhooks::event::Body;
use git_webhooks::event::EventKind;
use git_webhooks::git::update::{parse_input, parse_line};
use git_webhooks::payload::Flavor;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use crate::support::*;

/// `default` cases, times `GIT_WEBHOOKS_FUZZ_CASES` when it is set.
pub fn cases(default: usize) -> usize {
    let factor = std::env::var("GIT_WEBHOOKS_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(1);
    default * factor.max(1)
}

/// Bytes made of pieces that matter to the parser, and some of any value.
fn stdin_bytes(rng: &mut StdRng) -> Vec<u8> {
    let pieces: [&[u8]; 12] = [
        b"0000000000000000000000000000000000000000",
        b"1111111111111111111111111111111111111111",
        b"abababababababababababababababababababababababababababababababab",
        b" ",
        b"  ",
        b"\n",
        b"\r\n",
        b"\r",
        b"refs/heads/",
        b"refs/tags/v1",
        b"\xff\xfe\\x41",
        b"0",
    ];
    let mut out = Vec::new();
    for _ in 0..rng.gen_range(0..6) {
        if rng.gen_bool(0.5) {
            // Shaped like a line git writes, with an odd ref name.
            let id = |rng: &mut StdRng| pieces[rng.gen_range(0..3)];
            let (old, new) = (id(rng), id(rng));
            out.extend_from_slice(&[old, b" ", new, b" refs/heads/"].concat());
        }
        for _ in 0..rng.gen_range(0..8) {
            if rng.gen_bool(0.2) {
                out.push(rng.gen());
            } else {
                out.extend_from_slice(pieces[rng.gen_range(0..pieces.len())]);
            }
        }
        out.push(b'\n');
    }
    out
}

#[test]
fn stdin_parsing_never_panics_and_good_lines_round_trip() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0001);
    let (mut parsed, mut refused) = (0, 0);
    for _ in 0..cases(2000) {
        let input = stdin_bytes(&mut rng);
        let (good, bad) = parse_input(&input);
        (parsed, refused) = (parsed + good.len(), refused + bad.len());
        let lines = input.split(|&b| b == b'\n').count();
        assert!(good.len() + bad.len() <= lines, "{input:?}");
        for update in good {
            let _ = (update.name_text(), update.short_name(), update.kind());
            // A CR before the line end is taken for a CRLF line end (git never puts
            // control characters in ref names), so such a name cannot round-trip.
            if !update.name.ends_with(b"\r") {
                assert_eq!(parse_line(&update.to_line()).as_ref(), Ok(&update), "{input:?}");
            }
        }
        for (line, _, error) in bad {
            assert!(line >= 1 && line <= lines && !error.to_string().is_empty());
        }
    }
    assert!(parsed > 100 && refused > 100, "{parsed} parsed, {refused} refused");
}

/// Any JSON value, at most `depth` levels deep.
fn any_json(rng: &mut StdRng, depth: u32) -> Value {
    match rng.gen_range(0..if depth == 0 { 5 } else { 7 }) {
        0 => Value::Null,
        1 => json!(rng.gen::<bool>()),
        2 => json!(rng.gen::<i64>()),
        3 => json!(rng.gen::<f64>()),
        4 => json!(["id", "url", "", "refs/heads/main", "\u{0}\u{fffd}"][rng.gen_range(0..5)]),
        5 => Value::Array((0..rng.gen_range(0..4)).map(|_| any_json(rng, depth - 1)).collect()),
        _ => {
            let keys = ["id", "url", "commits", "target_branch", "object_attributes", "x"];
            let map = (0..rng.gen_range(0..4))
                .map(|_| (keys[rng.gen_range(0..keys.len())].to_string(), any_json(rng, depth - 1)))
                .collect();
            Value::Object(map)
        }
    }
}

/// A body that passes the checks often enough, with odd values where the real ones go.
fn send_body(rng: &mut StdRng, kind: EventKind) -> String {
    let mut body = json!({
        "object_kind": kind.name(),
        "user": any_json(rng, 2),
        "project_id": any_json(rng, 1),
        "repository": any_json(rng, 2),
        "object_attributes": if rng.gen_bool(0.8) { json!({"target_branch": any_json(rng, 1)}) } else { any_json(rng, 2) },
        "commits": if rng.gen_bool(0.8) {
            Value::Array((0..rng.gen_range(0..4)).map(|_| any_json(rng, 2)).collect())
        } else {
            any_json(rng, 2)
        },
    });
    if rng.gen_bool(0.1) {
        body = any_json(rng, 3);
    }
    let mut text = body.to_string().into_bytes();
    if rng.gen_bool(0.2) && !text.is_empty() {
        let at = rng.gen_range(0..text.len());
        text[at] = rng.gen();
    }
    String::from_utf8_lossy(&text).into_owned()
}

#[test]
fn send_bodies_of_any_shape_never_panic_in_either_flavour() {
    let mut rng = StdRng::seed_from_u64(0x5eed_0002);
    let fixed = [
        r#"{"object_kind":"note","user":{},"project_id":1,"repository":{},"object_attributes":{},"commits":[1,"x",null,{"id":2},{"id":"abc"}]}"#,
        r#"{"object_kind":"merge_request","user":{},"object_attributes":{"target_branch":5},"commits":{"id":"a"}}"#,
    ];
    let mut accepted = 0;
    for i in 0..cases(2000) {
        let kind = [EventKind::Note, EventKind::MergeRequest][i % 2];
        let text = fixed
            .get(i)
            .map_or_else(|| send_body(&mut rng, kind), |t| t.to_string());
        let Ok(event) = git_webhooks::payload::review::event(kind, &text, "https://h/p") else {
            continue;
        };
        let Body::Review { body: given_body, .. } = &event.body else {
            panic!("a review event");
        };
        accepted += 1;
        for flavor in Flavor::ALL {
            let body: Value = serde_json::from_slice(&flavor.render(&event)).unwrap();
            let commits = body.get("commits").and_then(Value::as_array);
            for (sent, given) in commits
                .into_iter()
                .flatten()
                .zip(given_body["commits"].as_array().into_iter().flatten())
            {
                match (flavor, given.get("id").and_then(Value::as_str)) {
                    (Flavor::GitLab, Some(id)) if given.is_object() => {
                        assert_eq!(sent["url"], json!(format!("https://h/p/-/commit/{id}")))
                    }
                    _ => assert_eq!(sent, given),
                }
            }
        }
    }
    assert!(accepted > 500, "only {accepted} bodies passed the checks");
}

#[test]
fn send_with_odd_commits_to_a_gitlab_hook_does_not_panic() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    repo.config(&format!(
        "[[hook]]\nname = \"gl\"\nurl = \"{}\"\nflavor = \"gitlab\"\nevents = [\"note\"]\n",
        receiver.url("/")
    ));
    let body = r#"{"object_kind":"note","user":{},"project_id":1,"repository":{},"object_attributes":{},"commits":[1,{"id":"abc"}]}"#;
    let out = repo.run(&["send", "--event", "note", "-"], body);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let sent = receiver.wait_for(1)[0].json();
    assert_eq!(sent["commits"], json!([1, {"id": "abc", "url": "/-/commit/abc"}]));
}

/// Replaces one value somewhere in `value` with an arbitrary one, or drops a key.
fn mutate(rng: &mut StdRng, value: &mut Value) {
    match value {
        Value::Object(map) if !map.is_empty() && rng.gen_bool(0.7) => {
            let key = map.keys().nth(rng.gen_range(0..map.len())).unwrap().clone();
            match rng.gen_range(0..3) {
                0 => {
                    map.remove(&key);
                }
                1 => mutate(rng, map.get_mut(&key).unwrap()),
                _ => {
                    map.insert(key, any_json(rng, 2));
                }
            }
        }
        Value::Array(items) if !items.is_empty() && rng.gen_bool(0.7) => {
            let at = rng.gen_range(0..items.len());
            mutate(rng, &mut items[at]);
        }
        _ => *value = any_json(rng, 2),
    }
}

#[test]
fn odd_outbox_files_never_panic_redeliver() {
    let repo = Repo::new();
    let receiver = Receiver::start();
    let down = free_port();
    repo.config(&format!(
        "[delivery]\nbudget = 1\n\n[[hook]]\nname = \"ci\"\nurl = \"http://127.0.0.1:{down}/\"\ntimeout = 0.2\n"
    ));
    repo.commit("one");
    repo.push(&["origin", "main"]);
    let dir = repo.bare.join("webhooks/outbox/h-ci");
    let kept = files_under(&dir);
    assert_eq!(kept.len(), 1, "{kept:?}");
    let template: Value = serde_json::from_slice(&std::fs::read(&kept[0]).unwrap()).unwrap();
    std::fs::remove_file(&kept[0]).unwrap();
    repo.config(&format!("[[hook]]\nname = \"ci\"\nurl = \"{}\"\n", receiver.url("/")));
    let mut rng = StdRng::seed_from_u64(0x5eed_0003);
    for i in 0..cases(25) {
        let mut value = template.clone();
        for _ in 0..rng.gen_range(1..4) {
            mutate(&mut rng, &mut value);
        }
        let mut text = value.to_string().into_bytes();
        if i % 5 == 4 {
            let at = rng.gen_range(0..text.len());
            text.truncate(at);
            text.push(rng.gen());
        }
        let file = dir.join("0000-x.json");
        for args in [&["redeliver", "--dry-run"][..], &["redeliver"]] {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(&file, &text).unwrap();
            let out = repo.run(args, "");
            let err = stderr(&out);
            assert!(
                out.status.code() != Some(101) && !err.contains("panicked"),
                "{args:?} on {}:\n{err}",
                String::from_utf8_lossy(&text)
            );
        }
    }
}
