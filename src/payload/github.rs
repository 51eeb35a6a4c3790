//! The GitHub flavour: GitHub's `push`, `create` and `delete` events, with the headers
//! GitHub's webhook deliveries carry (`X-GitHub-Event`, `X-GitHub-Delivery`,
//! `X-GitHub-Hook-ID`, `X-Hub-Signature`, `X-Hub-Signature-256`).

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::size::{render_within, to_vec, Shrink, MAX_BODY};
use super::users::{short_ref, visibility, DeleteBody, Identity};
use super::{header, SignatureForm};
use crate::event::{Commit, EventKind, RefEvent};
use crate::git::changes::{Changes, FileChange};
use crate::timefmt::rfc3339;

pub(super) const USER_AGENT: &str = concat!("GitHub-Hookshot/git-webhooks-", env!("CARGO_PKG_VERSION"));

pub(super) const EVENT_HEADER: &str = "X-GitHub-Event";
const EVENT: &str = EVENT_HEADER;
const DELIVERY: &str = "X-GitHub-Delivery";
const HOOK_ID: &str = "X-GitHub-Hook-ID";
const TARGET_TYPE: &str = "X-GitHub-Hook-Installation-Target-Type";

/// The header names this flavour sets, besides the signatures.
pub(super) const HEADER_NAMES: [&str; 4] = [EVENT, DELIVERY, HOOK_ID, TARGET_TYPE];

pub(super) const SIGNATURES: &[(&str, SignatureForm)] = &[
    (header::HUB_SIGNATURE, SignatureForm::Sha1Prefixed),
    (header::HUB_SIGNATURE_256, SignatureForm::Sha256Prefixed),
];

/// GitHub's name of an event: `push` for branches and tags alike.
fn event_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Create => "create",
        EventKind::Delete => "delete",
        _ => "push",
    }
}

/// A hook's number: the first four bytes of the SHA-256 of its name, big-endian.
pub fn hook_id(name: &str) -> u32 {
    let digest = Sha256::digest(name.as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

pub(super) fn headers(kind: EventKind, id: &str, hook: &str) -> Vec<(&'static str, String)> {
    vec![
        (EVENT, event_name(kind).to_string()),
        (DELIVERY, id.to_string()),
        (HOOK_ID, hook_id(hook).to_string()),
        (TARGET_TYPE, "repository".to_string()),
    ]
}

/// The body of `event` as GitHub sends it, under GitHub's size limit.
pub(super) fn body(kind: EventKind, event: &RefEvent) -> Vec<u8> {
    let who = Identity::of(event);
    match kind {
        EventKind::Create => to_vec(&CreateBody {
            refname: short_ref(&event.refname).0,
            ref_type: short_ref(&event.refname).1,
            master_branch: &event.default_branch,
            description: none_if_empty(&event.repository.description),
            pusher_type: "user",
            repository: repository(event, &who, Dates::Text),
            sender: user(&who),
        }),
        EventKind::Delete => to_vec(&DeleteBody {
            refname: short_ref(&event.refname).0,
            ref_type: short_ref(&event.refname).1,
            pusher_type: "user",
            repository: repository(event, &who, Dates::Text),
            sender: user(&who),
        }),
        _ => render_within(push(event, &who), MAX_BODY),
    }
}

fn none_if_empty(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

#[derive(Serialize)]
pub(super) struct PushBody<'a> {
    #[serde(rename = "ref")]
    refname: &'a str,
    before: &'a str,
    after: &'a str,
    repository: Repository<'a>,
    pusher: Person<'a>,
    sender: User<'a>,
    created: bool,
    deleted: bool,
    forced: bool,
    base_ref: Option<&'a str>,
    compare: String,
    commits: Vec<CommitBody<'a>>,
    head_commit: Option<CommitBody<'a>>,
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
    #[serde(rename = "ref")]
    refname: &'a str,
    ref_type: &'static str,
    master_branch: &'a str,
    description: Option<&'a str>,
    pusher_type: &'static str,
    repository: Repository<'a>,
    sender: User<'a>,
}

/// A commit's author or committer, and the push's `pusher`.
#[derive(Serialize)]
struct Person<'a> {
    name: &'a str,
    email: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<&'a str>,
}

#[derive(Serialize)]
struct CommitBody<'a> {
    id: &'a str,
    tree_id: &'a str,
    distinct: bool,
    message: &'a str,
    timestamp: &'a str,
    url: String,
    author: Person<'a>,
    committer: Person<'a>,
    added: Vec<&'a str>,
    removed: Vec<&'a str>,
    modified: Vec<&'a str>,
}

