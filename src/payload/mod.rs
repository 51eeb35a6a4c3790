//! Payloads: each flavour renders the same [`Event`] as its forge would, body and event
//! headers. A new dialect is a new module here that maps the event.

mod atomgit;
mod gitlab;
pub mod review;

use crate::event::{Body, Event, EventKind};

/// The dialect a hook speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    AtomGit,
    GitLab,
}

impl Flavor {
    /// Every flavour, in the order the docs list them.
    pub const ALL: [Flavor; 2] = [Flavor::AtomGit, Flavor::GitLab];

    /// The name used in `webhooks.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::AtomGit => "atomgit",
            Flavor::GitLab => "gitlab",
        }
    }

    /// Parses a `flavor` value.
    pub fn from_name(name: &str) -> Option<Flavor> {
        Flavor::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The exact body bytes of `event` in this flavour.
    pub fn render(self, event: &Event) -> Vec<u8> {
        let value = match (&event.body, self) {
            (Body::Ref(e), Flavor::AtomGit) => atomgit::body(event.kind, e),
            (Body::Ref(e), Flavor::GitLab) => gitlab::body(event.kind, e),
            (Body::Review { body, .. }, Flavor::AtomGit) => body.clone(),
            (Body::Review { body, homepage }, Flavor::GitLab) => gitlab::review(body, homepage),
        };
        serde_json::to_vec(&value).expect("payloads serialize")
    }

    /// The headers that name the event and carry the delivery id and the token, as this
    /// flavour's forge sends them.
    pub fn headers(self, kind: EventKind, id: &str, token: Option<&str>) -> Vec<(&'static str, String)> {
        let names = match self {
            Flavor::AtomGit => atomgit::HEADERS,
            Flavor::GitLab => gitlab::HEADERS,
        };
        let mut headers = vec![
            (names.event, kind.header().to_string()),
            (names.delivery, id.to_string()),
        ];
        headers.extend(token.map(|t| (names.token, t.to_string())));
        headers
    }
}

/// The headers of every request, whatever the flavour.
pub mod header {
    pub const CONTENT_TYPE: &str = "Content-Type";
    pub const CONTENT_LENGTH: &str = "Content-Length";
    pub const HOST: &str = "Host";
    pub const USER_AGENT: &str = "User-Agent";
    pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
    pub const HUB_SIGNATURE_256: &str = "X-Hub-Signature-256";
    pub const WEBHOOK_ID: &str = "webhook-id";
    pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
    pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

    /// All of them.
    pub const ALL: [&str; 9] = [
        CONTENT_TYPE,
        CONTENT_LENGTH,
        HOST,
        USER_AGENT,
        IDEMPOTENCY_KEY,
        HUB_SIGNATURE_256,
        WEBHOOK_ID,
        WEBHOOK_TIMESTAMP,
        WEBHOOK_SIGNATURE,
    ];
}

/// Header names that requests carry whatever a hook says: a hook's `headers` may not
/// replace them.
pub fn reserved_headers() -> impl Iterator<Item = &'static str> {
    let flavoured = [atomgit::HEADERS, gitlab::HEADERS]
        .into_iter()
        .flat_map(|h| [h.event, h.delivery, h.token]);
    header::ALL.into_iter().chain(flavoured)
}

/// The names of a flavour's event, delivery id and token headers.
struct HeaderNames {
    event: &'static str,
    delivery: &'static str,
    token: &'static str,
}
