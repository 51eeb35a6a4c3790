//! Events: their kinds and headers, and the Push Hook / Tag Push Hook bodies built from
//! ref updates.

use std::collections::HashMap;

use git2::{Oid, Repository};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::config::{Config, Flavor, RepositoryInfo};
use crate::delivery::outbox::{Delivery, Trigger};
use crate::git::history::{peel_to_commit, History};
use crate::git::pusher::Pusher;
use crate::git::update::{Change, ObjectId, RefKind, RefUpdate};
use crate::timefmt::rfc3339;

/// The events git-webhooks sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Push,
    TagPush,
    Note,
    MergeRequest,
}

impl EventKind {
    /// The event a moved ref makes: branches push events, tags tag push events, others none.
    pub fn for_ref(kind: RefKind) -> Option<EventKind> {
        match kind {
            RefKind::Branch => Some(EventKind::Push),
            RefKind::Tag => Some(EventKind::TagPush),
            RefKind::Other => None,
        }
    }

    /// Parses a name of the config's `events` list.
    pub fn from_config(name: &str) -> Option<EventKind> {
        Some(match name {
            "push" => EventKind::Push,
            "tag_push" => EventKind::TagPush,
            "note" => EventKind::Note,
            "merge_request" => EventKind::MergeRequest,
            _ => return None,
        })
    }

    /// The name used in config, payloads (`object_kind`) and logs.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Push => "push",
            EventKind::TagPush => "tag_push",
            EventKind::Note => "note",
            EventKind::MergeRequest => "merge_request",
        }
    }

    /// The value of the event header, e.g. `Push Hook`.
    pub fn header(self) -> &'static str {
        match self {
            EventKind::Push => "Push Hook",
            EventKind::TagPush => "Tag Push Hook",
            EventKind::Note => "Note Hook",
            EventKind::MergeRequest => "Merge Request Hook",
        }
    }
}

/// One event ready to send: its kind, the ref it is about, and its body.
#[derive(Clone, Debug)]
pub struct Event {
    pub kind: EventKind,
    pub refname: String,
    pub payload: Value,
}

impl Event {
    /// A delivery of this event to `hook`, with the id `id`.
    pub fn delivery_for(&self, id: String, hook: &crate::config::Hook, homepage: &str, trigger: Trigger) -> Delivery {
        Delivery::new(
            id,
            &hook.name,
            self.kind,
            &self.refname,
            self.body(hook.flavor, homepage),
            trigger,
        )
    }

    /// The exact body bytes for a hook of the given flavour (GitLab links commits at
    /// `{homepage}/-/commit/{id}`).
    pub fn body(&self, flavor: Flavor, homepage: &str) -> Vec<u8> {
        if flavor == Flavor::GitLab {
            if let Some(commits) = self.payload.get("commits").and_then(Value::as_array) {
                let mut payload = self.payload.clone();
                let commits: Vec<Value> = commits
                    .iter()
                    .map(|c| {
                        let mut c = c.clone();
                        // Only commits as git-webhooks writes them; a body from `send`
                        // may hold anything and goes out as it came.
                        let id = c.get("id").and_then(Value::as_str).map(str::to_string);
                        if let (Some(id), Some(commit)) = (id, c.as_object_mut()) {
                            commit.insert("url".into(), json!(format!("{homepage}/-/commit/{id}")));
                        }
                        c
                    })
                    .collect();
                payload["commits"] = Value::Array(commits);
                return serde_json::to_vec(&payload).expect("JSON values serialize");
            }
        }
        serde_json::to_vec(&self.payload).expect("JSON values serialize")
    }
}

/// Why an update got no event.
#[derive(Debug)]
pub enum BuildError {
    UnknownObject(String),
    Git(String),
}

impl std::fmt::Display for BuildError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildError::UnknownObject(id) => write!(f, "object {id} is not in the repository"),
            BuildError::Git(e) => f.write_str(e),
        }
    }
}

/// Builds the events of one push, sharing commit details across its refs.
pub struct Builder<'a> {
    repo: &'a Repository,
    history: &'a History<'a>,
    config: &'a Config,
    pusher: &'a Pusher,
    push_options: Value,
    default_branch: String,
    commits: HashMap<String, Value>,
}

