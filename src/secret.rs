//! Secret values: where they come from (literal, environment, file) and a type that
//! never prints them.

use std::fmt;
use std::path::Path;

use serde::Deserialize;

/// A secret string; `Debug` and `Display` print `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value that must never be shown.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that needs it (a header, a signature key).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

/// `{ env = "NAME" }`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FromEnv {
    env: String,
}

/// `{ file = "PATH" }`
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FromFile {
    file: String,
}

/// How a secret is written in `webhooks.toml`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged, expecting = "a string, { env = \"NAME\" } or { file = \"PATH\" }")]
pub enum SecretSource {
    Literal(String),
    Env(FromEnv),
    File(FromFile),
}

impl SecretSource {
    /// Where the value comes from, for `check`; never the value.
    pub fn describe(&self) -> String {
        match self {
            SecretSource::Literal(_) => "literal".into(),
            SecretSource::Env(e) => format!("env {}", e.env),
            SecretSource::File(f) => format!("file {}", f.file),
        }
    }

    /// Reads the value; `base` is the directory that relative file paths start from.
    pub fn resolve(&self, base: &Path) -> Result<Secret, String> {
        match self {
            SecretSource::Literal(v) => Ok(Secret::new(v.clone())),
            SecretSource::Env(e) => match std::env::var(&e.env) {
                Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
                _ => Err(format!(
                    "environment variable {} is not set (set it in the environment the git server runs hooks with)",
                    e.env
                )),
            },
            SecretSource::File(f) => {
                let path = base.join(&f.file);
                match std::fs::read_to_string(&path) {
                    Ok(v) => Ok(Secret::new(v.strip_suffix('\n').unwrap_or(&v).trim_end_matches('\r'))),
                    Err(e) => Err(format!("cannot read secret file {}: {e}", path.display())),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print_their_value() {
        let s = Secret::new("hunter2");
        assert_eq!(format!("{s} {s:?}"), "[redacted] [redacted]");
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn file_secrets_lose_one_trailing_newline() {
        let dir = std::env::temp_dir().join(format!("gw-secret-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("t"), "abc\n").unwrap();
        let src = SecretSource::File(FromFile { file: "t".into() });
        assert_eq!(src.resolve(&dir).unwrap().expose(), "abc");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_env_names_the_variable() {
        let src = SecretSource::Env(FromEnv {
            env: "GW_SURELY_UNSET_VAR".into(),
        });
        assert!(src.resolve(Path::new(".")).unwrap_err().contains("GW_SURELY_UNSET_VAR"));
    }
}
