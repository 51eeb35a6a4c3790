//! Events: what a push did to one branch or tag (or what a review tool reported), as a
//! type built once from git facts. `payload/` renders it in each flavour.

use std::collections::HashMap;

use git2::{Oid, Repository};
use serde::{Deserialize, Serialize};

use crate::git::changes::{self, Changes};
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
    /// A branch or tag was created (GitHub's and Gitea's `create` event).
    Create,
    /// A branch or tag was deleted (GitHub's and Gitea's `delete` event).
    Delete,
}

impl EventKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [EventKind; 6] = [
        EventKind::Push,
        EventKind::TagPush,
        EventKind::Note,
        EventKind::MergeRequest,
        EventKind::Create,
        EventKind::Delete,
    ];

    /// The event a moved ref makes: branches push events, tags tag push events, others none.
    pub fn for_ref(kind: RefKind) -> Option<EventKind> {
        match kind {
            RefKind::Branch => Some(EventKind::Push),
            RefKind::Tag => Some(EventKind::TagPush),
            RefKind::Other => None,
        }
    }

    /// Parses a name of the config's `events` list.
    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The name used in config, payloads (`object_kind`) and logs.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Push => "push",
            EventKind::TagPush => "tag_push",
            EventKind::Note => "note",
            EventKind::MergeRequest => "merge_request",
            EventKind::Create => "create",
            EventKind::Delete => "delete",
        }
    }

    /// The kind a ref's creation or deletion makes besides its push or tag push event.
    pub fn for_change(change: &Change) -> Option<EventKind> {
        match change {
            Change::Create { .. } => Some(EventKind::Create),
            Change::Update { .. } => None,
            Change::Delete { .. } => Some(EventKind::Delete),
        }
    }

    /// The value of the AtomGit and GitLab event headers, e.g. `Push Hook`.
    pub fn header(self) -> &'static str {
        match self {
            EventKind::Push => "Push Hook",
            EventKind::TagPush => "Tag Push Hook",
            EventKind::Note => "Note Hook",
            EventKind::MergeRequest => "Merge Request Hook",
            EventKind::Create => "Create Hook",
            EventKind::Delete => "Delete Hook",
        }
    }
}

/// What payloads say about the repository: the `[repository]` settings after defaults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RepositoryInfo {
    pub name: String,
    pub project_id: u64,
    pub description: String,
    pub homepage: String,
    pub url: String,
    pub git_http_url: String,
    pub git_ssh_url: String,
    pub visibility_level: u32,
    /// `[repository] commit_url`: the link to a commit (`{homepage}`, `{id}`).
    pub commit_url: Option<String>,
    /// `[repository] compare_url`: the link to a push's changes (`{homepage}`,
    /// `{before}`, `{after}`).
    pub compare_url: Option<String>,
}

/// The placeholders of the link templates.
pub const LINK_PLACEHOLDERS: [&str; 4] = ["homepage", "id", "before", "after"];

impl RepositoryInfo {
    /// The link to commit `id`: the `commit_url` template, else `default` (a flavour's
    /// own form of it).
    pub fn commit_link(&self, id: &str, default: &str) -> String {
        let template = self.commit_url.as_deref().unwrap_or(default);
        self.fill(template, &[("id", id)])
    }

    /// The link to the changes from `before` to `after`: the `compare_url` template, else
    /// `default`.
    pub fn compare_link(&self, before: &str, after: &str, default: &str) -> String {
        let template = self.compare_url.as_deref().unwrap_or(default);
        self.fill(template, &[("before", before), ("after", after)])
    }

    fn fill(&self, template: &str, values: &[(&str, &str)]) -> String {
        let homepage = self.homepage.trim_end_matches('/');
        values
            .iter()
            .fold(template.replace("{homepage}", homepage), |text, (name, value)| {
                text.replace(&format!("{{{name}}}"), value)
            })
    }
}

/// One listed commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Commit {
    pub id: String,
    pub tree_id: String,
    pub message: String,
    /// The committer date in RFC 3339 with the commit's own offset.
    pub timestamp: String,
    /// The author date, the same way.
    pub authored: String,
    pub author_name: String,
    pub author_email: String,
    pub committer_name: String,
    pub committer_email: String,
    /// The paths it changed against its first parent.
    pub changes: Changes,
}

/// How much an event lists: the newest `commits` of an update, and at most `files`
/// changed paths per commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub commits: usize,
    pub files: usize,
}

/// What a push did to one branch or tag.
#[derive(Clone, Debug, PartialEq)]
pub struct RefEvent {
    /// The old and new ids as the payload shows them (zeros for none).
    pub before: String,
    pub after: String,
    /// The full ref name as text (see [`RefUpdate::name_text`]).
    pub refname: String,
    /// The commit the new value peels to; `None` after a deletion.
    pub checkout_sha: Option<String>,
    /// An annotated tag's message.
    pub message: Option<String>,
    pub pusher: Pusher,
    pub repository: RepositoryInfo,
    pub default_branch: String,
    /// The newest commits of the update, oldest first (none for a tag).
    pub commits: Vec<Commit>,
    /// The commit `checkout_sha` names, in full (also when `commits` does not list it).
    pub head: Option<Commit>,
    /// When the event was built, in seconds since the epoch.
    pub pushed_at: u64,
    /// Exactly how many commits the update brings.
    pub total_commits: usize,
    /// The update is not a fast-forward.
    pub forced: bool,
    /// `git push -o` values.
    pub push_options: Vec<String>,
}

