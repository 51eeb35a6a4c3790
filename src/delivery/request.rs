//! The HTTP request of one delivery: URL, headers (event, token, ids, auth,
//! signatures, custom) and body.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::config::{Flavor, Hook};
use crate::delivery::outbox::Delivery;
use crate::delivery::sign;

/// The `User-Agent` we send.
pub const USER_AGENT: &str = concat!("git-webhooks/", env!("CARGO_PKG_VERSION"));

/// A request ready for the wire.
pub struct Request {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Builds the request for `delivery` to `hook`, signed at `now` (seconds since the epoch).
pub fn build(hook: &Hook, delivery: &Delivery, now: u64) -> Request {
    let body = delivery.body.as_bytes().to_vec();
    let mut headers: Vec<(String, String)> = vec![
        ("Content-Type".into(), "application/json".into()),
        ("User-Agent".into(), USER_AGENT.into()),
        ("Idempotency-Key".into(), delivery.id.clone()),
    ];
    let header = delivery.event.header().to_string();
    let token = hook.token.as_ref().map(|t| t.expose().to_string());
    match hook.flavor {
        Flavor::AtomGit => {
            headers.push(("X-AtomGit-Event".into(), header));
            headers.push(("X-AtomGit-Delivery".into(), delivery.id.clone()));
            headers.extend(token.map(|t| ("X-AtomGit-Token".into(), t)));
        }
        Flavor::GitLab => {
            headers.push(("X-Gitlab-Event".into(), header));
            headers.push(("X-Gitlab-Event-UUID".into(), delivery.id.clone()));
            headers.extend(token.map(|t| ("X-Gitlab-Token".into(), t)));
        }
    }
    if let Some((user, password)) = &hook.target.basic {
        let pair = BASE64.encode(format!("{user}:{}", password.expose()));
        headers.push(("Authorization".into(), format!("Basic {pair}")));
    }
    if let Some(secret) = &hook.secret {
        headers.push(("X-Hub-Signature-256".into(), sign::hub_signature(secret, &body)));
    }
    if let Some(key) = hook.signing_secret.as_ref().and_then(|s| sign::standard_key(s).ok()) {
        headers.push(("webhook-id".into(), delivery.id.clone()));
        headers.push(("webhook-timestamp".into(), now.to_string()));
        headers.push((
            "webhook-signature".into(),
            sign::standard_signature(&key, &delivery.id, now, &body),
        ));
    }
    headers.extend(hook.headers.iter().cloned());
    Request {
        url: hook.target.url.clone(),
        headers,
        body,
    }
}