impl<'a> Builder<'a> {
    /// A builder for the updates of one push.
    pub fn new(
        repo: &'a Repository,
        history: &'a History<'a>,
        config: &'a Config,
        pusher: &'a Pusher,
        push_options: &[String],
    ) -> Builder<'a> {
        let default_branch = default_branch(repo);
        Builder {
            repo,
            history,
            config,
            pusher,
            push_options: options_object(push_options),
            default_branch,
            commits: HashMap::new(),
        }
    }

    /// The event of one update, or `None` for refs that are neither branches nor tags.
    pub fn build(&mut self, update: &RefUpdate) -> Result<Option<Event>, BuildError> {
        let Some(kind) = EventKind::for_ref(update.kind()) else {
            return Ok(None);
        };
        // A deleted ref's old object may be gone already; every other id must be known.
        let must_exist = match &update.change {
            Change::Create { new } => vec![new],
            Change::Update { old, new } => vec![old, new],
            Change::Delete { .. } => vec![],
        };
        if let Some(unknown) = must_exist.into_iter().find(|id| !self.exists(id)) {
            return Err(BuildError::UnknownObject(unknown.to_string()));
        }
        let checkout_sha = update
            .new_id()
            .and_then(|n| peel_to_commit(self.repo, n))
            .map(|c| c.to_string());
        let (selection, message) = match kind {
            EventKind::Push => {
                let selection = self
                    .history
                    .select(update, self.config.max_commits)
                    .map_err(|e| BuildError::Git(e.0))?;
                (selection, Value::Null)
            }
            _ => (
                Default::default(),
                update.new_id().map_or(Value::Null, |n| self.tag_message(n)),
            ),
        };
        let commits: Vec<Value> = selection
            .newest
            .iter()
            .map(|id| self.commit(id))
            .collect::<Result<_, _>>()?;
        let mut payload = self.head(kind, update, checkout_sha, message);
        payload.insert("commits".into(), Value::Array(commits));
        payload.insert("total_commits_count".into(), json!(selection.total));
        payload.insert("push_options".into(), self.push_options.clone());
        if kind == EventKind::Push {
            payload.insert("forced".into(), json!(selection.forced));
        }
        Ok(Some(Event {
            kind,
            refname: update.name_text(),
            payload: Value::Object(payload),
        }))
    }

    fn exists(&self, id: &ObjectId) -> bool {
        let Ok(oid) = Oid::from_str(id.as_str()) else {
            return false;
        };
        self.repo.odb().map(|odb| odb.exists(oid)).unwrap_or(false)
    }

    fn head(
        &self,
        kind: EventKind,
        update: &RefUpdate,
        checkout_sha: Option<String>,
        message: Value,
    ) -> Map<String, Value> {
        let repo = &self.config.repository;
        let user = &self.pusher;
        let fields = json!({
            "object_kind": kind.name(),
            "event_name": kind.name(),
            "before": update.before_hex(),
            "after": update.after_hex(),
            "ref": update.name_text(),
            "checkout_sha": checkout_sha,
            "message": message,
            "user_id": user.id,
            "user_name": user.name,
            "user_username": user.name,
            "user_email": user.email,
            "user_avatar": "",
            "project_id": repo.project_id,
            "project": project(repo, &self.default_branch),
            "repository": repository(repo),
        });
        match fields {
            Value::Object(map) => map,
            _ => unreachable!("json! of an object literal"),
        }
    }

    fn tag_message(&self, id: &ObjectId) -> Value {
        let tag = Oid::from_str(id.as_str())
            .ok()
            .and_then(|oid| self.repo.find_tag(oid).ok());
        tag.map_or(Value::Null, |t| {
            json!(String::from_utf8_lossy(t.message_bytes().unwrap_or_default()))
        })
    }

    fn commit(&mut self, id: &str) -> Result<Value, BuildError> {
        if let Some(c) = self.commits.get(id) {
            return Ok(c.clone());
        }
        let oid = Oid::from_str(id).map_err(|e| BuildError::Git(e.to_string()))?;
        let commit = self
            .repo
            .find_commit(oid)
            .map_err(|_| BuildError::UnknownObject(id.to_string()))?;
        let message = String::from_utf8_lossy(commit.message_bytes()).into_owned();
        let title = message.lines().next().unwrap_or_default().to_string();
        let committed = commit.committer().when();
        let author = commit.author();
        let value = json!({
            "id": id,
            "message": message,
            "title": title,
            "timestamp": rfc3339(committed.seconds(), committed.offset_minutes()),
            "url": format!("{}/commits/{id}", self.config.repository.homepage),
            "author": {
                "name": String::from_utf8_lossy(author.name_bytes()),
                "email": String::from_utf8_lossy(author.email_bytes()),
            },
        });
        self.commits.insert(id.to_string(), value.clone());
        Ok(value)
    }
}

