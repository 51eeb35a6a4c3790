//! The config file's schema as written: serde structures, nothing checked yet.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use super::secret::SecretSource;

/// A number of seconds written as an integer or a float.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(untagged, expecting = "a number of seconds")]
pub(super) enum Seconds {
    Int(u64),
    Float(f64),
}

impl Seconds {
    pub(super) fn duration(self) -> Option<Duration> {
        let secs = match self {
            Seconds::Int(i) => i as f64,
            Seconds::Float(f) => f,
        };
        (secs.is_finite() && secs > 0.0 && secs < 86_400.0).then(|| Duration::from_secs_f64(secs))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) root: Option<String>,
    pub(super) repository: Option<RawRepository>,
    pub(super) payload: Option<RawPayload>,
    pub(super) delivery: Option<RawDelivery>,
    #[serde(default)]
    pub(super) users: BTreeMap<String, RawUser>,
    #[serde(default)]
    pub(super) hook: Vec<RawHook>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRepository {
    pub(super) commit_url: Option<Spanned<String>>,
    pub(super) compare_url: Option<Spanned<String>>,
    pub(super) name: Option<String>,
    pub(super) project_id: Option<u64>,
    pub(super) description: Option<String>,
    pub(super) homepage: Option<String>,
    pub(super) url: Option<String>,
    pub(super) git_http_url: Option<String>,
    pub(super) git_ssh_url: Option<String>,
    pub(super) visibility_level: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPayload {
    pub(super) max_commits: Option<usize>,
    pub(super) max_files: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDelivery {
    pub(super) budget: Option<Spanned<Seconds>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUser {
    pub(super) email: Option<String>,
    pub(super) id: Option<u64>,
    pub(super) username: Option<String>,
    pub(super) avatar_url: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHook {
    pub(super) name: Option<Spanned<String>>,
    pub(super) url: Option<Spanned<String>>,
    pub(super) enabled: Option<bool>,
    pub(super) events: Option<Vec<Spanned<String>>>,
    pub(super) token: Option<Spanned<SecretSource>>,
    pub(super) secret: Option<Spanned<SecretSource>>,
    pub(super) signing_secret: Option<Spanned<SecretSource>>,
    #[serde(default)]
    pub(super) url_variables: BTreeMap<String, Spanned<SecretSource>>,
    pub(super) timeout: Option<Spanned<Seconds>>,
    pub(super) flavor: Option<Spanned<String>>,
    pub(super) branches: Option<Vec<String>>,
    pub(super) tags: Option<Vec<String>>,
    #[serde(default)]
    pub(super) headers: BTreeMap<String, Spanned<String>>,
    pub(super) ca_file: Option<Spanned<String>>,
    pub(super) tls_verify: Option<bool>,
    pub(super) subject: Option<Spanned<String>>,
    pub(super) creds_file: Option<Spanned<String>>,
}
