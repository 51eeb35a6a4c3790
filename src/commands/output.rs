//! What the user sees on stderr: `git-webhooks:`-prefixed lines (git shows them as
//! `remote: …`), quiet and verbose modes, colour only on a terminal without `NO_COLOR`.

use std::io::IsTerminal;

/// Where and how much to print.
#[derive(Clone, Copy, Debug)]
pub struct Output {
    pub quiet: bool,
    pub verbose: bool,
    color: bool,
}

impl Output {
    /// Settings from the command line and the environment.
    pub fn new(quiet: bool, verbose: bool) -> Output {
        let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Output { quiet, verbose, color }
    }

    fn line(&self, code: &str, text: &str) {
        if self.color {
            eprintln!("git-webhooks: \x1b[{code}m{text}\x1b[0m");
        } else {
            eprintln!("git-webhooks: {text}");
        }
    }

    /// Normal progress, hidden by `--quiet`.
    pub fn info(&self, text: &str) {
        if !self.quiet {
            self.line("32", text);
        }
    }

    /// Detail, shown with `--verbose`.
    pub fn detail(&self, text: &str) {
        if self.verbose {
            self.line("2", text);
        }
    }

    /// Something to look at; always shown.
    pub fn warn(&self, text: &str) {
        self.line("33", &format!("warning: {text}"));
    }

    /// Something failed; always shown.
    pub fn error(&self, text: &str) {
        self.line("31", &format!("error: {text}"));
    }
}
