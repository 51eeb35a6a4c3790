//! Integration tests: the built binary against real repositories, pushes and receivers.

mod support;

mod cli;
mod commits;
mod delivery;
mod leaks;
mod objects;
mod push;
mod resilience;
mod server;
mod shared;
mod signing;
mod tls;
