//! Publishing to NATS JetStream: one connection per hook and run, made when its first
//! delivery is published, on a current-thread runtime of its own (the rest of the
//! program stays synchronous, and runs that serve only HTTP hooks start no runtime).
//!
//! Each delivery is published with its delivery id as `Nats-Msg-Id`, so that JetStream
//! keeps one message per id within the stream's duplicate window, and the attempt waits
//! for JetStream's acknowledgement. Outcomes map onto the HTTP ones: no server, no
//! stream for the subject, no acknowledgement in time are transient (the delivery stays
//! in line); refused authentication or permissions set it aside as failed, like a `4xx`.

use std::cell::RefCell;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::jetstream::context::{PublishError, PublishErrorKind};
use async_nats::jetstream::message::PublishMessage;
use async_nats::{ConnectErrorKind, ConnectOptions, Event, HeaderMap, ServerError};
use tokio::runtime::Runtime;
use tokio::sync::Notify;

use crate::config::target::NatsServers;
use crate::config::{Endpoint, Nats};
use crate::delivery::attempt::{Attempt, Failure, FailureKind};
use crate::delivery::outbox::Delivery;
use crate::delivery::request::Request;
use crate::payload::USER_AGENT;

/// Publishes one hook's deliveries; connects on first use (`Publisher::default()`).
#[derive(Default)]
pub struct Publisher {
    connection: RefCell<Option<Connection>>,
    /// A refusal of the connection itself, which every later delivery would meet too.
    refused: RefCell<Option<Failure>>,
}

struct Connection {
    runtime: Runtime,
    jetstream: async_nats::jetstream::Context,
    refusals: Arc<Refusals>,
}

/// Refusals the server sends on its own (`-ERR 'Permissions Violation …'`,
/// `Authorization Violation`) rather than as the answer to a publish.
#[derive(Default)]
struct Refusals {
    last: Mutex<Option<String>>,
    arrived: Notify,
}

impl Refusals {
    fn note(&self, error: &ServerError) {
        let text = match error {
            ServerError::AuthorizationViolation => "authorization violation".to_string(),
            ServerError::Other(text) if text.to_lowercase().contains("permissions violation") => text.clone(),
            _ => return,
        };
        *self.last.lock().expect("not poisoned") = Some(text);
        self.arrived.notify_one();
    }

    /// Waits for the next refusal.
    async fn next(&self) -> String {
        loop {
            if let Some(text) = self.last.lock().expect("not poisoned").take() {
                return text;
            }
            self.arrived.notified().await;
        }
    }
}

fn failure(kind: FailureKind, reason: String) -> Failure {
    Failure {
        status: None,
        reason,
        kind,
    }
}

fn transient(reason: String) -> Failure {
    failure(FailureKind::Transient { retry_after: None }, reason)
}

fn refused(text: &str) -> Failure {
    failure(FailureKind::Refused, format!("the NATS server refused: {text}"))
}

impl Publisher {
    /// Publishes `delivery` (its headers and body as `request` has them) to the subject
    /// of `hook`, waiting at most `timeout` for the connection and the acknowledgement.
    pub fn publish(&self, hook: &Endpoint, delivery: &Delivery, request: &Request, timeout: Duration) -> Attempt {
        let (Some(servers), Some(nats)) = (&hook.transport.target.nats, &hook.transport.nats) else {
            return Attempt::Failed(failure(FailureKind::Stuck, "not a NATS hook".into()));
        };
        if let Some(refusal) = self.refused.borrow().clone() {
            return Attempt::Failed(refusal);
        }
        let started = Instant::now();
        let mut connection = self.connection.borrow_mut();
        if connection.is_none() {
            match Connection::open(servers, nats, timeout) {
                Ok(c) => *connection = Some(c),
                Err(f) => {
                    if f.kind == FailureKind::Refused {
                        *self.refused.borrow_mut() = Some(f.clone());
                    }
                    return Attempt::Failed(f);
                }
            }
        }
        let connection = connection.as_ref().expect("connected above");
        let mut headers = HeaderMap::new();
        for (name, value) in &request.headers {
            headers.insert(name.as_str(), value.as_str());
        }
        let message = PublishMessage::build()
            .payload(bytes::Bytes::from(request.body.clone()))
            .headers(headers)
            .message_id(&delivery.id);
        let subject = nats.subject.render(delivery.event.name(), hook.flavor.name());
        let left = timeout.saturating_sub(started.elapsed());
        match connection.publish(subject, message, left) {
            Ok(attempt) => attempt,
            Err(f) => Attempt::Failed(f),
        }
    }
}