/// A commit's paths the way GitHub lists them: a renamed file is removed under its old
/// path and added under its new one.
pub(super) fn split_changes(changes: &Changes) -> (Vec<&str>, Vec<&str>, Vec<&str>) {
    let (mut added, mut removed, mut modified) = (Vec::new(), Vec::new(), Vec::new());
    for change in &changes.files {
        match change {
            FileChange::Added(p) => added.push(p.as_str()),
            FileChange::Removed(p) => removed.push(p.as_str()),
            FileChange::Modified(p) => modified.push(p.as_str()),
            FileChange::Renamed(from, to) => {
                removed.push(from.as_str());
                added.push(to.as_str());
            }
        }
    }
    (added, removed, modified)
}

fn commit<'a>(c: &'a Commit, event: &'a RefEvent, who: &Identity<'a>) -> CommitBody<'a> {
    let (added, removed, modified) = split_changes(&c.changes);
    CommitBody {
        id: &c.id,
        tree_id: &c.tree_id,
        distinct: true,
        message: &c.message,
        timestamp: &c.timestamp,
        url: event.repository.commit_link(&c.id, "{homepage}/commit/{id}"),
        author: Person {
            name: &c.author_name,
            email: &c.author_email,
            username: who.username_of(&c.author_email),
        },
        committer: Person {
            name: &c.committer_name,
            email: &c.committer_email,
            username: who.username_of(&c.committer_email),
        },
        added,
        removed,
        modified,
    }
}

/// GitHub's compare link: the new ref's name for a creation, else the two ids
/// abbreviated to 12 characters.
fn compare(event: &RefEvent) -> String {
    let repo = &event.repository;
    let short = |id: &str| id.chars().take(12).collect::<String>();
    if event.created() {
        let default = format!("{{homepage}}/compare/{}", short_ref(&event.refname).0);
        repo.compare_link(&short(&event.before), &short(&event.after), &default)
    } else {
        repo.compare_link(
            &short(&event.before),
            &short(&event.after),
            "{homepage}/compare/{before}...{after}",
        )
    }
}

pub(super) fn push<'a>(event: &'a RefEvent, who: &Identity<'a>) -> PushBody<'a> {
    PushBody {
        refname: &event.refname,
        before: &event.before,
        after: &event.after,
        repository: repository(event, who, Dates::Numbers),
        pusher: Person {
            name: who.login,
            email: who.email,
            username: None,
        },
        sender: user(who),
        created: event.created(),
        deleted: event.deleted(),
        forced: event.forced,
        base_ref: None,
        compare: compare(event),
        commits: event.commits.iter().map(|c| commit(c, event, who)).collect(),
        head_commit: event.head.as_ref().map(|c| commit(c, event, who)),
    }
}

/// GitHub's user object (`sender`, and the repository's `owner`).
#[derive(Serialize)]
struct User<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<Option<&'a str>>,
    login: String,
    id: u64,
    node_id: String,
    avatar_url: String,
    gravatar_id: &'static str,
    #[serde(flatten)]
    links: Map<String, Value>,
    #[serde(rename = "type")]
    kind: &'static str,
    site_admin: bool,
}

