//! Integration tests: the built binary against real repositories, pushes and receivers.

mod support;

mod cli;
mod commits;
mod delivery;
mod fuzz;
mod gitea;
mod github;
mod gitlab;
mod leaks;
mod listen;
mod nats;
mod objects;
mod proxy;
mod push;
mod resilience;
mod server;
mod shared;
mod signing;
mod status;
mod tls;
