//! git-webhooks: Push Hook and Tag Push Hook events from a post-receive hook.

pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod dispatch;
pub mod event;
pub mod glob;
pub mod history;
pub mod hookfiles;
pub mod listen;
pub mod outbox;
pub mod output;
pub mod owner;
pub mod pipeline;
pub mod pusher;
pub mod record;
pub mod report;
pub mod request;
pub mod review;
pub mod secret;
pub mod send;
pub mod sign;
pub mod store;
pub mod target;
pub mod timefmt;
pub mod update;