/// A GraphQL node id in GitHub's legacy form: base64 of `0{len}:{Type}{id}`.
fn node_id(kind: &str, id: u64) -> String {
    BASE64.encode(format!("0{}:{kind}{id}", kind.len()))
}

fn user_object<'a>(who: &Identity<'a>, login: &str, id: u64, avatar_url: String, kind: &'static str) -> User<'a> {
    let api = format!("{}/api/v3/users/{login}", who.origin);
    let links = [
        ("url", api.clone()),
        ("html_url", format!("{}/{login}", who.origin)),
        ("followers_url", format!("{api}/followers")),
        ("following_url", format!("{api}/following{{/other_user}}")),
        ("gists_url", format!("{api}/gists{{/gist_id}}")),
        ("starred_url", format!("{api}/starred{{/owner}}{{/repo}}")),
        ("subscriptions_url", format!("{api}/subscriptions")),
        ("organizations_url", format!("{api}/orgs")),
        ("repos_url", format!("{api}/repos")),
        ("events_url", format!("{api}/events{{/privacy}}")),
        ("received_events_url", format!("{api}/received_events")),
    ];
    User {
        name: None,
        email: None,
        login: login.to_string(),
        id,
        node_id: node_id(if kind == "User" { "User" } else { "Organization" }, id),
        avatar_url,
        gravatar_id: "",
        links: links
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::from(v)))
            .collect(),
        kind,
        site_admin: false,
    }
}

/// The pusher as GitHub's `sender`.
fn user<'a>(who: &Identity<'a>) -> User<'a> {
    user_object(who, who.login, who.user_id, who.avatar_url.clone(), "User")
}

/// Push events write the repository's creation and push times as numbers, the other
/// events as text.
#[derive(Clone, Copy, PartialEq)]
enum Dates {
    Numbers,
    Text,
}

#[derive(Serialize)]
struct Repository<'a> {
    id: u64,
    node_id: String,
    name: &'a str,
    full_name: String,
    private: bool,
    owner: User<'a>,
    html_url: &'a str,
    description: Option<&'a str>,
    fork: bool,
    #[serde(flatten)]
    api_links: Map<String, Value>,
    created_at: Value,
    updated_at: String,
    pushed_at: Value,
    git_url: String,
    ssh_url: &'a str,
    clone_url: String,
    svn_url: &'a str,
    homepage: Option<&'a str>,
    size: u64,
    stargazers_count: u64,
    watchers_count: u64,
    language: Option<&'a str>,
    has_issues: bool,
    has_projects: bool,
    has_downloads: bool,
    has_wiki: bool,
    has_pages: bool,
    has_discussions: bool,
    forks_count: u64,
    mirror_url: Option<&'a str>,
    archived: bool,
    disabled: bool,
    open_issues_count: u64,
    license: Option<Value>,
    allow_forking: bool,
    is_template: bool,
    web_commit_signoff_required: bool,
    topics: Vec<String>,
    visibility: &'static str,
    forks: u64,
    open_issues: u64,
    watchers: u64,
    default_branch: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    stargazers: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    master_branch: Option<&'a str>,
    custom_properties: Map<String, Value>,
}

