//! Secret values: where they come from (literal, environment, file) and a type that
//! never prints them.

use std::fmt;
use std::path::Path;

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::{alphabet, Engine};
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

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
#[derive(Clone, Debug)]
pub struct FromEnv {
    env: String,
}

/// `{ file = "PATH" }`
#[derive(Clone, Debug)]
pub struct FromFile {
    file: String,
}

/// How a secret is written in `webhooks.toml`.
#[derive(Clone, Debug)]
pub enum SecretSource {
    Literal(String),
    Env(FromEnv),
    File(FromFile),
}

const EXPECTING: &str = "a string, { env = \"NAME\" } or { file = \"PATH\" }";

/// Exactly one of the three forms: a list or a number is an error, never taken for a
/// table (as derived structs would take `["X"]` for `{ env = "X" }`), and no error
/// shows the value.
impl<'de> Deserialize<'de> for SecretSource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Forms;
        impl<'de> Visitor<'de> for Forms {
            type Value = SecretSource;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTING)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<SecretSource, E> {
                Ok(SecretSource::Literal(v.to_string()))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<SecretSource, A::Error> {
                let wrong = || de::Error::custom(format!("expected {EXPECTING}"));
                let mut found = None;
                while let Some(key) = map.next_key::<String>()? {
                    let value: String = map.next_value()?;
                    let source = match key.as_str() {
                        "env" => SecretSource::Env(FromEnv { env: value }),
                        "file" => SecretSource::File(FromFile { file: value }),
                        _ => return Err(wrong()),
                    };
                    if found.replace(source).is_some() {
                        return Err(wrong());
                    }
                }
                found.ok_or_else(wrong)
            }
        }
        deserializer.deserialize_any(Forms)
    }
}

/// Where a secret's value comes from, as `check` shows it; never the value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// Written in the config file.
    Literal,
    Env(String),
    File(String),
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Literal => f.write_str("literal"),
            Origin::Env(name) => write!(f, "env {name}"),
            Origin::File(path) => write!(f, "file {path}"),
        }
    }
}

impl SecretSource {
    /// Where the value comes from.
    pub fn origin(&self) -> Origin {
        match self {
            SecretSource::Literal(_) => Origin::Literal,
            SecretSource::Env(e) => Origin::Env(e.env.clone()),
            SecretSource::File(f) => Origin::File(f.file.clone()),
        }
    }

    /// Reads the value; `base` is the directory that relative file paths start from.
    /// A value with a control character is refused: it could not be sent in a header or
    /// a URL, and a line break in a header would add headers of its own.
    pub fn resolve(&self, base: &Path) -> Result<Secret, String> {
        let value = match self {
            SecretSource::Literal(v) => v.clone(),
            SecretSource::Env(e) => match std::env::var(&e.env) {
                Ok(v) if !v.is_empty() => v,
                _ => {
                    return Err(format!(
                        "environment variable {} is not set (set it in the environment the git server runs hooks with)",
                        e.env
                    ))
                }
            },
            SecretSource::File(f) => {
                let path = base.join(&f.file);
                match std::fs::read_to_string(&path) {
                    // One trailing line end is the file's, not the secret's.
                    Ok(v) => v
                        .strip_suffix("\r\n")
                        .or_else(|| v.strip_suffix('\n'))
                        .unwrap_or(&v)
                        .to_string(),
                    Err(e) => return Err(format!("cannot read secret file {}: {e}", path.display())),
                }
            }
        };
        if has_control(&value) {
            let from = match self {
                SecretSource::Literal(_) => "the value".to_string(),
                SecretSource::Env(e) => format!("environment variable {}", e.env),
                SecretSource::File(f) => format!("secret file {} (after one trailing line end)", f.file),
            };
            return Err(format!(
                "{from} contains a control character (line break, tab, NUL, DEL, …), which cannot be sent"
            ));
        }
        Ok(Secret::new(value))
    }
}

/// True when `text` holds a C0 control character (NUL to US, tab and line breaks
/// included) or DEL.
pub fn has_control(text: &str) -> bool {
    text.chars().any(|c| c.is_ascii_control())
}

/// Base64 with or without its trailing `=` padding: the reference implementations
/// accept secrets either way.
const BASE64_ANY_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The key bytes of a Standard Webhooks secret; `Debug` prints `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey(Vec<u8>);

impl SigningKey {
    /// Decodes `whsec_<base64>` (padded or not; the prefix may be left out).
    pub fn from_secret(secret: &Secret) -> Result<SigningKey, String> {
        let text = secret.expose();
        let encoded = text.strip_prefix("whsec_").unwrap_or(text);
        BASE64_ANY_PADDING
            .decode(encoded)
            .ok()
            .filter(|k| !k.is_empty())
            .map(SigningKey)
            .ok_or_else(|| "must be \"whsec_\" followed by base64 (as Standard Webhooks secrets are)".to_string())
    }

    /// The key bytes, for the one place that signs with them.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
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
    fn file_secrets_lose_exactly_one_line_end() {
        let dir = std::env::temp_dir().join(format!("gw-secret-ends-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (content, expected) in [
            ("abc", Some("abc")),
            ("abc\r\n", Some("abc")),
            ("abc\n\n", None),
            ("abc\r", None),
            ("abc\r\r\n", None),
            ("a\tc\n", None),
        ] {
            std::fs::write(dir.join("t"), content).unwrap();
            let got = SecretSource::File(FromFile { file: "t".into() }).resolve(&dir);
            match expected {
                Some(v) => assert_eq!(got.unwrap().expose(), v, "{content:?}"),
                None => assert!(got.unwrap_err().contains("control character"), "{content:?}"),
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn control_characters_are_refused_without_showing_the_value() {
        for value in ["a\0b", "a\r\nX-Injected: 1", "a\nb", "\u{1}", "a\u{7f}", "a\u{1b}[31m"] {
            let e = SecretSource::Literal(value.into()).resolve(Path::new(".")).unwrap_err();
            assert!(e.contains("control character"), "{e}");
            assert!(!e.contains(value), "{e}");
        }
        assert!(SecretSource::Literal("ok value".into()).resolve(Path::new(".")).is_ok());
    }

    #[test]
    fn missing_env_names_the_variable() {
        let src = SecretSource::Env(FromEnv {
            env: "GW_SURELY_UNSET_VAR".into(),
        });
        assert!(src.resolve(Path::new(".")).unwrap_err().contains("GW_SURELY_UNSET_VAR"));
    }

    #[test]
    fn unpadded_signing_secrets_decode_like_padded_ones() {
        let padded = SigningKey::from_secret(&Secret::new("whsec_c2l4dGVlbiBieXRlIGtleQ==")).unwrap();
        let unpadded = SigningKey::from_secret(&Secret::new("whsec_c2l4dGVlbiBieXRlIGtleQ")).unwrap();
        assert_eq!(padded.expose(), b"sixteen byte key");
        assert_eq!(unpadded, padded);
        assert_eq!(format!("{padded:?}"), "[redacted]");
    }

    #[test]
    fn bad_signing_secrets_are_refused() {
        assert!(SigningKey::from_secret(&Secret::new("whsec_!!!")).is_err());
    }
}
