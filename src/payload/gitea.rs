//! The Gitea flavour: Gitea's `push`, `create` and `delete` payloads
//! (`modules/structs`), with the headers Gitea's deliveries carry, its own and those it
//! adds for receivers written for Gogs and GitHub.

use serde::Serialize;

use super::github::split_changes;
use super::size::{render_within, to_vec, Shrink, MAX_BODY};
use super::users::{short_ref, visibility, DeleteBody, Identity};
use super::{header, SignatureForm};
use crate::event::{Commit, EventKind, RefEvent};
use crate::timefmt::rfc3339;

pub(super) const EVENT_HEADER: &str = "X-Gitea-Event";
const EVENT_HEADERS: [&str; 3] = [EVENT_HEADER, "X-Gogs-Event", "X-GitHub-Event"];
const TYPE_HEADERS: [&str; 3] = ["X-Gitea-Event-Type", "X-Gogs-Event-Type", "X-GitHub-Event-Type"];
const DELIVERY_HEADERS: [&str; 3] = ["X-Gitea-Delivery", "X-Gogs-Delivery", "X-GitHub-Delivery"];

/// The header names this flavour sets, besides the signatures.
pub(super) const HEADER_NAMES: [&str; 9] = [
    EVENT_HEADERS[0],
    EVENT_HEADERS[1],
    EVENT_HEADERS[2],
    TYPE_HEADERS[0],
    TYPE_HEADERS[1],
    TYPE_HEADERS[2],
    DELIVERY_HEADERS[0],
    DELIVERY_HEADERS[1],
    DELIVERY_HEADERS[2],
];

pub(super) const SIGNATURES: &[(&str, SignatureForm)] = &[
    ("X-Gitea-Signature", SignatureForm::Sha256Hex),
    ("X-Gogs-Signature", SignatureForm::Sha256Hex),
    (header::HUB_SIGNATURE, SignatureForm::Sha1Prefixed),
    (header::HUB_SIGNATURE_256, SignatureForm::Sha256Prefixed),
];

/// Gitea's name of an event: `push` for branches and tags alike.
fn event_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Create => "create",
        EventKind::Delete => "delete",
        _ => "push",
    }
}

pub(super) fn headers(kind: EventKind, id: &str) -> Vec<(&'static str, String)> {
    let name = event_name(kind);
    let mut headers = Vec::new();
    for i in 0..3 {
        headers.push((DELIVERY_HEADERS[i], id.to_string()));
        headers.push((EVENT_HEADERS[i], name.to_string()));
        headers.push((TYPE_HEADERS[i], name.to_string()));
    }
    headers
}

/// The body of `event` as Gitea sends it, under GitHub's size limit.
pub(super) fn body(kind: EventKind, event: &RefEvent) -> Vec<u8> {
    let who = Identity::of(event);
    let (name, ref_type) = short_ref(&event.refname);
    match kind {
        EventKind::Create => to_vec(&CreateBody {
            sha: &event.after,
            refname: name,
            ref_type,
            repository: repository(event, &who),
            sender: user(&who),
        }),
        EventKind::Delete => to_vec(&DeleteBody {
            refname: name,
            ref_type,
            pusher_type: "user",
            repository: repository(event, &who),
            sender: user(&who),
        }),
        _ => render_within(push(event, &who), MAX_BODY),
    }
}

#[derive(Serialize)]
struct PushBody<'a> {
    #[serde(rename = "ref")]
    refname: &'a str,
    before: &'a str,
    after: &'a str,
    compare_url: String,
    commits: Vec<CommitBody<'a>>,
    total_commits: usize,
    head_commit: Option<CommitBody<'a>>,
    repository: Repository<'a>,
    pusher: User<'a>,
    sender: User<'a>,
}

impl Shrink for PushBody<'_> {
    fn drop_files(&mut self) {
        for c in self.commits.iter_mut().chain(self.head_commit.as_mut()) {
            c.added.clear();
            c.removed.clear();
            c.modified.clear();
        }
    }

    fn keep_head_only(&mut self) {
        let head = self.head_commit.as_ref().map(|c| c.id);
        self.commits.retain(|c| Some(c.id) == head);
    }
}

#[derive(Serialize)]
struct CreateBody<'a> {
    sha: &'a str,
    #[serde(rename = "ref")]
    refname: &'a str,
    ref_type: &'static str,
    repository: Repository<'a>,
    sender: User<'a>,
}

/// Gitea's `PayloadUser`.
#[derive(Serialize)]
struct Person<'a> {
    name: &'a str,
    email: &'a str,
    username: &'a str,
}

