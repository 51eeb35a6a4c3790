//! Entry point: the `post-receive` name runs the hook; otherwise the command line decides.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

use git_webhooks::cli::{Cli, Command, Global};

fn main() -> ExitCode {
    let invoked_as = std::env::args_os().next().map(std::path::PathBuf::from);
    // `post-receive`, or a chained name such as gitolite's `post-receive.h00-webhooks`.
    let as_hook = invoked_as
        .as_ref()
        .and_then(|p: &PathBuf| p.file_name())
        .map(|n| n.to_string_lossy())
        .is_some_and(|n| n == "post-receive" || n.starts_with("post-receive."));
    let (global, command) = if as_hook {
        (Global::default(), Command::Hook)
    } else {
        let cli = Cli::parse();
        (cli.global, cli.command)
    };
    if command.uses_repository() {
        let repo = global
            .repo
            .clone()
            .or_else(|| std::env::var_os("GIT_DIR").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("."));
        let args = match as_hook {
            true => vec!["hook".into()],
            false => std::env::args_os().skip(1).collect(),
        };
        if let Err(why) = git_webhooks::owner::run_as_owner(&repo, args) {
            eprintln!("git-webhooks: error: {why}");
            // A hook's exit code changes nothing for the push.
            return ExitCode::from(u8::from(!matches!(command, Command::Hook)));
        }
    }
    ExitCode::from(git_webhooks::commands::run(global, command))
}
