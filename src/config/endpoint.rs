//! One `[[hook]]`: its settings checked and turned into an [`Endpoint`], its secrets
//! read, and names given to the hooks that have none.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use toml::Spanned;

use super::raw::RawHook;
use super::secret::{Origin, Secret, SecretSource, SigningKey};
use super::source::{error, line_of, ConfigError, Source};
use super::subject::{self, Subject};
use super::target::{Target, UrlTemplate};
use crate::event::EventKind;
use crate::payload::Flavor;

/// One `[[hook]]` of the config: an endpoint that events are delivered to, validated,
/// with its secrets read. ("Hook" stays the word of the config file and of messages.)
#[derive(Debug)]
pub struct Endpoint {
    pub name: String,
    /// The dialect of its payloads and headers.
    pub flavor: Flavor,
    pub filter: Filter,
    pub transport: Transport,
    pub credentials: Credentials,
    pub provenance: Provenance,
    /// The repository's homepage, which some flavours name in headers.
    pub homepage: String,
    /// Why the hook cannot send now (a secret that cannot be read); its events are kept.
    pub unavailable: Vec<String>,
}

/// Which events a hook takes: `events`, `branches`, `tags`.
#[derive(Debug)]
pub struct Filter {
    pub events: Vec<EventKind>,
    pub branches: Vec<String>,
    pub tags: Vec<String>,
}

/// Where a hook's requests go and how: `url`, `timeout`, `headers`, TLS.
#[derive(Debug)]
pub struct Transport {
    pub url: UrlTemplate,
    pub target: Target,
    pub timeout: Duration,
    pub headers: Vec<(String, String)>,
    pub ca_pem: Option<Vec<u8>>,
    pub tls_verify: bool,
    /// How a `nats://` hook publishes; `None` for HTTP.
    pub nats: Option<Nats>,
}

/// A NATS hook's `subject`, and the credentials it connects with besides the URL's user
/// and password: `token`, or the content of `creds_file`.
#[derive(Debug)]
pub struct Nats {
    pub subject: Subject,
    pub token: Option<Secret>,
    pub creds: Option<Secret>,
    /// `ca_file`, which the NATS client reads itself.
    pub ca_file: Option<PathBuf>,
}

/// What a hook's requests carry to show where they come from: `token`, `secret`,
/// `signing_secret` (the URL's own credentials are in its [`Target`]).
#[derive(Debug)]
pub struct Credentials {
    pub token: Option<Secret>,
    pub secret: Option<Secret>,
    pub signing_key: Option<SigningKey>,
}

/// Where a hook was defined and where its secrets come from, for messages and `check`.
#[derive(Debug)]
pub struct Provenance {
    /// The file, and the line of its `url`.
    pub file: PathBuf,
    pub line: usize,
    /// For each secret-valued key, where its value comes from (never the value).
    pub secrets: Vec<(String, Origin)>,
}

impl Filter {
    /// True when it takes `kind` events for the branch or tag `short_name`.
    pub fn wants(&self, kind: EventKind, short_name: &str) -> bool {
        self.events.contains(&kind)
            && match kind {
                EventKind::Push => crate::config::glob::any(&self.branches, short_name),
                EventKind::TagPush => crate::config::glob::any(&self.tags, short_name),
                // A merge request is filtered by its target branch.
                EventKind::MergeRequest => crate::config::glob::any(&self.branches, short_name),
                _ => true,
            }
    }
}

impl Filter {
    /// True when it takes `kind` events for the full ref name `refname`: `create` and
    /// `delete` events are filtered by `branches` for branches and by `tags` for tags.
    pub fn wants_ref(&self, kind: EventKind, refname: &str) -> bool {
        let short = crate::git::update::short_name(refname);
        match kind {
            EventKind::Create | EventKind::Delete => {
                let globs = if refname.starts_with("refs/tags/") {
                    &self.tags
                } else {
                    &self.branches
                };
                self.events.contains(&kind) && crate::config::glob::any(globs, short)
            }
            _ => self.wants(kind, short),
        }
    }
}

impl Endpoint {
    /// True when this hook takes `kind` events for the branch or tag `short_name`.
    pub fn wants(&self, kind: EventKind, short_name: &str) -> bool {
        self.filter.wants(kind, short_name)
    }

