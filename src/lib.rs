//! git-webhooks: Push Hook and Tag Push Hook events from a post-receive hook.
//!
//! How a push flows through the crate, each layer using only those above it in this
//! list (docs/architecture.md draws the same):
//!
//! - [`git`]: facts from git. The hook's stdin lines become [`git::update::RefUpdate`]s;
//!   [`git::history`] computes each update's commits; [`git::pusher`] says who pushed.
//! - [`event`]: an [`event::Event`] per branch or tag, built once from those facts.
//! - [`payload`]: each [`payload::Flavor`] renders an event as its forge would, body
//!   and event headers.
//! - [`config`]: `webhooks.toml` (and the system-wide file) parsed into checked settings,
//!   one [`config::Endpoint`] per `[[hook]]`; the layers below take them as plain data.
//! - [`delivery`]: the outbox that keeps every delivery before it is sent, the HTTP (or NATS)
//!   request and its attempts, the worker that decides retries, set-asides and
//!   backoffs, and the delivery log.
//! - [`push`]: the pipeline of one run, from ref updates to reports, within the time
//!   budget; it returns what happened and prints nothing.
//! - [`commands`]: one module per command; they parse, call the layers and print.
//!
//! [`owner`] (accounts, and running as a repository's owner), [`ids`] and [`timefmt`] are small
//! helpers any layer may use; [`cli`] holds the command line as typed.

pub mod cli;
pub mod commands;
pub mod config;
pub mod delivery;
pub mod event;
pub mod git;
pub mod ids;
pub mod owner;
pub mod payload;
pub mod push;
pub mod timefmt;