/// Gitea's `PayloadCommit`.
#[derive(Serialize)]
struct CommitBody<'a> {
    id: &'a str,
    message: &'a str,
    url: String,
    author: Person<'a>,
    committer: Person<'a>,
    verification: Option<()>,
    timestamp: String,
    added: Vec<&'a str>,
    removed: Vec<&'a str>,
    modified: Vec<&'a str>,
}

/// A time the way Go writes it: RFC 3339, `Z` for UTC.
fn go_time(text: &str) -> String {
    match text.strip_suffix("+00:00") {
        Some(utc) => format!("{utc}Z"),
        None => text.to_string(),
    }
}

fn commit<'a>(c: &'a Commit, event: &'a RefEvent, who: &Identity<'a>) -> CommitBody<'a> {
    // Gitea lists paths with `git log --no-renames`: a rename is a removal and an addition.
    let (added, removed, modified) = split_changes(&c.changes);
    CommitBody {
        id: &c.id,
        message: &c.message,
        url: event.repository.commit_link(&c.id, "{homepage}/commit/{id}"),
        author: Person {
            name: &c.author_name,
            email: &c.author_email,
            username: who.username_of(&c.author_email).unwrap_or(""),
        },
        committer: Person {
            name: &c.committer_name,
            email: &c.committer_email,
            username: who.username_of(&c.committer_email).unwrap_or(""),
        },
        verification: None,
        // Gitea's commit timestamp is the author date.
        timestamp: go_time(&c.authored),
        added,
        removed,
        modified,
    }
}

/// Gitea's compare link: the two full ids; for a new branch other than the default
/// branch, the default branch against the new tip; nothing for a new default branch, a
/// new tag or a deletion.
fn compare_url(event: &RefEvent) -> String {
    let repo = &event.repository;
    let (name, ref_type) = short_ref(&event.refname);
    let default = "{homepage}/compare/{before}...{after}";
    if event.deleted() {
        String::new()
    } else if !event.created() {
        repo.compare_link(&event.before, &event.after, default)
    } else if ref_type == "branch" && name != event.default_branch && !event.commits.is_empty() {
        repo.compare_link(&event.default_branch, &event.after, default)
    } else {
        String::new()
    }
}

fn push<'a>(event: &'a RefEvent, who: &Identity<'a>) -> PushBody<'a> {
    PushBody {
        refname: &event.refname,
        before: &event.before,
        after: &event.after,
        compare_url: compare_url(event),
        // Gitea lists the newest commit first.
        commits: event.commits.iter().rev().map(|c| commit(c, event, who)).collect(),
        total_commits: event.total_commits,
        head_commit: event.head.as_ref().map(|c| commit(c, event, who)),
        repository: repository(event, who),
        pusher: user(who),
        sender: user(who),
    }
}

/// Gitea's `User`.
#[derive(Serialize)]
struct User<'a> {
    id: u64,
    login: String,
    login_name: &'static str,
    source_id: u64,
    full_name: &'a str,
    email: &'a str,
    avatar_url: String,
    html_url: String,
    language: &'static str,
    is_admin: bool,
    last_login: &'static str,
    created: &'static str,
    restricted: bool,
    active: bool,
    prohibit_login: bool,
    location: &'static str,
    website: &'static str,
    description: &'static str,
    visibility: &'static str,
    followers_count: u64,
    following_count: u64,
    starred_repos_count: u64,
    username: String,
}

/// Go's zero time, which Gitea writes for times it does not know.
const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

fn user_object<'a>(who: &Identity<'a>, login: &str, id: u64, email: &'a str, avatar_url: String) -> User<'a> {
    User {
        id,
        login: login.to_string(),
        login_name: "",
        source_id: 0,
        full_name: "",
        email,
        avatar_url,
        html_url: format!("{}/{login}", who.origin),
        language: "",
        is_admin: false,
        last_login: ZERO_TIME,
        created: ZERO_TIME,
        restricted: false,
        active: false,
        prohibit_login: false,
        location: "",
        website: "",
        description: "",
        visibility: "public",
        followers_count: 0,
        following_count: 0,
        starred_repos_count: 0,
        username: login.to_string(),
    }
}

/// The pusher as Gitea's `pusher` and `sender`.
fn user<'a>(who: &Identity<'a>) -> User<'a> {
    let mut user = user_object(who, who.login, who.user_id, who.email, who.avatar_url.clone());
    user.full_name = who.login;
    user
}