    /// True when this hook takes `kind` events for the full ref name `refname`.
    pub fn wants_ref(&self, kind: EventKind, refname: &str) -> bool {
        self.filter.wants_ref(kind, refname)
    }
}

/// A list of names for an error message: `"a", "b"`.
pub(super) fn quoted(names: impl Iterator<Item = &'static str>) -> String {
    names.map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}

pub(super) fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

pub(super) fn hook(source: &Source, raw: &RawHook, warnings: &mut Vec<String>) -> Result<Endpoint, Vec<ConfigError>> {
    let Some(raw_url) = &raw.url else {
        let name = raw
            .name
            .as_ref()
            .map_or_else(String::new, |n| format!(" '{}'", n.get_ref()));
        let at = raw.name.as_ref().map(|n| line_of(&source.text, n.span().start));
        return Err(vec![error(
            &source.path,
            at,
            "url",
            format!("hook{name} has no `url`; every [[hook]] needs one"),
        )]);
    };
    let mut errors = Vec::new();
    let dir = source.dir();
    let url_at = raw_url.span().start;
    let label = raw
        .name
        .as_ref()
        .map_or_else(|| raw_url.get_ref().clone(), |n| n.get_ref().clone());
    let label = UrlTemplate::display_of(&label);

    let mut secret_sources = Vec::new();
    // A secret that cannot be read now does not stop the other hooks: this hook keeps its
    // events until it can be read.
    let mut unavailable = Vec::new();
    let mut secret = |key: &str, value: &Option<Spanned<SecretSource>>| {
        let value = value.as_ref()?;
        secret_sources.push((key.to_string(), value.get_ref().origin()));
        match value.get_ref().resolve(&dir) {
            Ok(s) => Some(s),
            Err(e) => {
                unavailable.push(source.error(value.span().start, key, format!("hook '{label}': {e}")));
                // A stand-in, so that the rest of the hook is still checked; never sent.
                Some(Secret::new("unavailable"))
            }
        }
    };
    let token = secret("token", &raw.token);
    let hmac_secret = secret("secret", &raw.secret);
    let signing_secret = secret("signing_secret", &raw.signing_secret);
    let mut variables = BTreeMap::new();
    for (key, value) in &raw.url_variables {
        if let Some(s) = secret(&format!("url_variables.{key}"), &Some(value.clone())) {
            variables.insert(key.clone(), s);
        }
    }
    let signing_key = match (&signing_secret, unavailable.is_empty()) {
        (Some(s), true) => match SigningKey::from_secret(s) {
            Ok(key) => Some(key),
            Err(e) => {
                let at = raw.signing_secret.as_ref().map_or(url_at, |v| v.span().start);
                errors.push(source.error(at, "signing_secret", format!("hook '{label}': {e}")));
                None
            }
        },
        _ => None,
    };

    let url = UrlTemplate::new(raw_url.get_ref().clone(), variables);
    let target = match url.resolve() {
        Ok(t) => Some(t),
        Err(e) => {
            errors.push(source.error(url_at, "url", format!("hook '{label}': {e}")));
            None
        }
    };
    if let Some(missing) = url.unused_variables().first() {
        warnings.push(format!(
            "hook '{label}': url_variables.{missing} is not used in the url"
        ));
    }
    if url.has_literal_password() {
        secret_sources.push(("url password".into(), Origin::Literal));
    }

    let flavor = match raw.flavor.as_ref() {
        None => Flavor::AtomGit,
        Some(f) => Flavor::from_name(f.get_ref()).unwrap_or_else(|| {
            let known = quoted(Flavor::ALL.into_iter().map(Flavor::name));
            let message = format!("hook '{label}': unknown flavor \"{}\"; use one of {known}", f.get_ref());
            errors.push(source.error(f.span().start, "flavor", message));
            Flavor::AtomGit
        }),
    };
    if let (Some(token), false) = (&raw.token, flavor.has_token()) {
        let message = format!(
            "hook '{label}': {} hooks send no token; use `secret` (signatures) or `headers`",
            flavor.name()
        );
        errors.push(source.error(token.span().start, "token", message));
    }
    let events = match &raw.events {
        None => vec![EventKind::Push, EventKind::TagPush],
        Some(list) => list
            .iter()
            .filter_map(|e| match EventKind::from_name(e.get_ref()) {
                Some(k) if !flavor.sends(k) => {
                    let msg = format!(
                        "hook '{label}': {} hooks have no \"{}\" event; it is sent by the {} flavours",
                        flavor.name(),
                        k.name(),
                        quoted(Flavor::names_sending(k))
                    );
                    errors.push(source.error(e.span().start, "events", msg));
                    None
                }
                Some(k) => Some(k),
                None => {
                    let msg = format!(
                        "hook '{label}': unknown event \"{}\"; known: {}",
                        e.get_ref(),
                        quoted(EventKind::ALL.into_iter().map(EventKind::name))
                    );
                    errors.push(source.error(e.span().start, "events", msg));
                    None
                }
            })
            .collect(),
    };
    let timeout = match &raw.timeout {
        None => Duration::from_secs(10),
        Some(t) => t.get_ref().duration().unwrap_or_else(|| {
            errors.push(source.error(
                t.span().start,
                "timeout",
                format!("hook '{label}': must be a positive number of seconds"),
            ));
            Duration::from_secs(10)
        }),
    };
    let mut headers = Vec::new();
    for (name, value) in &raw.headers {
        let at = value.span().start;
        if !is_token(name) {
            errors.push(source.error(
                at,
                "headers",
                format!("hook '{label}': {name:?} is not a valid HTTP header name"),
            ));
        } else if crate::payload::reserved_headers().any(|r| r.eq_ignore_ascii_case(name)) {
            errors.push(source.error(
                at,
                "headers",
                format!("hook '{label}': header \"{name}\" is set by git-webhooks and cannot be overridden"),
            ));
        } else if crate::config::secret::has_control(value.get_ref()) {
            errors.push(source.error(
                at,
                "headers",
                format!("hook '{label}': the value of \"{name}\" contains a control character (line break, tab, NUL, DEL, …)"),
            ));
        } else {
            headers.push((name.clone(), value.get_ref().clone()));
        }
    }
    if url.has_credentials() {
        if let Some((_, value)) = raw
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("authorization"))
        {
            let msg = format!("hook '{label}': the url's credentials already set Authorization; remove one of them");
            errors.push(source.error(value.span().start, "headers", msg));
        }
    }
    let ca_pem = raw.ca_file.as_ref().and_then(|f| {
        let path = dir.join(f.get_ref());
        match std::fs::read(&path) {
            Ok(pem) => Some(pem),
            Err(e) => {
                errors.push(source.error(
                    f.span().start,
                    "ca_file",
                    format!("hook '{label}': cannot read {}: {e}", path.display()),
                ));
                None
            }
        }
    });
    let tls_verify = raw.tls_verify.unwrap_or(true);
    let mut token = token;
    let nats = match &target {
        Some(t) if t.nats.is_some() => {
            if let Some(creds) = &raw.creds_file {
                secret_sources.push(("creds_file".into(), Origin::File(creds.get_ref().clone())));
            }
            let mut problems = Problems {
                errors: &mut errors,
                unavailable: &mut unavailable,
            };
            Some(nats_options(source, raw, &label, t, &mut token, &mut problems))
        }
        _ => {
            for (key, value) in [("subject", &raw.subject), ("creds_file", &raw.creds_file)] {
                if let Some(v) = value {
                    let msg = format!("hook '{label}': `{key}` is for nats:// hooks only");
                    errors.push(source.error(v.span().start, key, msg));
                }
            }
            None
        }
    };
    let (Some(target), true) = (target, errors.is_empty()) else {
        errors.extend(unavailable);
        return Err(errors);
    };
    let unavailable = unavailable.iter().map(ConfigError::to_string).collect();
    let name = raw.name.as_ref().map(|n| n.get_ref().clone()).unwrap_or_default();
    Ok(Endpoint {
        name,
        flavor,
        filter: Filter {
            events,
            branches: raw.branches.clone().unwrap_or_default(),
            tags: raw.tags.clone().unwrap_or_default(),
        },
        transport: Transport {
            url,
            target,
            timeout,
            headers,
            ca_pem,
            tls_verify,
            nats,
        },
        credentials: Credentials {
            token,
            secret: hmac_secret,
            signing_key,
        },
        provenance: Provenance {
            file: source.path.clone(),
            line: line_of(&source.text, url_at),
            secrets: secret_sources,
        },
        homepage: String::new(),
        unavailable,
    })
}

