//! `webhooks.toml`: the schema, its validation, and the merged settings of the
//! system-wide file and the repository's own.

pub mod glob;
pub mod secret;
pub mod target;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

use crate::config::secret::{Secret, SecretSource, SigningKey};
use crate::config::target::{Target, UrlTemplate};
use crate::event::{EventKind, RepositoryInfo};
use crate::git::pusher::User;
use crate::payload::Flavor;

/// The repository's own config file name, inside the bare repository.
pub const FILE_NAME: &str = "webhooks.toml";
/// The system-wide config file unless `GIT_WEBHOOKS_CONFIG` names another.
pub const SYSTEM_FILE: &str = "/etc/git-webhooks.toml";

/// A number of seconds written as an integer or a float.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(untagged, expecting = "a number of seconds")]
enum Seconds {
    Int(u64),
    Float(f64),
}

impl Seconds {
    fn duration(self) -> Option<Duration> {
        let secs = match self {
            Seconds::Int(i) => i as f64,
            Seconds::Float(f) => f,
        };
        (secs.is_finite() && secs > 0.0 && secs < 86_400.0).then(|| Duration::from_secs_f64(secs))
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    root: Option<String>,
    repository: Option<RawRepository>,
    payload: Option<RawPayload>,
    delivery: Option<RawDelivery>,
    #[serde(default)]
    users: BTreeMap<String, RawUser>,
    #[serde(default)]
    hook: Vec<RawHook>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRepository {
    name: Option<String>,
    project_id: Option<u64>,
    description: Option<String>,
    homepage: Option<String>,
    url: Option<String>,
    git_http_url: Option<String>,
    git_ssh_url: Option<String>,
    visibility_level: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPayload {
    max_commits: Option<usize>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelivery {
    budget: Option<Spanned<Seconds>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUser {
    email: Option<String>,
    id: Option<u64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHook {
    name: Option<Spanned<String>>,
    url: Option<Spanned<String>>,
    enabled: Option<bool>,
    events: Option<Vec<Spanned<String>>>,
    token: Option<Spanned<SecretSource>>,
    secret: Option<Spanned<SecretSource>>,
    signing_secret: Option<Spanned<SecretSource>>,
    #[serde(default)]
    url_variables: BTreeMap<String, Spanned<SecretSource>>,
    timeout: Option<Spanned<Seconds>>,
    flavor: Option<Spanned<String>>,
    branches: Option<Vec<String>>,
    tags: Option<Vec<String>>,
    #[serde(default)]
    headers: BTreeMap<String, Spanned<String>>,
    ca_file: Option<Spanned<String>>,
    tls_verify: Option<bool>,
}

/// One `[[hook]]` of the config: an endpoint that events are delivered to, validated,
/// with its secrets read. ("Hook" stays the word of the config file and of messages.)
#[derive(Debug)]
pub struct Endpoint {
    pub name: String,
    pub url: UrlTemplate,
    pub target: Target,
    pub events: Vec<EventKind>,
    pub token: Option<Secret>,
    pub secret: Option<Secret>,
    pub signing_key: Option<SigningKey>,
    pub timeout: Duration,
    pub flavor: Flavor,
    pub branches: Vec<String>,
    pub tags: Vec<String>,
    pub headers: Vec<(String, String)>,
    pub ca_pem: Option<Vec<u8>>,
    pub tls_verify: bool,
    /// The file this hook was defined in, and the line of its `url`.
    pub origin: PathBuf,
    pub line: usize,
    /// For each secret-valued key, where its value comes from (never the value).
    pub secret_sources: Vec<(String, String)>,
    /// Why the hook cannot send now (a secret that cannot be read); its events are kept.
    pub unavailable: Vec<String>,
}

impl Endpoint {
    /// True when this hook takes `kind` events for the branch or tag `short_name`.
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

/// The merged settings that a run works with.
#[derive(Debug)]
pub struct Config {
    pub repository: RepositoryInfo,
    pub users: BTreeMap<String, User>,
    pub max_commits: usize,
    pub budget: Duration,
    pub hooks: Vec<Endpoint>,
    /// Problems worth a word that do not stop anything.
    pub warnings: Vec<String>,
    /// The files read, system-wide first.
    pub files: Vec<PathBuf>,
    /// For each `[repository]` key, the file that set it (absent: derived default).
    pub origins: BTreeMap<&'static str, PathBuf>,
}

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

/// The system-wide file's path, from `GIT_WEBHOOKS_CONFIG` or the default.
pub fn system_file() -> PathBuf {
    std::env::var_os("GIT_WEBHOOKS_CONFIG").map_or_else(|| PathBuf::from(SYSTEM_FILE), PathBuf::from)
}

/// A parsed file with what is needed to point at its lines.
struct Source {
    path: PathBuf,
    text: String,
    raw: RawFile,
}

impl Source {
    fn read(path: &Path) -> Result<Option<Source>, ConfigError> {
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

    fn error(&self, at: usize, key: &str, message: impl Into<String>) -> ConfigError {
        error(&self.path, Some(line_of(&self.text, at)), key, message.into())
    }

    fn dir(&self) -> PathBuf {
        self.path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }
}

/// Why a config file cannot be read, and for a permission problem what it needs.
fn unreadable(path: &Path, e: &std::io::Error) -> String {
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

fn error(file: &Path, line: Option<usize>, key: &str, message: String) -> ConfigError {
    ConfigError {
        file: file.to_path_buf(),
        line,
        key: key.to_string(),
        message,
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].bytes().filter(|&b| b == b'\n').count() + 1
}

/// The 1-based column (in characters) of a byte offset.
fn column_of(text: &str, offset: usize) -> usize {
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
fn key_on_line(text: &str, line: usize) -> String {
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

fn is_plain_key(key: &str) -> bool {
    key.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// toml's message without the value it quotes: `invalid type: string "…", expected u64`
/// becomes `expected u64, found a string`. Syntax errors never quote the text.
fn toml_message(message: &str) -> String {
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

/// The repository's name: its directory name without `.git`.
pub fn repository_name(git_dir: &Path) -> String {
    let dir = if git_dir.file_name().is_some_and(|n| n == ".git") {
        git_dir.parent().unwrap_or(git_dir)
    } else {
        git_dir
    };
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    name.strip_suffix(".git").map(str::to_string).unwrap_or(name)
}

/// Reads and merges the system-wide file and `GIT_DIR/webhooks.toml`.
pub fn load(git_dir: &Path) -> Result<Config, ConfigErrors> {
    let one = |path: &Path| Source::read(path).map_err(|e| ConfigErrors(vec![e]));
    let system = one(&system_file())?;
    let local = one(&git_dir.join(FILE_NAME))?;
    merge(git_dir, system, local)
}

fn merge(git_dir: &Path, system: Option<Source>, local: Option<Source>) -> Result<Config, ConfigErrors> {
    let mut errors = Vec::new();
    let mut warnings = Vec::new();
    let abs = std::fs::canonicalize(git_dir).unwrap_or_else(|_| git_dir.to_path_buf());
    let name = repository_name(&abs);
    let mut repository = default_repository(&abs, &name);
    let mut origins = BTreeMap::new();
    let mut users = BTreeMap::new();
    let mut max_commits = 20;
    let mut budget = Duration::from_secs(15);
    let mut hooks = Vec::new();
    let mut files = Vec::new();

    if let Some(local) = &local {
        if let Some(root) = &local.raw.root {
            let at = local.text.find("root").unwrap_or(0);
            errors.push(local.error(
                at,
                "root",
                format!("`root = \"{root}\"` belongs in the system-wide file only"),
            ));
        }
    }
    for (source, is_system) in [(&system, true), (&local, false)] {
        let Some(source) = source else { continue };
        files.push(source.path.clone());
        let raw = &source.raw;
        let path_in_root = is_system.then(|| template_path(&abs, raw.root.as_deref(), &name));
        let fill = |value: &str| match &path_in_root {
            Some(path) => value.replace("{name}", &name).replace("{path}", path),
            None => value.to_string(),
        };
        if let Some(r) = &raw.repository {
            let mut set = |key: &'static str, value: Option<String>, field: &mut String| {
                if let Some(v) = value {
                    *field = fill(&v);
                    origins.insert(key, source.path.clone());
                }
            };
            set("name", r.name.clone(), &mut repository.name);
            set("description", r.description.clone(), &mut repository.description);
            set("homepage", r.homepage.clone(), &mut repository.homepage);
            set("url", r.url.clone(), &mut repository.url);
            set("git_http_url", r.git_http_url.clone(), &mut repository.git_http_url);
            set("git_ssh_url", r.git_ssh_url.clone(), &mut repository.git_ssh_url);
            if let Some(id) = r.project_id {
                repository.project_id = id;
                origins.insert("project_id", source.path.clone());
            }
            if let Some(v) = r.visibility_level {
                repository.visibility_level = v;
                origins.insert("visibility_level", source.path.clone());
            }
        }
        for (user, u) in &raw.users {
            let entry = users.entry(user.clone()).or_insert_with(User::default);
            if let Some(e) = &u.email {
                entry.email = e.clone();
            }
            if let Some(id) = u.id {
                entry.id = id;
            }
        }
        if let Some(m) = raw.payload.as_ref().and_then(|p| p.max_commits) {
            max_commits = m;
        }
        if let Some(b) = raw.delivery.as_ref().and_then(|d| d.budget.as_ref()) {
            match b.get_ref().duration() {
                Some(d) => budget = d,
                None => errors.push(source.error(b.span().start, "budget", "must be a positive number of seconds")),
            }
        }
        let mut file_hooks = Vec::new();
        for raw_hook in &raw.hook {
            if raw_hook.enabled == Some(false) {
                // Switches off a hook of the system-wide file for this repository.
                match &raw_hook.name {
                    Some(name) => {
                        let before = hooks.len();
                        hooks.retain(|h: &Endpoint| h.name != *name.get_ref());
                        if hooks.len() == before {
                            warnings.push(format!(
                                "{}:{}: `enabled = false` names '{}', but no earlier file defines a hook of that name",
                                source.path.display(),
                                line_of(&source.text, name.span().start),
                                name.get_ref()
                            ));
                        }
                    }
                    None => warnings.push(format!(
                        "{}: a hook with `enabled = false` needs the `name` of the hook it switches off",
                        source.path.display()
                    )),
                }
                continue;
            }
            match hook(source, raw_hook, &mut warnings) {
                Ok(h) => file_hooks.push(h),
                Err(mut e) => errors.append(&mut e),
            }
        }
        // A named hook replaces the earlier file's hook of that name.
        hooks.retain(|h| !file_hooks.iter().any(|f| !f.name.is_empty() && f.name == h.name));
        let taken: Vec<String> = hooks.iter().map(|h| h.name.clone()).collect();
        name_hooks(&mut file_hooks, &taken, &mut errors, &mut warnings);
        hooks.extend(file_hooks);
    }
    if !errors.is_empty() {
        return Err(ConfigErrors(errors));
    }
    if repository.homepage.is_empty() && !hooks.is_empty() {
        warnings.push("[repository] homepage is not set: commit URLs will be relative (\"/commits/<id>\")".into());
    }
    Ok(Config {
        repository,
        users,
        max_commits,
        budget,
        hooks,
        warnings,
        files,
        origins,
    })
}

fn default_repository(abs: &Path, name: &str) -> RepositoryInfo {
    let description = std::fs::read_to_string(abs.join("description"))
        .ok()
        .filter(|d| !d.starts_with("Unnamed repository;"))
        .map(|d| d.trim().to_string())
        .unwrap_or_default();
    RepositoryInfo {
        name: name.to_string(),
        description,
        url: abs.to_string_lossy().into_owned(),
        ..RepositoryInfo::default()
    }
}

/// `{path}`: the repository's path without `.git`, relative to the system file's `root`.
fn template_path(abs: &Path, root: Option<&str>, name: &str) -> String {
    let relative = root.and_then(|r| {
        let root = std::fs::canonicalize(r).unwrap_or_else(|_| PathBuf::from(r));
        abs.strip_prefix(root).ok().map(|p| p.to_string_lossy().into_owned())
    });
    match relative {
        Some(p) if !p.is_empty() => p.strip_suffix(".git").map(str::to_string).unwrap_or(p),
        _ => name.to_string(),
    }
}

/// A list of names for an error message: `"a", "b"`.
fn quoted(names: impl Iterator<Item = &'static str>) -> String {
    names.map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ")
}

fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn hook(source: &Source, raw: &RawHook, warnings: &mut Vec<String>) -> Result<Endpoint, Vec<ConfigError>> {
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
        secret_sources.push((key.to_string(), value.get_ref().describe()));
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
        secret_sources.push(("url password".into(), "literal".into()));
    }

    let events = match &raw.events {
        None => vec![EventKind::Push, EventKind::TagPush],
        Some(list) => list
            .iter()
            .filter_map(|e| match EventKind::from_name(e.get_ref()) {
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
    let flavor = match raw.flavor.as_ref() {
        None => Flavor::AtomGit,
        Some(f) => Flavor::from_name(f.get_ref()).unwrap_or_else(|| {
            let known = quoted(Flavor::ALL.into_iter().map(Flavor::name));
            let message = format!("hook '{label}': unknown flavor \"{}\"; use one of {known}", f.get_ref());
            errors.push(source.error(f.span().start, "flavor", message));
            Flavor::AtomGit
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
    let (Some(target), true) = (target, errors.is_empty()) else {
        errors.extend(unavailable);
        return Err(errors);
    };
    let unavailable = unavailable.iter().map(ConfigError::to_string).collect();
    let name = raw.name.as_ref().map(|n| n.get_ref().clone()).unwrap_or_default();
    Ok(Endpoint {
        name,
        url,
        target,
        events,
        token,
        secret: hmac_secret,
        signing_key,
        timeout,
        flavor,
        branches: raw.branches.clone().unwrap_or_default(),
        tags: raw.tags.clone().unwrap_or_default(),
        headers,
        ca_pem,
        tls_verify,
        origin: source.path.clone(),
        line: line_of(&source.text, url_at),
        secret_sources,
        unavailable,
    })
}

/// Gives a file's unnamed hooks their URL's host, numbered when a host serves several or
/// the name is `taken` by an earlier file; two hooks of one file with the same explicit
/// name are an error, since the outbox keys deliveries by name.
fn name_hooks(hooks: &mut [Endpoint], taken: &[String], errors: &mut Vec<ConfigError>, warnings: &mut Vec<String>) {
    let mut explicit: Vec<String> = hooks
        .iter()
        .filter(|h| !h.name.is_empty())
        .map(|h| h.name.clone())
        .collect();
    explicit.extend(taken.iter().cloned());
    let mut seen = std::collections::BTreeSet::new();
    for hook in hooks.iter_mut() {
        if hook.name.is_empty() {
            let host = hook.target.host().to_string();
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
                &hook.origin,
                Some(hook.line),
                "name",
                format!("two hooks are named '{}'; hook names must be unique", hook.name),
            ));
        }
        seen.insert(hook.name.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigErrors> {
        let dir = std::env::temp_dir().join(format!("gw-config-{}-{}", std::process::id(), text.len()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(FILE_NAME);
        std::fs::write(&path, text).unwrap();
        let result = Source::read(&path)
            .map_err(|e| ConfigErrors(vec![e]))
            .and_then(|s| merge(&dir, None, s));
        std::fs::remove_dir_all(&dir).unwrap();
        result
    }

    #[test]
    fn a_full_hook_parses_with_defaults() {
        let c = parse("[[hook]]\nurl = \"https://u:p@ci.example.com/build?x=1\"\n").unwrap();
        let h = &c.hooks[0];
        assert_eq!(h.name, "ci.example.com");
        assert_eq!(h.events, vec![EventKind::Push, EventKind::TagPush]);
        assert_eq!(h.timeout, Duration::from_secs(10));
        assert_eq!(c.budget, Duration::from_secs(15));
        assert_eq!(c.max_commits, 20);
    }

    #[test]
    fn unknown_keys_name_file_line_and_key() {
        let e = parse("[repository]\nname = \"x\"\n\n[[hook]]\nurl = \"http://a/\"\nbogus = 1\n").unwrap_err();
        let text = e.to_string();
        assert!(text.contains("webhooks.toml:6"), "{text}");
        assert!(text.contains("bogus"), "{text}");
    }

    #[test]
    fn syntax_errors_name_line_column_and_key_but_never_the_text() {
        for (text, line, column, key) in [
            ("[[hook]]\nurl = \"http://a/\"\nghp_S3CRETvalue\n", 3, 16, ""),
            (
                "[[hook]]\nurl = \"http://a/\"\ntoken = \"ghp_S3CRETvalue\n",
                3,
                25,
                "token",
            ),
            (
                "[[hook]]\nurl = \"http://a/\"\ntoken = ghp_S3CRETvalue\n",
                3,
                9,
                "token",
            ),
            ("[ghp_S3CRETvalue\n", 1, 17, ""),
            ("[[hook]]\n\"ghp_S3CRETvalue x\" = 1\n", 2, 1, ""),
        ] {
            let e = parse(text).unwrap_err();
            let shown = e.to_string();
            assert!(!shown.contains("S3CRET"), "{shown}");
            assert_eq!((e.0[0].line, e.0[0].key.as_str()), (Some(line), key), "{shown}");
            assert!(shown.contains(&format!("column {column}:")), "{shown}");
        }
    }

    #[test]
    fn values_of_the_wrong_type_are_errors_that_never_show_the_value() {
        for value in [
            "[\"ghp_S3CRETvalue\"]",
            "5",
            "{ env = \"X\", file = \"ghp_S3CRETvalue\" }",
            "{ ghp_S3CRETvalue = \"x\" }",
        ] {
            for key in ["token", "secret", "signing_secret"] {
                let e = parse(&format!("[[hook]]\nurl = \"http://a/\"\n{key} = {value}\n")).unwrap_err();
                let shown = e.to_string();
                assert!(!shown.contains("S3CRET"), "{shown}");
                assert_eq!((e.0[0].line, e.0[0].key.as_str()), (Some(3), key), "{shown}");
                let at = format!("column {}: ", key.len() + 4);
                assert!(
                    shown.contains(&at) && shown.contains("expected a string, { env"),
                    "{shown}"
                );
            }
        }
        let e = parse("[[hook]]\nurl = \"http://a/\"\ntimeout = \"ghp_S3CRETvalue\"\nname = 5\n").unwrap_err();
        let shown = e.to_string();
        assert!(!shown.contains("S3CRET"), "{shown}");
        assert!(
            shown.contains("key `timeout`: column 11: wrong type: expected a number of seconds"),
            "{shown}"
        );
        let e = parse("[[hook]]\nurl = \"http://a/\"\ntoken = { env = 5 }\n").unwrap_err();
        assert!(
            e.to_string()
                .contains("key `token`: column 17: wrong type: expected a string, found an integer"),
            "{e}"
        );
        let e = parse("[[hook]]\nurl = \"http://a/\"\nname = \"ghp_S3CRETvalue\"\nname = 5\n").unwrap_err();
        assert!(!e.to_string().contains("S3CRET"), "{e}");
    }

    /// Valid files to start mutating from.
    const SEEDS: [&str; 3] = [
        "[repository]\nname = \"x\"\nproject_id = 15\nhomepage = \"https://g/x\"\n\n[payload]\nmax_commits = 3\n\n[delivery]\nbudget = 2.5\n\n[users.alice]\nemail = \"a@b\"\nid = 7\n",
        "[[hook]]\nname = \"ci\"\nurl = \"https://u:p@ci.example.com/b/{K}?q=1\"\nurl_variables = { K = \"v\" }\nevents = [\"push\", \"tag_push\", \"note\"]\ntoken = \"t\"\nsecret = { env = \"GW_FUZZ_UNSET\" }\nsigning_secret = \"whsec_bXlzaWduaW5na2V5\"\ntimeout = 3\nflavor = \"gitlab\"\nbranches = [\"main\", \"release/*\"]\ntags = [\"v*\"]\nheaders = { \"X-Env\" = \"prod\" }\ntls_verify = false\n",
        "[[hook]]\nurl = \"http://a/\"\n[[hook]]\nurl = \"http://a/2\"\n[[hook]]\nname = \"off\"\nenabled = false\n",
    ];

    /// Pieces that TOML and the schema care about.
    const PIECES: [&str; 24] = [
        "[[hook]]\n",
        "[hook]\n",
        "url = ",
        "\"",
        "'",
        "\"\"\"",
        "{",
        "}",
        "[",
        "]",
        "=",
        ",",
        "\n",
        "\\",
        "\\u0000",
        "{K}",
        "token = { file = \"nope\" }\n",
        "1e999",
        "-1",
        "99999999999999999999",
        "nan",
        "inf",
        "é",
        "timeout = 0.0000001\n",
    ];

    fn fuzz_cases(default: usize) -> usize {
        let factor = std::env::var("GIT_WEBHOOKS_FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok());
        default * factor.unwrap_or(1usize).max(1)
    }

    #[test]
    fn fuzzed_files_never_panic_the_loader() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed_0004);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let (mut good, mut bad) = (0, 0);
        for _ in 0..fuzz_cases(1000) {
            let mut text = SEEDS[rng.gen_range(0..SEEDS.len())].as_bytes().to_vec();
            for _ in 0..rng.gen_range(0..4) {
                let at = rng.gen_range(0..=text.len());
                match rng.gen_range(0..4) {
                    0 => {
                        let end = rng.gen_range(at..=text.len().min(at + 12));
                        text.drain(at..end);
                    }
                    1 => text
                        .splice(at..at, PIECES[rng.gen_range(0..PIECES.len())].bytes())
                        .for_each(drop),
                    2 => text.insert(at, rng.gen()),
                    _ => {
                        let start = rng.gen_range(0..=at);
                        let copy = text[start..at].to_vec();
                        text.splice(at..at, copy).for_each(drop);
                    }
                }
            }
            if rng.gen_bool(0.05) {
                text = (0..rng.gen_range(0..64)).map(|_| rng.gen()).collect();
            }
            std::fs::write(&path, &text).unwrap();
            let result = Source::read(&path)
                .map_err(|e| ConfigErrors(vec![e]))
                .and_then(|s| merge(dir.path(), None, s));
            match result {
                Ok(_) => good += 1,
                Err(e) => {
                    assert!(!e.0.is_empty() && e.0.iter().all(|e| !e.message.is_empty()));
                    bad += 1;
                }
            }
        }
        assert!(good > 100 && bad > 100, "{good} loaded, {bad} refused");
    }

    #[test]
    fn wrong_types_name_the_key() {
        let e = parse("[[hook]]\nurl = \"http://a/\"\ntimeout = \"soon\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains(":3") && e.contains("timeout"), "{e}");
    }

    #[test]
    fn bad_urls_and_events_are_errors_with_lines() {
        let e =
            parse("[[hook]]\nurl = \"ftp://a/\"\n\n[[hook]]\nurl = \"http://b/\"\nevents = [\"pushh\"]\n").unwrap_err();
        assert_eq!(e.0.len(), 2);
        assert_eq!((e.0[0].line, e.0[0].key.as_str()), (Some(2), "url"));
        assert_eq!((e.0[1].line, e.0[1].key.as_str()), (Some(6), "events"));
    }

    #[test]
    fn reserved_and_invalid_headers_are_refused() {
        let e =
            parse("[[hook]]\nurl = \"http://b/\"\nheaders = { \"X-AtomGit-Token\" = \"x\", \"Bad Name\" = \"y\" }\n")
                .unwrap_err();
        assert_eq!(e.0.len(), 2);
    }

    #[test]
    fn unnamed_hooks_to_one_host_get_numbered_names() {
        let c = parse("[[hook]]\nurl = \"http://b/1\"\n[[hook]]\nurl = \"http://b/2\"\n").unwrap();
        assert_eq!(c.hooks[1].name, "b-2");
    }
}
