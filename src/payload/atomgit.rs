//! The AtomGit flavour: the seed's Push Hook and Tag Push Hook bodies, with the fields
//! GitLab consumers read too (`project`, `checkout_sha`, commit `title`, …).

use serde::Serialize;
use serde_json::{Map, Value};

use super::size::{render_within, Shrink, MAX_BODY};
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
    /// GitLab only.
    #[serde(skip_serializing_if = "Option::is_none")]
    ref_protected: Option<bool>,
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
    push_options: Value,
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
    title: String,
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
/// What a flavour does its own way with the shared body.
pub(super) struct Style {
    /// How the forge links a commit (`{homepage}`, `{id}`), unless `[repository]
    /// commit_url` says otherwise.
    pub commit_url: &'static str,
    /// GitLab's own ways: `ref_protected`, push options nested by namespace, and the
    /// tagged commit listed in a tag push.
    pub gitlab: bool,
}

pub(super) fn push_body<'a>(kind: EventKind, event: &'a RefEvent, style: &Style) -> PushBody<'a> {
    let repo = &event.repository;
    let commit = |c: &'a Commit| {
        let (added, modified, removed) = gitlab_changes(&c.changes);
        CommitBody {
            id: &c.id,
            message: &c.message,
            title: title(&c.message),
            timestamp: &c.timestamp,
            url: repo.commit_link(&c.id, style.commit_url),
            author: Author {
                name: &c.author_name,
                email: &c.author_email,
            },
            added,
            modified,
            removed,
        }
    };
    // GitLab lists the commit a tag points at as the tag push's one commit.
    let (commits, total) = match (&event.head, kind, style.gitlab) {
        (Some(head), EventKind::TagPush, true) => (std::slice::from_ref(head), 1),
        _ => (&event.commits[..], event.total_commits),
    };
    let branch = event.refname.strip_prefix("refs/heads/");
    PushBody {
        object_kind: kind.name(),
        event_name: kind.name(),
        before: &event.before,
        after: &event.after,
        refname: &event.refname,
        // Plain git protects no branch; GitLab protects the default branch by default.
        ref_protected: style.gitlab.then_some(branch == Some(event.default_branch.as_str())),
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
        commits: commits.iter().map(commit).collect(),
        total_commits_count: total,
        push_options: match style.gitlab {
            true => super::gitlab::push_options(&event.push_options),
            false => Value::Object(options_object(&event.push_options)),
        },
        forced: (kind == EventKind::Push).then_some(event.forced),
    }
}

/// The AtomGit body: commits at `{homepage}/commits/{id}`, as in the seed.
pub(super) fn body(kind: EventKind, event: &RefEvent) -> Vec<u8> {
    let style = Style {
        commit_url: "{homepage}/commits/{id}",
        gitlab: false,
    };
    render_within(push_body(kind, event, &style), MAX_BODY)
}

impl Shrink for PushBody<'_> {
    fn drop_files(&mut self) {
        for c in &mut self.commits {
            c.added.clear();
            c.modified.clear();
            c.removed.clear();
        }
    }

    fn keep_head_only(&mut self) {
        let older = self.commits.len().saturating_sub(1);
        self.commits.drain(..older);
    }
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

/// A commit's title as GitLab makes it (`Commit#title`): the first line of the message
/// (`No commit message` when there is none); one of 100 characters or more is cut to
/// at most 78 at a space, and `...` is added.
pub(super) fn title(message: &str) -> String {
    let first = message.split(['\r', '\n']).next().unwrap_or_default();
    if message.trim().is_empty() {
        return "No commit message".into();
    }
    let chars: Vec<char> = first.chars().collect();
    if chars.len() < 100 {
        return first.to_string();
    }
    let room = 81 - 3;
    let stop = chars[..=room].iter().rposition(|&c| c == ' ').unwrap_or(room);
    format!("{}...", chars[..stop].iter().collect::<String>())
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
