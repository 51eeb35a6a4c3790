//! Payloads: how each flavour renders an event.

pub mod review;