/// Where a hook's problems go: errors of the file, and secrets that cannot be read now.
struct Problems<'a> {
    errors: &'a mut Vec<ConfigError>,
    unavailable: &'a mut Vec<ConfigError>,
}

/// The settings of a `nats://` hook: its subject, and its credentials. Its `token`
/// authenticates the connection and is taken out of the hook's headers; a hook
/// authenticates one way at most.
fn nats_options(
    source: &Source,
    raw: &RawHook,
    label: &str,
    target: &Target,
    token: &mut Option<Secret>,
    problems: &mut Problems,
) -> Nats {
    let default = || Subject::new(subject::DEFAULT).expect("the default subject is valid");
    let subject = match &raw.subject {
        None => default(),
        Some(s) => Subject::new(s.get_ref()).unwrap_or_else(|e| {
            let at = s.span().start;
            problems
                .errors
                .push(source.error(at, "subject", format!("hook '{label}': {e}")));
            default()
        }),
    };
    let creds = raw.creds_file.as_ref().and_then(|f| {
        let path = source.dir().join(f.get_ref());
        match std::fs::read_to_string(&path) {
            Ok(text) => Some(Secret::new(text)),
            Err(e) => {
                let msg = format!(
                    "hook '{label}': cannot read the credentials file {}: {e}",
                    path.display()
                );
                problems
                    .unavailable
                    .push(source.error(f.span().start, "creds_file", msg));
                None
            }
        }
    });
    let user = target.nats.as_ref().is_some_and(|n| n.user.is_some());
    let ways = [user, token.is_some(), raw.creds_file.is_some()];
    if ways.iter().filter(|w| **w).count() > 1 {
        let at = raw
            .creds_file
            .as_ref()
            .or(raw.url.as_ref())
            .map_or(0, |v| v.span().start);
        let msg = format!("hook '{label}': a NATS hook authenticates one way: a user and password in the url, `token` or `creds_file`");
        problems.errors.push(source.error(at, "url", msg));
    }
    if raw.tls_verify == Some(false) {
        let at = raw.url.as_ref().map_or(0, |v| v.span().start);
        let msg = format!("hook '{label}': NATS hooks always verify the server's certificate; name its CA in ca_file");
        problems.errors.push(source.error(at, "tls_verify", msg));
    }
    Nats {
        subject,
        token: token.take(),
        creds,
        ca_file: raw.ca_file.as_ref().map(|f| source.dir().join(f.get_ref())),
    }
}

