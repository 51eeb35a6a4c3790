//! Note Hook and Merge Request Hook bodies made by a review tool: checked against the
//! seed's samples before they are sent.

use serde_json::Value;

use crate::event::{Body, Event, EventKind};

/// Top-level fields each sample has.
fn required(kind: EventKind) -> &'static [&'static str] {
    match kind {
        EventKind::Note => &["object_kind", "user", "project_id", "repository", "object_attributes"],
        EventKind::MergeRequest => &["object_kind", "user", "object_attributes"],
        _ => &["object_kind"],
    }
}

/// Checks `text` and makes it an event of the repository at `homepage`; the error says
/// what is missing or wrong.
pub fn event(kind: EventKind, text: &str, homepage: &str) -> Result<Event, String> {
    let value: Value = serde_json::from_str(text).map_err(|e| format!("not valid JSON ({e})"))?;
    let object = value.as_object().ok_or("the body must be a JSON object")?;
    let found = object.get("object_kind").and_then(Value::as_str).unwrap_or("(missing)");
    if found != kind.name() {
        return Err(format!(
            "object_kind is \"{found}\", but --event {} needs \"{}\"",
            kind.name(),
            kind.name()
        ));
    }
    let missing: Vec<&str> = required(kind)
        .iter()
        .copied()
        .filter(|f| !object.contains_key(*f))
        .collect();
    if !missing.is_empty() {
        return Err(format!("missing field(s): {}", missing.join(", ")));
    }
    if !object["object_attributes"].is_object() {
        return Err("object_attributes must be an object".into());
    }
    let refname = match kind {
        EventKind::MergeRequest => object["object_attributes"]
            .get("target_branch")
            .and_then(Value::as_str)
            .map(|b| format!("refs/heads/{b}")),
        _ => None,
    };
    Ok(Event {
        kind,
        refname: refname.unwrap_or_default(),
        body: Body::Review {
            body: value,
            homepage: homepage.to_string(),
        },
    })
}