#[derive(Serialize)]
struct Permission {
    admin: bool,
    push: bool,
    pull: bool,
}

#[derive(Serialize)]
struct InternalTracker {
    enable_time_tracker: bool,
    allow_only_contributors_to_track_time: bool,
    enable_issue_dependencies: bool,
}

/// Gitea's `Repository`.
#[derive(Serialize)]
struct Repository<'a> {
    id: u64,
    owner: User<'a>,
    name: &'a str,
    full_name: String,
    description: &'a str,
    empty: bool,
    private: bool,
    fork: bool,
    template: bool,
    mirror: bool,
    size: u64,
    language: &'static str,
    languages_url: String,
    html_url: &'a str,
    url: String,
    link: &'static str,
    ssh_url: &'a str,
    clone_url: String,
    original_url: &'static str,
    website: &'static str,
    stars_count: u64,
    forks_count: u64,
    watchers_count: u64,
    open_issues_count: u64,
    open_pr_counter: u64,
    release_counter: u64,
    default_branch: &'a str,
    archived: bool,
    created_at: String,
    updated_at: String,
    archived_at: &'static str,
    permissions: Permission,
    has_issues: bool,
    internal_tracker: InternalTracker,
    has_wiki: bool,
    has_pull_requests: bool,
    has_projects: bool,
    projects_mode: &'static str,
    has_releases: bool,
    has_packages: bool,
    has_actions: bool,
    ignore_whitespace_conflicts: bool,
    allow_merge_commits: bool,
    allow_rebase: bool,
    allow_rebase_explicit: bool,
    allow_squash_merge: bool,
    allow_fast_forward_only_merge: bool,
    allow_rebase_update: bool,
    allow_manual_merge: bool,
    autodetect_manual_merge: bool,
    default_delete_branch_after_merge: bool,
    default_merge_style: &'static str,
    default_allow_maintainer_edit: bool,
    avatar_url: &'static str,
    internal: bool,
    mirror_interval: &'static str,
    object_format_name: &'static str,
    mirror_updated: &'static str,
    topics: Vec<String>,
    licenses: Vec<String>,
}

fn repository<'a>(event: &'a RefEvent, who: &Identity<'a>) -> Repository<'a> {
    let repo = &event.repository;
    let api = format!("{}/api/v1/repos/{}", who.origin, who.full_name);
    let now = go_time(&rfc3339(event.pushed_at as i64, 0));
    let visibility = visibility(repo.visibility_level);
    let owner = user_object(who, &who.owner, who.owner_id(), "", who.owner_avatar());
    Repository {
        id: repo.project_id,
        owner,
        name: &repo.name,
        full_name: who.full_name.clone(),
        description: &repo.description,
        empty: false,
        private: visibility != "public",
        fork: false,
        template: false,
        mirror: false,
        size: 0,
        language: "",
        languages_url: format!("{api}/languages"),
        html_url: who.homepage,
        url: api,
        link: "",
        ssh_url: &repo.git_ssh_url,
        clone_url: who.clone_url(event),
        original_url: "",
        website: "",
        stars_count: 0,
        forks_count: 0,
        watchers_count: 0,
        open_issues_count: 0,
        open_pr_counter: 0,
        release_counter: 0,
        default_branch: &event.default_branch,
        archived: false,
        created_at: now.clone(),
        updated_at: now,
        archived_at: "1970-01-01T00:00:00Z",
        permissions: Permission {
            admin: true,
            push: true,
            pull: true,
        },
        has_issues: true,
        internal_tracker: InternalTracker {
            enable_time_tracker: true,
            allow_only_contributors_to_track_time: true,
            enable_issue_dependencies: true,
        },
        has_wiki: true,
        has_pull_requests: true,
        has_projects: true,
        projects_mode: "all",
        has_releases: true,
        has_packages: true,
        has_actions: true,
        ignore_whitespace_conflicts: false,
        allow_merge_commits: true,
        allow_rebase: true,
        allow_rebase_explicit: true,
        allow_squash_merge: true,
        allow_fast_forward_only_merge: true,
        allow_rebase_update: true,
        allow_manual_merge: false,
        autodetect_manual_merge: false,
        default_delete_branch_after_merge: false,
        default_merge_style: "merge",
        default_allow_maintainer_edit: false,
        avatar_url: "",
        internal: visibility == "internal",
        mirror_interval: "",
        object_format_name: "sha1",
        mirror_updated: ZERO_TIME,
        topics: Vec::new(),
        licenses: Vec::new(),
    }
}