/// Gives a file's unnamed hooks their URL's host, numbered when a host serves several or
/// the name is `taken` by an earlier file; two hooks of one file with the same explicit
/// name are an error, since the outbox keys deliveries by name.
pub(super) fn name_hooks(
    hooks: &mut [Endpoint],
    taken: &[String],
    errors: &mut Vec<ConfigError>,
    warnings: &mut Vec<String>,
) {
    let mut explicit: Vec<String> = hooks
        .iter()
        .filter(|h| !h.name.is_empty())
        .map(|h| h.name.clone())
        .collect();
    explicit.extend(taken.iter().cloned());
    let mut seen = std::collections::BTreeSet::new();
    for hook in hooks.iter_mut() {
        if hook.name.is_empty() {
            let host = hook.transport.target.host().to_string();
            let mut name = host.clone();
            let mut n = 1;
            while explicit.contains(&name) || seen.contains(&name) {
                n += 1;
                name = format!("{host}-{n}");
            }
            if n > 1 {
                warnings.push(format!("several hooks go to {host}; give each a `name` so their outbox and log stay theirs if the file is reordered"));
            }
            hook.name = name;
        } else if seen.contains(&hook.name) {
            errors.push(error(
                &hook.provenance.file,
                Some(hook.provenance.line),
                "name",
                format!("two hooks are named '{}'; hook names must be unique", hook.name),
            ));
        }
        seen.insert(hook.name.clone());
    }
}
