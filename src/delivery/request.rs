//! The HTTP request of one delivery: URL, headers (event, token, ids, auth,
//! signatures, custom) and body.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;

use crate::config::Endpoint;
use crate::delivery::outbox::Delivery;
use crate::delivery::sign;
use crate::payload::{header, HeaderFacts};

/// A request ready for the wire.
pub struct Request {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Builds the request for `delivery` to `endpoint`, signed at `now` (seconds since the
/// epoch).
pub fn build(endpoint: &Endpoint, delivery: &Delivery, now: u64) -> Request {
    let body = delivery.body.as_bytes().to_vec();
    let mut headers: Vec<(String, String)> = vec![
        (header::CONTENT_TYPE.into(), "application/json".into()),
        (header::USER_AGENT.into(), endpoint.flavor.user_agent().into()),
        (header::IDEMPOTENCY_KEY.into(), delivery.id.clone()),
    ];
    let token = endpoint.credentials.token.as_ref().map(|t| t.expose());
    let facts = HeaderFacts {
        kind: delivery.event,
        id: &delivery.id,
        token,
        hook: &endpoint.name,
        homepage: &endpoint.homepage,
    };
    let flavoured = endpoint.flavor.headers(&facts);
    headers.extend(flavoured.into_iter().map(|(n, v)| (n.to_string(), v)));
    if let Some((user, password)) = &endpoint.transport.target.basic {
        let pair = BASE64.encode(format!("{user}:{}", password.expose()));
        headers.push(("Authorization".into(), format!("Basic {pair}")));
    }
    if let Some(secret) = &endpoint.credentials.secret {
        for (name, form) in endpoint.flavor.signatures() {
            headers.push((name.to_string(), sign::body_signature(*form, secret, &body)));
        }
    }
    if let Some(key) = &endpoint.credentials.signing_key {
        headers.push((header::WEBHOOK_ID.into(), delivery.id.clone()));
        headers.push((header::WEBHOOK_TIMESTAMP.into(), now.to_string()));
        headers.push((
            header::WEBHOOK_SIGNATURE.into(),
            sign::standard_signature(key, &delivery.id, now, &body),
        ));
    }
    headers.extend(endpoint.transport.headers.iter().cloned());
    Request {
        url: endpoint.transport.target.url.clone(),
        headers,
        body,
    }
}
