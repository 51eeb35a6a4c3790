//! Entry point: the `post-receive` name runs the hook; otherwise the command line decides.

use std::process::ExitCode;

use clap::Parser;

use git_webhooks::cli::{Cli, Command, Global};

fn main() -> ExitCode {
    let invoked_as = std::env::args_os().next().map(std::path::PathBuf::from);
    // `post-receive`, or a chained name such as gitolite's `post-receive.h00-webhooks`.
    let as_hook = invoked_as
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy())
        .is_some_and(|n| n == "post-receive" || n.starts_with("post-receive."));
    let (global, command) = if as_hook {
        (Global::default(), Command::Hook)
    } else {
        let cli = Cli::parse();
        (cli.global, cli.command)
    };
    ExitCode::from(git_webhooks::app::run(global, command))
}
