//! The GitLab flavour: the AtomGit body with commits linked the GitLab way
//! (`{homepage}/-/commit/{id}`) and GitLab's `X-Gitlab-*` headers.

use serde_json::Value;

use super::atomgit::push_body;
use super::HeaderNames;
use crate::event::{EventKind, RefEvent};

pub(super) const HEADERS: HeaderNames = HeaderNames {
    event: "X-Gitlab-Event",
    delivery: "X-Gitlab-Event-UUID",
    token: "X-Gitlab-Token",
};

/// How GitLab links a commit.
const COMMIT_URL: &str = "{homepage}/-/commit/{id}";

/// A push or tag push body as GitLab links it.
pub(super) fn body(kind: EventKind, event: &RefEvent) -> Value {
    serde_json::to_value(push_body(kind, event, COMMIT_URL)).expect("payloads serialize")
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