/// The `repository` block of the seed's samples.
pub fn repository(repo: &RepositoryInfo) -> Value {
    json!({
        "name": repo.name,
        "url": repo.url,
        "description": repo.description,
        "homepage": repo.homepage,
        "git_http_url": repo.git_http_url,
        "git_ssh_url": repo.git_ssh_url,
        "visibility_level": repo.visibility_level,
    })
}

/// GitLab's `project` block, for consumers that read it instead of `repository`.
fn project(repo: &RepositoryInfo, default_branch: &str) -> Value {
    let path = repo
        .homepage
        .split_once("://")
        .map(|(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let path_with_namespace = match path {
        Some(p) if !p.is_empty() => p.trim_end_matches('/').to_string(),
        _ => repo.name.clone(),
    };
    let namespace = path_with_namespace
        .rsplit_once('/')
        .map_or("", |(ns, _)| ns)
        .to_string();
    json!({
        "id": repo.project_id,
        "name": repo.name,
        "description": repo.description,
        "web_url": repo.homepage,
        "avatar_url": null,
        "git_ssh_url": repo.git_ssh_url,
        "git_http_url": repo.git_http_url,
        "namespace": namespace,
        "visibility_level": repo.visibility_level,
        "path_with_namespace": path_with_namespace,
        "default_branch": default_branch,
        "homepage": repo.homepage,
        "url": repo.url,
        "ssh_url": repo.git_ssh_url,
        "http_url": repo.git_http_url,
    })
}

/// The branch HEAD names, whether or not it exists.
fn head_branch(repo: &Repository) -> Option<String> {
    let head = repo.find_reference("HEAD").ok()?;
    let target = String::from_utf8_lossy(head.symbolic_target_bytes()?).into_owned();
    target.strip_prefix("refs/heads/").map(str::to_string)
}

/// The default branch: HEAD's branch when it exists; otherwise the branch a forge would
/// take (`main`, else `master`, else the first branch by name); HEAD's name (or `main`)
/// while the repository has no branch at all. HEAD itself is never changed.
pub fn default_branch(repo: &Repository) -> String {
    let head = head_branch(repo);
    let exists = |b: &str| repo.find_reference(&format!("refs/heads/{b}")).is_ok();
    if let Some(h) = head.as_deref().filter(|h| exists(h)) {
        return h.to_string();
    }
    if let Some(b) = ["main", "master"].into_iter().find(|b| exists(b)) {
        return b.to_string();
    }
    let mut branches: Vec<String> = repo
        .branches(Some(git2::BranchType::Local))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|(b, _)| b.name().ok().flatten().map(str::to_string))
        .collect();
    branches.sort();
    branches.into_iter().next().or(head).unwrap_or_else(|| "main".into())
}

/// What is wrong with HEAD when it names a branch that does not exist while others do.
pub fn head_problem(repo: &Repository) -> Option<String> {
    let head = head_branch(repo)?;
    let chosen = default_branch(repo);
    (chosen != head).then(|| {
        format!(
            "HEAD names the branch '{head}', which does not exist; events use '{chosen}' as the default branch. \
             To make it the repository's default: git --git-dir={} symbolic-ref HEAD refs/heads/{chosen}",
            repo.path().display()
        )
    })
}

/// `git push -o` options as an object: `key=value` gives a string, a bare `key` gives true.
fn options_object(options: &[String]) -> Value {
    let map: Map<String, Value> = options
        .iter()
        .map(|o| match o.split_once('=') {
            Some((k, v)) => (k.to_string(), json!(v)),
            None => (o.clone(), json!(true)),
        })
        .collect();
    Value::Object(map)
}