impl Connection {
    fn open(servers: &NatsServers, nats: &Nats, timeout: Duration) -> Result<Connection, Failure> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| transient(format!("cannot start the NATS client: {e}")))?;
        let refusals = Arc::new(Refusals::default());
        let noted = refusals.clone();
        let mut options = ConnectOptions::new()
            .name(USER_AGENT)
            .connection_timeout(timeout)
            .event_callback(move |event| {
                let noted = noted.clone();
                async move {
                    if let Event::ServerError(error) = event {
                        noted.note(&error);
                    }
                }
            });
        if let Some((user, password)) = &servers.user {
            options = options.user_and_password(user.clone(), password.expose().to_string());
        }
        if let Some(token) = &nats.token {
            options = options.token(token.expose().to_string());
        }
        if let Some(creds) = &nats.creds {
            options = options.credentials(creds.expose()).map_err(|_| {
                failure(
                    FailureKind::Stuck,
                    "creds_file is not a NATS credentials file (a user JWT and its NKEY seed)".into(),
                )
            })?;
        }
        if servers.tls || nats.ca_file.is_some() {
            options = options.require_tls(true);
        }
        if let Some(ca) = &nats.ca_file {
            options = options.add_root_certificates(ca.clone());
        }
        let client = runtime
            .block_on(async { tokio::time::timeout(timeout, options.connect(servers.servers.as_slice())).await })
            .map_err(|_| transient("no NATS server answered in time".into()))?
            .map_err(|e| match e.kind() {
                ConnectErrorKind::AuthorizationViolation | ConnectErrorKind::Authentication => {
                    refused("authentication failed (check the user and password, token or creds_file)")
                }
                ConnectErrorKind::Tls => failure(
                    FailureKind::Stuck,
                    "TLS error while connecting to NATS (is the server's CA named in ca_file?)".into(),
                ),
                ConnectErrorKind::ServerParse => {
                    failure(FailureKind::Stuck, "the NATS server list cannot be used".into())
                }
                ConnectErrorKind::Dns => transient("NATS server not found".into()),
                ConnectErrorKind::TimedOut => transient("no NATS server answered in time".into()),
                ConnectErrorKind::Io | ConnectErrorKind::MaxReconnects => {
                    transient("no NATS server could be reached".into())
                }
            })?;
        // The context starts a task of its own: inside the runtime.
        let jetstream = runtime.block_on(async { async_nats::jetstream::new(client) });
        Ok(Connection {
            runtime,
            jetstream,
            refusals,
        })
    }

    /// Publishes and waits for the acknowledgement, or for the server's refusal.
    fn publish(&self, subject: String, message: PublishMessage, timeout: Duration) -> Result<Attempt, Failure> {
        let mut jetstream = self.jetstream.clone();
        jetstream.set_timeout(timeout);
        let acknowledged = async {
            let ack = jetstream.send_publish(subject.clone(), message).await?;
            ack.await
        };
        self.runtime.block_on(async {
            tokio::select! {
                result = tokio::time::timeout(timeout, acknowledged) => match result {
                    Err(_) => Err(transient("JetStream did not acknowledge in time".into())),
                    Ok(Ok(ack)) => Ok(Attempt::Published {
                        stream: ack.stream,
                        sequence: ack.sequence,
                        duplicate: ack.duplicate,
                    }),
                    Ok(Err(e)) => Err(publish_failure(&e, &subject)),
                },
                refusal = self.refusals.next() => Err(refused(&refusal)),
            }
        })
    }
}

/// What a failed publish means for the delivery.
fn publish_failure(error: &PublishError, subject: &str) -> Failure {
    match error.kind() {
        PublishErrorKind::StreamNotFound => transient(format!("no JetStream stream takes the subject \"{subject}\"")),
        PublishErrorKind::TimedOut => transient("JetStream did not acknowledge in time".into()),
        PublishErrorKind::BrokenPipe => transient("the connection to NATS was lost".into()),
        PublishErrorKind::MaxAckPending => transient("too many publishes waiting for acknowledgement".into()),
        PublishErrorKind::MaxPayloadExceeded => failure(
            FailureKind::Refused,
            "the event is larger than the NATS server's max_payload".into(),
        ),
        // The server's own words (an API error such as a full stream): they name no secret.
        _ => match std::error::Error::source(error) {
            Some(source) => transient(format!("JetStream did not store the event: {source}")),
            None => transient("JetStream did not store the event".into()),
        },
    }
}
