//! The GitLab flavour: the AtomGit body with commits linked the GitLab way
//! (`{homepage}/-/commit/{id}`) and GitLab's `X-Gitlab-*` headers.

use serde_json::Value;

use super::atomgit::{push_body, Style};
use super::size::{render_within, MAX_BODY};
use super::{HeaderFacts, HeaderNames};
use crate::event::{EventKind, RefEvent};

pub(super) const HEADERS: HeaderNames = HeaderNames {
    event: "X-Gitlab-Event",
    delivery: "X-Gitlab-Event-UUID",
    token: "X-Gitlab-Token",
};

/// GitLab's `User-Agent` is `GitLab/VERSION`; this names the GitLab release whose
/// payloads these follow, and git-webhooks.
pub(super) const USER_AGENT: &str = concat!("GitLab/17.6.0 git-webhooks/", env!("CARGO_PKG_VERSION"));

/// The headers GitLab adds besides the event, delivery id and token ones.
pub(super) const MORE_HEADERS: [&str; 2] = ["X-Gitlab-Webhook-UUID", "X-Gitlab-Instance"];

/// `X-Gitlab-Webhook-UUID` (the same for every delivery of a hook: derived from its
/// name) and `X-Gitlab-Instance` (the scheme, host and port of the homepage; left out
/// without a homepage).
pub(super) fn more_headers(facts: &HeaderFacts) -> Vec<(&'static str, String)> {
    let mut headers = vec![(
        MORE_HEADERS[0],
        crate::ids::derived_id(&[b"webhook", facts.hook.as_bytes()]),
    )];
    if let Ok(url) = url::Url::parse(facts.homepage) {
        let origin = url.origin().ascii_serialization();
        if origin != "null" {
            headers.push((MORE_HEADERS[1], origin));
        }
    }
    headers
}

/// How GitLab links a commit.
const COMMIT_URL: &str = "{homepage}/-/commit/{id}";

/// A push or tag push body as GitLab's `Gitlab::DataBuilder::Push` builds it.
pub(super) fn body(kind: EventKind, event: &RefEvent) -> Vec<u8> {
    let style = Style {
        commit_url: COMMIT_URL,
        gitlab: true,
    };
    render_within(push_body(kind, event, &style), MAX_BODY)
}

/// The push options GitLab understands, as `Gitlab::PushOptions` nests them:
/// `namespace.key[=value]` becomes `{namespace: {key: value}}` (the value is `""` when
/// none is given), `mr` stands for `merge_request`, options that may be given several
/// times count each value (`{"ci": {"variable": {"A=1": 1}}}`), and options GitLab does
/// not know are left out.
pub(super) fn push_options(options: &[String]) -> Value {
    const KNOWN: [(&str, &[&str]); 5] = [
        (
            "merge_request",
            &[
                "assign",
                "auto_merge",
                "create",
                "description",
                "draft",
                "label",
                "merge_when_pipeline_succeeds",
                "milestone",
                "remove_source_branch",
                "squash",
                "target",
                "target_project",
                "title",
                "unassign",
                "unlabel",
            ],
        ),
        ("ci", &["skip", "variable", "input"]),
        ("integrations", &["skip_ci"]),
        ("secret_detection", &["skip_all"]),
        ("secret_push_protection", &["skip_all"]),
    ];
    const MULTI: [(&str, &str); 6] = [
        ("ci", "variable"),
        ("ci", "input"),
        ("merge_request", "label"),
        ("merge_request", "unlabel"),
        ("merge_request", "assign"),
        ("merge_request", "unassign"),
    ];
    let mut nested = serde_json::Map::new();
    for option in options {
        let Some((namespace, rest)) = option.split_once('.') else {
            continue;
        };
        let (key, value) = rest.split_once('=').unwrap_or((rest, ""));
        let (namespace, key, value) = (namespace.trim(), key.trim(), value.trim());
        let namespace = if namespace == "mr" { "merge_request" } else { namespace };
        let known = KNOWN.iter().any(|(ns, keys)| *ns == namespace && keys.contains(&key));
        if !known || key.is_empty() {
            continue;
        }
        let entry = nested
            .entry(namespace)
            .or_insert_with(|| Value::Object(Default::default()));
        let Value::Object(keys) = entry else { continue };
        if MULTI.contains(&(namespace, key)) {
            let counts = keys.entry(key).or_insert_with(|| Value::Object(Default::default()));
            if let Value::Object(counts) = counts {
                let n = counts.get(value).and_then(Value::as_u64).unwrap_or(0);
                counts.insert(value.to_string(), Value::from(n + 1));
            }
        } else {
            keys.insert(key.to_string(), Value::from(value));
        }
    }
    Value::Object(nested)
}

/// A review tool's body with the commits it lists linked the GitLab way. Only commits as
/// git-webhooks writes them (objects with a string `id`) are touched; anything else goes
/// out as it came.
pub(super) fn review(body: &Value, homepage: &str) -> Value {
    let mut body = body.clone();
    if let Some(commits) = body.get_mut("commits").and_then(Value::as_array_mut) {
        for commit in commits.iter_mut().filter_map(Value::as_object_mut) {
            if let Some(id) = commit.get("id").and_then(Value::as_str).map(str::to_string) {
                let url = COMMIT_URL.replace("{homepage}", homepage).replace("{id}", &id);
                commit.insert("url".into(), Value::from(url));
            }
        }
    }
    body
}
