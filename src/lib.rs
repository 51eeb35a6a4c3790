//! git-webhooks: Push Hook and Tag Push Hook events from a post-receive hook.

pub mod cli;
pub mod commands;
pub mod config;
pub mod delivery;
pub mod event;
pub mod git;
pub mod owner;
pub mod payload;
pub mod push;
pub mod timefmt;