impl RefEvent {
    /// The push created the ref (`before` is all zeros).
    pub fn created(&self) -> bool {
        self.before.bytes().all(|b| b == b'0')
    }

    /// The push deleted the ref (`after` is all zeros).
    pub fn deleted(&self) -> bool {
        self.after.bytes().all(|b| b == b'0')
    }
}

/// What an event says.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// A push or tag push, built from git.
    Ref(Box<RefEvent>),
    /// A note or merge request body made by a review tool, sent as it came, and the
    /// repository's homepage that commit links start with.
    Review { body: serde_json::Value, homepage: String },
}

/// One event: its kind, the ref it is about (for filters and logs), and what it says.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub kind: EventKind,
    pub refname: String,
    pub body: Body,
}

impl Event {
    /// The same ref event as another kind (a creation's or deletion's `create` or
    /// `delete` event).
    pub fn as_kind(&self, kind: EventKind) -> Event {
        Event { kind, ..self.clone() }
    }

    /// The ref event, unless this is a review tool's event.
    pub fn ref_event(&self) -> Option<&RefEvent> {
        match &self.body {
            Body::Ref(e) => Some(e),
            Body::Review { .. } => None,
        }
    }

    /// How many commits the event's update brings (none for a review event).
    pub fn total_commits(&self) -> usize {
        match &self.body {
            Body::Ref(e) => e.total_commits,
            Body::Review { .. } => 0,
        }
    }
}

/// Why an update got no event.
#[derive(Debug)]
pub enum BuildError {
    /// An object the update names is not in the repository.
    UnknownObject(String),
    /// `git` could not answer; the update can be built later.
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
    repository: &'a RepositoryInfo,
    limits: Limits,
    pusher: &'a Pusher,
    push_options: &'a [String],
    default_branch: String,
    commits: HashMap<String, Commit>,
}

impl<'a> Builder<'a> {
    /// A builder for the updates of one push, listing what `limits` allow.
    pub fn new(
        repo: &'a Repository,
        history: &'a History<'a>,
        repository: &'a RepositoryInfo,
        limits: Limits,
        pusher: &'a Pusher,
        push_options: &'a [String],
    ) -> Builder<'a> {
        Builder {
            repo,
            history,
            repository,
            limits,
            pusher,
            push_options,
            default_branch: crate::git::branch::default_branch(repo),
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
                    .select(update, self.limits.commits)
                    .map_err(|e| BuildError::Git(e.0))?;
                (selection, None)
            }
            _ => (Default::default(), update.new_id().and_then(|n| self.tag_message(n))),
        };
        let commits = selection
            .newest
            .iter()
            .map(|id| self.commit(id))
            .collect::<Result<_, _>>()?;
        let head = match &checkout_sha {
            Some(id) => Some(self.commit(id)?),
            None => None,
        };
        let pushed_at = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let event = RefEvent {
            before: update.before_hex(),
            after: update.after_hex(),
            refname: update.name_text(),
            checkout_sha,
            message,
            pusher: self.pusher.clone(),
            repository: self.repository.clone(),
            default_branch: self.default_branch.clone(),
            commits,
            head,
            pushed_at,
            total_commits: selection.total,
            forced: selection.forced,
            push_options: self.push_options.to_vec(),
        };
        Ok(Some(Event {
            kind,
            refname: event.refname.clone(),
            body: Body::Ref(Box::new(event)),
        }))
    }

    fn exists(&self, id: &ObjectId) -> bool {
        let Ok(oid) = Oid::from_str(id.as_str()) else {
            return false;
        };
        self.repo.odb().map(|odb| odb.exists(oid)).unwrap_or(false)
    }

    fn tag_message(&self, id: &ObjectId) -> Option<String> {
        let oid = Oid::from_str(id.as_str()).ok()?;
        let tag = self.repo.find_tag(oid).ok()?;
        Some(String::from_utf8_lossy(tag.message_bytes().unwrap_or_default()).into_owned())
    }

    fn commit(&mut self, id: &str) -> Result<Commit, BuildError> {
        if let Some(c) = self.commits.get(id) {
            return Ok(c.clone());
        }
        let oid = Oid::from_str(id).map_err(|e| BuildError::Git(e.to_string()))?;
        let commit = self
            .repo
            .find_commit(oid)
            .map_err(|_| BuildError::UnknownObject(id.to_string()))?;
        let message = String::from_utf8_lossy(commit.message_bytes()).into_owned();
        let (author, committer) = (commit.author(), commit.committer());
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        let time = |t: git2::Time| rfc3339(t.seconds(), t.offset_minutes());
        let changes =
            changes::of_commit(self.repo, oid, self.limits.files).map_err(|e| BuildError::Git(e.to_string()))?;
        let value = Commit {
            id: id.to_string(),
            tree_id: commit.tree_id().to_string(),
            message,
            timestamp: time(committer.when()),
            authored: time(author.when()),
            author_name: text(author.name_bytes()),
            author_email: text(author.email_bytes()),
            committer_name: text(committer.name_bytes()),
            committer_email: text(committer.email_bytes()),
            changes,
        };
        self.commits.insert(id.to_string(), value.clone());
        Ok(value)
    }
}
