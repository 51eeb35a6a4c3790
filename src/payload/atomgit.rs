//! The AtomGit flavour: the seed's Push Hook and Tag Push Hook bodies, with the fields
//! GitLab consumers read too (`project`, `checkout_sha`, commit `title`, …).

use serde::Serialize;
use serde_json::{Map, Value};

use super::HeaderNames;
use crate::event::{Commit, EventKind, RefEvent, RepositoryInfo};
use crate::git::changes::{Changes, FileChange};

pub(super) const HEADERS: HeaderNames = HeaderNames {
    event: "X-AtomGit-Event",
    delivery: "X-AtomGit-Delivery",
    token: "X-AtomGit-Token",
};

/// A Push Hook or Tag Push Hook body.
#[derive(Serialize)]
pub(super) struct PushBody<'a> {
    object_kind: &'static str,
    event_name: &'static str,
    before: &'a str,
    after: &'a str,
    #[serde(rename = "ref")]
    refname: &'a str,
    checkout_sha: Option<&'a str>,
    message: Option<&'a str>,
    user_id: u64,
    user_name: &'a str,
    user_username: &'a str,
    user_email: &'a str,
    user_avatar: &'a str,
    project_id: u64,
    project: Project<'a>,
    repository: Repository<'a>,
    commits: Vec<CommitBody<'a>>,
    total_commits_count: usize,
    push_options: Map<String, Value>,
    /// Push events only.
    #[serde(skip_serializing_if = "Option::is_none")]
    forced: Option<bool>,
}

/// The seed's `repository` block.
#[derive(Serialize)]
struct Repository<'a> {
    name: &'a str,
    url: &'a str,
    description: &'a str,
    homepage: &'a str,
    git_http_url: &'a str,
    git_ssh_url: &'a str,
    visibility_level: u32,
}

/// GitLab's `project` block, for consumers that read it instead of `repository`.
#[derive(Serialize)]
struct Project<'a> {
    id: u64,
    name: &'a str,
    description: &'a str,
    web_url: &'a str,
    avatar_url: Option<&'a str>,
    git_ssh_url: &'a str,
    git_http_url: &'a str,
    namespace: String,
    visibility_level: u32,
    path_with_namespace: String,
    default_branch: &'a str,
    homepage: &'a str,
    url: &'a str,
    ssh_url: &'a str,
    http_url: &'a str,
}

#[derive(Serialize)]
struct CommitBody<'a> {
    id: &'a str,
    message: &'a str,
    title: &'a str,
    timestamp: &'a str,
    url: String,
    author: Author<'a>,
    added: Vec<&'a str>,
    modified: Vec<&'a str>,
    removed: Vec<&'a str>,
}

/// A commit's paths the GitLab way (`Commit#repo_changes`): a renamed file is added
/// under its new path, and its old path is not listed as removed.
fn gitlab_changes(changes: &Changes) -> (Vec<&str>, Vec<&str>, Vec<&str>) {
    let (mut added, mut modified, mut removed) = (Vec::new(), Vec::new(), Vec::new());
    for change in &changes.files {
        match change {
            FileChange::Added(p) | FileChange::Renamed(_, p) => added.push(p.as_str()),
            FileChange::Modified(p) => modified.push(p.as_str()),
            FileChange::Removed(p) => removed.push(p.as_str()),
        }
    }
    (added, modified, removed)
}

#[derive(Serialize)]
struct Author<'a> {
    name: &'a str,
    email: &'a str,
}

/// The body, with each commit linked by `[repository] commit_url`, else by the
/// flavour's own form `commit_url`.
pub(super) fn push_body<'a>(kind: EventKind, event: &'a RefEvent, commit_url: &str) -> PushBody<'a> {
    let repo = &event.repository;
    let commit = |c: &'a Commit| {
        let (added, modified, removed) = gitlab_changes(&c.changes);
        CommitBody {
            id: &c.id,
            message: &c.message,
            title: &c.title,
            timestamp: &c.timestamp,
            url: repo.commit_link(&c.id, commit_url),
            author: Author {
                name: &c.author_name,
                email: &c.author_email,
            },
            added,
            modified,
            removed,
        }
    };
    PushBody {
        object_kind: kind.name(),
        event_name: kind.name(),
        before: &event.before,
        after: &event.after,
        refname: &event.refname,
        checkout_sha: event.checkout_sha.as_deref(),
        message: event.message.as_deref(),
        user_id: event.pusher.id,
        user_name: &event.pusher.name,
        user_username: &event.pusher.username,
        user_email: &event.pusher.email,
        user_avatar: &event.pusher.avatar_url,
        project_id: repo.project_id,
        project: project(repo, &event.default_branch),
        repository: Repository {
            name: &repo.name,
            url: &repo.url,
            description: &repo.description,
            homepage: &repo.homepage,
            git_http_url: &repo.git_http_url,
            git_ssh_url: &repo.git_ssh_url,
            visibility_level: repo.visibility_level,
        },
        commits: event.commits.iter().map(commit).collect(),
        total_commits_count: event.total_commits,
        push_options: options_object(&event.push_options),
        forced: (kind == EventKind::Push).then_some(event.forced),
    }
}

/// The AtomGit body: commits at `{homepage}/commits/{id}`, as in the seed.
pub(super) fn body(kind: EventKind, event: &RefEvent) -> Value {
    let body = push_body(kind, event, "{homepage}/commits/{id}");
    serde_json::to_value(body).expect("payloads serialize")
}

/// The path of `homepage` (`group/project`), else the repository's name.
pub(super) fn path_with_namespace(repo: &RepositoryInfo) -> String {
    let path = repo
        .homepage
        .split_once("://")
        .map(|(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    match path {
        Some(p) if !p.is_empty() => p.trim_end_matches('/').to_string(),
        _ => repo.name.clone(),
    }
}

fn project<'a>(repo: &'a RepositoryInfo, default_branch: &'a str) -> Project<'a> {
    let path_with_namespace = path_with_namespace(repo);
    let namespace = path_with_namespace
        .rsplit_once('/')
        .map_or("", |(ns, _)| ns)
        .to_string();
    Project {
        id: repo.project_id,
        name: &repo.name,
        description: &repo.description,
        web_url: &repo.homepage,
        avatar_url: None,
        git_ssh_url: &repo.git_ssh_url,
        git_http_url: &repo.git_http_url,
        namespace,
        visibility_level: repo.visibility_level,
        path_with_namespace,
        default_branch,
        homepage: &repo.homepage,
        url: &repo.url,
        ssh_url: &repo.git_ssh_url,
        http_url: &repo.git_http_url,
    }
}

/// `git push -o` options as an object: `key=value` gives a string, a bare `key` gives true.
fn options_object(options: &[String]) -> Map<String, Value> {
    options
        .iter()
        .map(|o| match o.split_once('=') {
            Some((k, v)) => (k.to_string(), Value::from(v)),
            None => (o.clone(), Value::Bool(true)),
        })
        .collect()
}
