//! `webhooks.toml`: the schema, its validation, and the merged settings of the
//! system-wide file and the repository's own.

mod endpoint;
pub mod glob;
mod raw;
pub mod secret;
mod source;
pub mod subject;
pub mod target;

pub use endpoint::{Endpoint, Nats};
pub use source::{ConfigError, ConfigErrors};

use endpoint::{hook, name_hooks};
use source::{line_of, Source};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::event::{Limits, RepositoryInfo, LINK_PLACEHOLDERS};
use crate::git::pusher::User;

/// The repository's own config file name, inside the bare repository.
pub const FILE_NAME: &str = "webhooks.toml";
/// The system-wide config file unless `GIT_WEBHOOKS_CONFIG` names another.
pub const SYSTEM_FILE: &str = "/etc/git-webhooks.toml";

/// The merged settings that a run works with.
#[derive(Debug)]
pub struct Config {
    pub repository: RepositoryInfo,
    pub users: BTreeMap<String, User>,
    /// How much each event lists (`[payload] max_commits`, `max_files`).
    pub limits: Limits,
    pub budget: Duration,
    pub hooks: Vec<Endpoint>,
    /// Problems worth a word that do not stop anything.
    pub warnings: Vec<String>,
    /// The files read, system-wide first.
    pub files: Vec<PathBuf>,
    /// For each `[repository]` key, the file that set it (absent: derived default).
    pub origins: BTreeMap<&'static str, PathBuf>,
}

/// The system-wide file's path, from `GIT_WEBHOOKS_CONFIG` or the default.
pub fn system_file() -> PathBuf {
    std::env::var_os("GIT_WEBHOOKS_CONFIG").map_or_else(|| PathBuf::from(SYSTEM_FILE), PathBuf::from)
}

/// The system-wide file's `root`: where the bare repositories are, if it says.
pub fn system_root() -> Result<Option<PathBuf>, ConfigError> {
    let source = Source::read(&system_file())?;
    Ok(source.and_then(|s| s.raw.root.as_ref().map(PathBuf::from)))
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
    let mut limits = Limits {
        commits: 20,
        files: 1000,
    };
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
            for (key, template, field) in [
                ("commit_url", &r.commit_url, &mut repository.commit_url),
                ("compare_url", &r.compare_url, &mut repository.compare_url),
            ] {
                let Some(template) = template else { continue };
                match unknown_placeholder(template.get_ref()) {
                    Some(bad) => errors.push(source.error(
                        template.span().start,
                        key,
                        format!(
                            "unknown placeholder {{{bad}}}; use {}",
                            LINK_PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
                        ),
                    )),
                    None => {
                        *field = Some(fill(template.get_ref()));
                        origins.insert(key, source.path.clone());
                    }
                }
            }
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
            if let Some(name) = &u.username {
                entry.username = Some(name.clone());
            }
            if let Some(url) = &u.avatar_url {
                entry.avatar_url = Some(url.clone());
            }
        }
        if let Some(m) = raw.payload.as_ref().and_then(|p| p.max_commits) {
            limits.commits = m;
        }
        if let Some(m) = raw.payload.as_ref().and_then(|p| p.max_files) {
            limits.files = m;
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
    for hook in &mut hooks {
        hook.homepage = repository.homepage.clone();
        if let Some(nats) = hook.transport.nats.as_mut() {
            nats.subject = nats.subject.for_repository(&repository.name);
        }
    }
    if repository.homepage.is_empty() && !hooks.is_empty() {
        warnings.push("[repository] homepage is not set: commit URLs will be relative (\"/commits/<id>\")".into());
    }
    Ok(Config {
        repository,
        users,
        limits,
        budget,
        hooks,
        warnings,
        files,
        origins,
    })
}

/// A `{NAME}` in a link template that is not one of [`LINK_PLACEHOLDERS`] (nor `{name}`
/// or `{path}`, which the system-wide file fills in).
fn unknown_placeholder(template: &str) -> Option<&str> {
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let end = rest[start..].find('}')? + start;
        let name = &rest[start + 1..end];
        if !LINK_PLACEHOLDERS.contains(&name) && !["name", "path"].contains(&name) {
            return Some(name);
        }
        rest = &rest[end + 1..];
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::EventKind;

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
        assert_eq!(h.filter.events, vec![EventKind::Push, EventKind::TagPush]);
        assert_eq!(h.transport.timeout, Duration::from_secs(10));
        assert_eq!(c.budget, Duration::from_secs(15));
        assert_eq!(
            c.limits,
            Limits {
                commits: 20,
                files: 1000
            }
        );
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
