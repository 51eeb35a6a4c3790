//! One config file as read: its text and schema, and errors that point at its lines
//! without ever showing what is written there.

use std::fmt;
use std::path::{Path, PathBuf};

use super::raw::RawFile;

/// One thing wrong in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub file: PathBuf,
    pub line: Option<usize>,
    pub key: String,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if !self.key.is_empty() {
            write!(f, ": key `{}`", self.key)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// Everything wrong with the config, one error per problem.
#[derive(Debug, Clone)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// A parsed file with what is needed to point at its lines.
pub(super) struct Source {
    pub(super) path: PathBuf,
    pub(super) text: String,
    pub(super) raw: RawFile,
}

impl Source {
    pub(super) fn read(path: &Path) -> Result<Option<Source>, ConfigError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(error(path, None, "", unreadable(path, &e))),
        };
        let raw = toml::from_str::<RawFile>(&text).map_err(|e| {
            let at = e.span().map(|s| s.start);
            let line = at.map(|at| line_of(&text, at));
            let key = line.map(|l| key_on_line(&text, l)).unwrap_or_default();
            let column = at.map_or_else(String::new, |at| format!("column {}: ", column_of(&text, at)));
            let message = toml_message(e.message());
            error(
                path,
                line,
                &key,
                format!("{column}{message} (see docs/configuration.md)"),
            )
        })?;
        Ok(Some(Source {
            path: path.to_path_buf(),
            text,
            raw,
        }))
    }

    pub(super) fn error(&self, at: usize, key: &str, message: impl Into<String>) -> ConfigError {
        error(&self.path, Some(line_of(&self.text, at)), key, message.into())
    }

    pub(super) fn dir(&self) -> PathBuf {
        self.path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }
}

/// Why a config file cannot be read, and for a permission problem what it needs.
pub(super) fn unreadable(path: &Path, e: &std::io::Error) -> String {
    use std::os::unix::fs::MetadataExt;
    match (e.kind(), std::fs::metadata(path)) {
        (std::io::ErrorKind::PermissionDenied, Ok(m)) => {
            let me = crate::owner::effective_uid().map_or_else(String::new, crate::owner::name_of);
            format!(
                "permission denied: it is owned by {} (group {}) with mode {:03o}, and {me} runs git-webhooks; \
                 make it readable by {me} (e.g. chgrp it to a group of {me} and chmod 640), never by everyone when it holds secrets",
                crate::owner::name_of(m.uid()),
                m.gid(),
                m.mode() & 0o777
            )
        }
        _ => format!("cannot read the file: {e}"),
    }
}

pub(super) fn error(file: &Path, line: Option<usize>, key: &str, message: String) -> ConfigError {
    ConfigError {
        file: file.to_path_buf(),
        line,
        key: key.to_string(),
        message,
    }
}

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

/// The 1-based column (in characters) of a byte offset.
pub(super) fn column_of(text: &str, offset: usize) -> usize {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    text[start..offset].chars().count() + 1
}

/// The key written on a 1-based line (`key = …`), or the table header there; empty
/// unless it is a plain key (letters, digits, `_`, `-`, `.`): the line may hold a
/// stray secret, and nothing else of it is ever shown.
pub(super) fn key_on_line(text: &str, line: usize) -> String {
    let content = text.lines().nth(line - 1).unwrap_or("").trim();
    let key = match content.split_once('=') {
        Some((key, _)) => key.trim(),
        None if content.starts_with('[') && content.ends_with(']') => content.trim_matches(['[', ']']).trim(),
        None => "",
    };
    if is_plain_key(key) {
        key.to_string()
    } else {
        String::new()
    }
}

pub(super) fn is_plain_key(key: &str) -> bool {
    key.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// toml's message without the value it quotes: `invalid type: string "…", expected u64`
/// becomes `expected u64, found a string`. Syntax errors never quote the text.
pub(super) fn toml_message(message: &str) -> String {
    let message = message.replace('\n', "; ");
    let wrong = |rest: &str, what: &str| {
        let (found, expected) = rest.rsplit_once(", expected ").unwrap_or((rest, "another value"));
        let kind = found.split(['"', '`', '\'']).next().unwrap_or("").trim();
        let kind = match kind.chars().next() {
            None => "another value".to_string(),
            Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {kind}"),
            Some(_) => format!("a {kind}"),
        };
        format!("{what}: expected {expected}, found {kind}")
    };
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        wrong(rest, "wrong type")
    } else if let Some(rest) = message.strip_prefix("invalid value: ") {
        wrong(rest, "invalid value")
    } else if let Some(rest) = ["unknown field `", "duplicate key `"]
        .into_iter()
        .find_map(|p| message.strip_prefix(p).map(|rest| (p, rest)))
        .and_then(|(p, rest)| rest.split_once('`').map(|(key, tail)| (p, key, tail)))
        .filter(|(_, key, _)| !is_plain_key(key))
    {
        let (prefix, _, tail) = rest;
        format!("{}(a key that is not shown){tail}", prefix.trim_end_matches('`'))
    } else if let Some(rest) = message.strip_prefix("unknown variant ") {
        let expected = rest.split_once(", expected ").map_or("", |(_, e)| e);
        format!("unknown value, expected {expected}")
    } else if message.starts_with("a ") {
        // The `expecting` text of a type that takes several forms.
        format!("wrong type: expected {message}")
    } else {
        message
    }
}
