//! Delivering events: the outbox, the HTTP request and its attempts, NATS publishes, the worker that
//! serves each endpoint, and the delivery log.

pub mod attempt;
pub mod log;
pub mod nats;
pub mod outbox;
pub mod request;
pub mod sign;
pub mod store;
pub mod worker;