/// The API links of a repository, under `{origin}/api/v3` (GitHub Enterprise Server's form).
fn api_links(who: &Identity) -> Map<String, Value> {
    let api = format!("{}/api/v3/repos/{}", who.origin, who.full_name);
    let mut links = vec![("url".to_string(), api.clone())];
    for (key, path) in [
        ("forks_url", "/forks"),
        ("keys_url", "/keys{/key_id}"),
        ("collaborators_url", "/collaborators{/collaborator}"),
        ("teams_url", "/teams"),
        ("hooks_url", "/hooks"),
        ("issue_events_url", "/issues/events{/number}"),
        ("events_url", "/events"),
        ("assignees_url", "/assignees{/user}"),
        ("branches_url", "/branches{/branch}"),
        ("tags_url", "/tags"),
        ("blobs_url", "/git/blobs{/sha}"),
        ("git_tags_url", "/git/tags{/sha}"),
        ("git_refs_url", "/git/refs{/sha}"),
        ("trees_url", "/git/trees{/sha}"),
        ("statuses_url", "/statuses/{sha}"),
        ("languages_url", "/languages"),
        ("stargazers_url", "/stargazers"),
        ("contributors_url", "/contributors"),
        ("subscribers_url", "/subscribers"),
        ("subscription_url", "/subscription"),
        ("commits_url", "/commits{/sha}"),
        ("git_commits_url", "/git/commits{/sha}"),
        ("comments_url", "/comments{/number}"),
        ("issue_comment_url", "/issues/comments{/number}"),
        ("contents_url", "/contents/{+path}"),
        ("compare_url", "/compare/{base}...{head}"),
        ("merges_url", "/merges"),
        ("archive_url", "/{archive_format}{/ref}"),
        ("downloads_url", "/downloads"),
        ("issues_url", "/issues{/number}"),
        ("pulls_url", "/pulls{/number}"),
        ("milestones_url", "/milestones{/number}"),
        ("notifications_url", "/notifications{?since,all,participating}"),
        ("labels_url", "/labels{/name}"),
        ("releases_url", "/releases{/id}"),
        ("deployments_url", "/deployments"),
    ] {
        links.push((key.to_string(), format!("{api}{path}")));
    }
    links.into_iter().map(|(k, v)| (k, Value::from(v))).collect()
}

fn repository<'a>(event: &'a RefEvent, who: &Identity<'a>, dates: Dates) -> Repository<'a> {
    let repo = &event.repository;
    let secs = event.pushed_at as i64;
    let text = rfc3339(secs, 0).replace("+00:00", "Z");
    let time = match dates {
        Dates::Numbers => Value::from(secs),
        Dates::Text => Value::from(text.clone()),
    };
    let host = who.origin.split_once("://").map_or("", |(_, h)| h);
    let owner_kind = if who.owned_by_pusher() { "User" } else { "Organization" };
    let mut owner = user_object(who, &who.owner, who.owner_id(), who.owner_avatar(), owner_kind);
    if dates == Dates::Numbers {
        // Push events give the owner a name and an email (null for an organisation).
        owner.name = Some(owner.login.clone());
        owner.email = Some(who.owned_by_pusher().then_some(who.email));
    }
    let visibility = visibility(repo.visibility_level);
    let push = dates == Dates::Numbers;
    Repository {
        id: repo.project_id,
        node_id: node_id("Repository", repo.project_id),
        name: &repo.name,
        full_name: who.full_name.clone(),
        private: visibility != "public",
        owner,
        html_url: who.homepage,
        description: none_if_empty(&repo.description),
        fork: false,
        api_links: api_links(who),
        created_at: time.clone(),
        updated_at: text,
        pushed_at: time,
        git_url: format!("git://{host}/{}.git", who.full_name),
        ssh_url: &repo.git_ssh_url,
        clone_url: who.clone_url(event),
        svn_url: who.homepage,
        homepage: None,
        size: 0,
        stargazers_count: 0,
        watchers_count: 0,
        language: None,
        has_issues: true,
        has_projects: true,
        has_downloads: true,
        has_wiki: true,
        has_pages: false,
        has_discussions: false,
        forks_count: 0,
        mirror_url: None,
        archived: false,
        disabled: false,
        open_issues_count: 0,
        license: None,
        allow_forking: true,
        is_template: false,
        web_commit_signoff_required: false,
        topics: Vec::new(),
        visibility,
        forks: 0,
        open_issues: 0,
        watchers: 0,
        default_branch: &event.default_branch,
        stargazers: push.then_some(0),
        master_branch: push.then_some(event.default_branch.as_str()),
        custom_properties: Map::new(),
    }
}
