//! Payloads: each flavour renders the same [`Event`] as its forge would, body and event
//! headers. A new dialect is a new module here that maps the event.

mod atomgit;
mod gitea;
mod github;
mod gitlab;
pub mod review;
mod size;
mod users;

use crate::event::{Body, Event, EventKind};

/// The largest body sent: GitHub refuses to deliver payloads over 25 MB, and receivers
/// of the other forges have limits of the same order.
pub const MAX_BODY: usize = 25_000_000;

/// The dialect a hook speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavor {
    AtomGit,
    GitLab,
    GitHub,
    Gitea,
}

/// How a signature header shows the HMAC of the body keyed with the hook's `secret`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignatureForm {
    /// `sha1=<lowercase hex HMAC-SHA1>` (GitHub's `X-Hub-Signature`).
    Sha1Prefixed,
    /// `sha256=<lowercase hex HMAC-SHA256>` (`X-Hub-Signature-256`).
    Sha256Prefixed,
    /// `<lowercase hex HMAC-SHA256>` (Gitea's `X-Gitea-Signature`).
    Sha256Hex,
}

impl Flavor {
    /// Every flavour, in the order the docs list them.
    pub const ALL: [Flavor; 4] = [Flavor::AtomGit, Flavor::GitLab, Flavor::GitHub, Flavor::Gitea];

    /// The name used in `webhooks.toml`.
    pub fn name(self) -> &'static str {
        match self {
            Flavor::AtomGit => "atomgit",
            Flavor::GitLab => "gitlab",
            Flavor::GitHub => "github",
            Flavor::Gitea => "gitea",
        }
    }

    /// True when this flavour's forge has events of `kind`: `create` and `delete` are
    /// GitHub's and Gitea's, notes and merge requests AtomGit's and GitLab's.
    pub fn sends(self, kind: EventKind) -> bool {
        match kind {
            EventKind::Push | EventKind::TagPush => true,
            EventKind::Create | EventKind::Delete => matches!(self, Flavor::GitHub | Flavor::Gitea),
            EventKind::Note | EventKind::MergeRequest => matches!(self, Flavor::AtomGit | Flavor::GitLab),
        }
    }

    /// True when this flavour's forge sends `event` at all: Gitea tells of a deleted
    /// branch or tag with its `delete` event only, never with a push.
    pub fn delivers(self, event: &Event) -> bool {
        let deletion = event.ref_event().is_some_and(|e| e.deleted());
        !(self == Flavor::Gitea && deletion && matches!(event.kind, EventKind::Push | EventKind::TagPush))
    }

    /// The flavours that send `kind`, by name.
    pub fn names_sending(kind: EventKind) -> impl Iterator<Item = &'static str> {
        Flavor::ALL.into_iter().filter(move |f| f.sends(kind)).map(Flavor::name)
    }

    /// True when hooks of this flavour may have a `token`: GitHub and Gitea send none.
    pub fn has_token(self) -> bool {
        matches!(self, Flavor::AtomGit | Flavor::GitLab)
    }

    /// The signature headers of a hook with a `secret`, and how each shows the HMAC.
    pub fn signatures(self) -> &'static [(&'static str, SignatureForm)] {
        match self {
            Flavor::AtomGit | Flavor::GitLab => &[(header::HUB_SIGNATURE_256, SignatureForm::Sha256Prefixed)],
            Flavor::GitHub => github::SIGNATURES,
            Flavor::Gitea => gitea::SIGNATURES,
        }
    }

    /// Parses a `flavor` value.
    pub fn from_name(name: &str) -> Option<Flavor> {
        Flavor::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The exact body bytes of `event` in this flavour, never more than [`MAX_BODY`] of
    /// them for a push (see [`size`]).
    pub fn render(self, event: &Event) -> Vec<u8> {
        match (&event.body, self) {
            (Body::Ref(e), Flavor::AtomGit) => atomgit::body(event.kind, e),
            (Body::Ref(e), Flavor::GitLab) => gitlab::body(event.kind, e),
            (Body::Ref(e), Flavor::GitHub) => github::body(event.kind, e),
            (Body::Ref(e), Flavor::Gitea) => gitea::body(event.kind, e),
            (Body::Review { body, homepage }, Flavor::GitLab) => size::to_vec(&gitlab::review(body, homepage)),
            // The config gives review events to AtomGit and GitLab hooks only.
            (Body::Review { body, .. }, _) => size::to_vec(body),
        }
    }

    /// The headers that name the event and carry the delivery id, the token and the
    /// rest of what this flavour's forge sends about a delivery.
    pub fn headers(self, facts: &HeaderFacts) -> Vec<(&'static str, String)> {
        let names = match self {
            Flavor::AtomGit => atomgit::HEADERS,
            Flavor::GitLab => gitlab::HEADERS,
            Flavor::GitHub => return github::headers(facts.kind, facts.id, facts.hook),
            Flavor::Gitea => return gitea::headers(facts.kind, facts.id),
        };
        let mut headers = vec![
            (names.event, facts.kind.header().to_string()),
            (names.delivery, facts.id.to_string()),
        ];
        headers.extend(facts.token.map(|t| (names.token, t.to_string())));
        if self == Flavor::GitLab {
            headers.extend(gitlab::more_headers(facts));
        }
        headers
    }

    /// The `User-Agent` of this flavour's requests: its forge's where receivers look at
    /// it, else ours.
    pub fn user_agent(self) -> &'static str {
        match self {
            Flavor::GitLab => gitlab::USER_AGENT,
            Flavor::GitHub => github::USER_AGENT,
            Flavor::AtomGit | Flavor::Gitea => USER_AGENT,
        }
    }
}

/// git-webhooks' own `User-Agent`.
pub const USER_AGENT: &str = concat!("git-webhooks/", env!("CARGO_PKG_VERSION"));

/// What a delivery's flavoured headers are made of.
pub struct HeaderFacts<'a> {
    pub kind: EventKind,
    /// The delivery id.
    pub id: &'a str,
    pub token: Option<&'a str>,
    /// The hook's name.
    pub hook: &'a str,
    /// The repository's homepage.
    pub homepage: &'a str,
}

/// The headers that name the event, one per forge, most specific first (Gitea also
/// sends GitHub's).
pub const EVENT_HEADERS: [&str; 4] = [
    atomgit::HEADERS.event,
    gitlab::HEADERS.event,
    gitea::EVENT_HEADER,
    github::EVENT_HEADER,
];

pub use github::hook_id as github_hook_id;

/// The headers of every request, whatever the flavour.
pub mod header {
    pub const CONTENT_TYPE: &str = "Content-Type";
    pub const CONTENT_LENGTH: &str = "Content-Length";
    pub const HOST: &str = "Host";
    pub const USER_AGENT: &str = "User-Agent";
    pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";
    pub const HUB_SIGNATURE: &str = "X-Hub-Signature";
    pub const HUB_SIGNATURE_256: &str = "X-Hub-Signature-256";
    pub const WEBHOOK_ID: &str = "webhook-id";
    pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
    pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";

    /// All of them.
    pub const ALL: [&str; 10] = [
        CONTENT_TYPE,
        CONTENT_LENGTH,
        HOST,
        USER_AGENT,
        IDEMPOTENCY_KEY,
        HUB_SIGNATURE,
        HUB_SIGNATURE_256,
        WEBHOOK_ID,
        WEBHOOK_TIMESTAMP,
        WEBHOOK_SIGNATURE,
    ];
}

/// Header names that requests carry whatever a hook says: a hook's `headers` may not
/// replace them.
pub fn reserved_headers() -> impl Iterator<Item = &'static str> {
    let flavoured = [atomgit::HEADERS, gitlab::HEADERS]
        .into_iter()
        .flat_map(|h| [h.event, h.delivery, h.token]);
    let signatures = Flavor::ALL
        .into_iter()
        .flat_map(|f| f.signatures().iter().map(|(name, _)| *name));
    header::ALL
        .into_iter()
        .chain(flavoured)
        .chain(gitlab::MORE_HEADERS)
        .chain(github::HEADER_NAMES)
        .chain(gitea::HEADER_NAMES)
        .chain(signatures)
}

/// The names of a flavour's event, delivery id and token headers.
struct HeaderNames {
    event: &'static str,
    delivery: &'static str,
    token: &'static str,
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::event::{Commit, RefEvent, RepositoryInfo};
    use crate::git::changes::{Changes, FileChange};
    use crate::git::pusher::Pusher;

    fn push_event(kind: EventKind) -> Event {
        let commit = Commit {
            id: "a".repeat(40),
            tree_id: "b".repeat(40),
            message: "Fix the thing\n\nBecause.\n".into(),
            timestamp: "2019-01-01T00:08:00+08:00".into(),
            authored: "2019-01-01T00:07:00+08:00".into(),
            author_name: "A U Thor".into(),
            author_email: "author@example.com".into(),
            committer_name: "C O Mitter".into(),
            committer_email: "committer@example.com".into(),
            changes: Changes {
                files: vec![
                    FileChange::Added("new.txt".into()),
                    FileChange::Modified("src/a b.rs".into()),
                    FileChange::Removed("old.txt".into()),
                    FileChange::Renamed("from.txt".into(), "to.txt".into()),
                ],
                total: 4,
            },
        };
        let event = RefEvent {
            before: "0".repeat(40),
            after: "a".repeat(40),
            refname: "refs/heads/main".into(),
            checkout_sha: Some("a".repeat(40)),
            message: None,
            pusher: Pusher {
                name: "alice".into(),
                email: "alice@example.com".into(),
                id: 4,
                username: "alice-gh".into(),
                avatar_url: String::new(),
            },
            repository: RepositoryInfo {
                name: "project".into(),
                homepage: "https://git.example.com/team/project".into(),
                ..RepositoryInfo::default()
            },
            default_branch: "main".into(),
            head: Some(commit.clone()),
            pushed_at: 1_700_000_000,
            // Tag pushes list no commits of their own; the tagged commit is the head.
            commits: if kind == EventKind::Push { vec![commit] } else { vec![] },
            total_commits: if kind == EventKind::Push { 7 } else { 0 },
            forced: false,
            push_options: vec!["ci.skip".into(), "mr.target=dev".into()],
        };
        Event {
            kind,
            refname: event.refname.clone(),
            body: Body::Ref(Box::new(event)),
        }
    }

    fn facts(kind: EventKind, id: &'static str, token: Option<&'static str>) -> HeaderFacts<'static> {
        HeaderFacts {
            kind,
            id,
            token,
            hook: "ci",
            homepage: "https://git.example.com:8443/team/project",
        }
    }

    fn rendered(flavor: Flavor, event: &Event) -> Value {
        serde_json::from_slice(&flavor.render(event)).unwrap()
    }

    #[test]
    fn atomgit_bodies_have_the_seeds_fields_in_order() {
        let body = rendered(Flavor::AtomGit, &push_event(EventKind::Push));
        let keys: Vec<&str> = body.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "object_kind",
                "event_name",
                "before",
                "after",
                "ref",
                "checkout_sha",
                "message",
                "user_id",
                "user_name",
                "user_username",
                "user_email",
                "user_avatar",
                "project_id",
                "project",
                "repository",
                "commits",
                "total_commits_count",
                "push_options",
                "forced",
            ]
        );
        assert_eq!(body["total_commits_count"], 7);
        assert_eq!(
            body["commits"][0]["url"],
            format!("https://git.example.com/team/project/commits/{}", "a".repeat(40))
        );
        assert_eq!(
            body["commits"][0]["author"],
            json!({"name": "A U Thor", "email": "author@example.com"})
        );
        // GitLab's rule: a rename adds its new path and does not remove the old one.
        assert_eq!(body["commits"][0]["added"], json!(["new.txt", "to.txt"]));
        assert_eq!(body["commits"][0]["modified"], json!(["src/a b.rs"]));
        assert_eq!(body["commits"][0]["removed"], json!(["old.txt"]));
        assert_eq!(body["push_options"], json!({"ci.skip": true, "mr.target": "dev"}));
        assert_eq!(body["project"]["path_with_namespace"], "team/project");
        assert_eq!(body["project"]["namespace"], "team");
    }

    #[test]
    fn tag_pushes_have_no_forced_flag_and_gitlab_links_commits_its_way() {
        let tag = rendered(Flavor::AtomGit, &push_event(EventKind::TagPush));
        assert_eq!(tag["object_kind"], "tag_push");
        assert!(tag.get("forced").is_none());
        let gitlab = rendered(Flavor::GitLab, &push_event(EventKind::Push));
        assert_eq!(
            gitlab["commits"][0]["url"],
            format!("https://git.example.com/team/project/-/commit/{}", "a".repeat(40))
        );
    }

    #[test]
    fn each_flavour_names_its_headers_and_reserves_them() {
        let atomgit = Flavor::AtomGit.headers(&facts(EventKind::TagPush, "id-1", Some("t")));
        assert_eq!(
            atomgit,
            [
                ("X-AtomGit-Event", "Tag Push Hook".to_string()),
                ("X-AtomGit-Delivery", "id-1".to_string()),
                ("X-AtomGit-Token", "t".to_string()),
            ]
        );
        let gitlab = Flavor::GitLab.headers(&facts(EventKind::Push, "id-2", None));
        assert_eq!(gitlab[0], ("X-Gitlab-Event", "Push Hook".to_string()));
        assert_eq!(gitlab[1].0, "X-Gitlab-Event-UUID");
        assert_eq!(gitlab[2].0, "X-Gitlab-Webhook-UUID");
        assert_eq!(
            gitlab[2].1,
            Flavor::GitLab.headers(&facts(EventKind::TagPush, "id-3", None))[2].1
        );
        assert_eq!(
            gitlab[3],
            ("X-Gitlab-Instance", "https://git.example.com:8443".to_string())
        );
        assert!(Flavor::GitLab.user_agent().starts_with("GitLab/"));
        let reserved: Vec<&str> = reserved_headers().collect();
        for name in [
            "X-Gitlab-Token",
            "X-AtomGit-Delivery",
            "Idempotency-Key",
            "webhook-signature",
        ] {
            assert!(reserved.contains(&name), "{name}");
        }
        assert_eq!(Flavor::from_name("gitlab"), Some(Flavor::GitLab));
        assert_eq!(Flavor::from_name("gitea"), Some(Flavor::Gitea));
        assert_eq!(Flavor::from_name("bitbucket"), None);
    }

    #[test]
    fn github_lists_renames_as_removed_and_added_and_names_the_pusher_by_username() {
        let body = rendered(Flavor::GitHub, &push_event(EventKind::Push));
        let commit = &body["commits"][0];
        assert_eq!(commit["added"], json!(["new.txt", "to.txt"]));
        assert_eq!(commit["removed"], json!(["old.txt", "from.txt"]));
        assert_eq!(commit["modified"], json!(["src/a b.rs"]));
        assert_eq!(
            body["pusher"],
            json!({"name": "alice-gh", "email": "alice@example.com"})
        );
        assert_eq!(body["sender"]["avatar_url"], "https://git.example.com/alice-gh.png");
        assert_eq!(body["repository"]["owner"]["login"], "team");
        assert_eq!(body["repository"]["pushed_at"], 1_700_000_000);
        assert_eq!(body["created"], true);
        assert_eq!(body["compare"], "https://git.example.com/team/project/compare/main");
        // The same pusher in the AtomGit body.
        let atomgit = rendered(Flavor::AtomGit, &push_event(EventKind::Push));
        assert_eq!(atomgit["user_username"], "alice-gh");
    }

    #[test]
    fn gitea_lists_the_newest_commit_first_with_author_dates() {
        let mut event = push_event(EventKind::Push);
        if let Body::Ref(e) = &mut event.body {
            let mut second = e.commits[0].clone();
            second.id = "c".repeat(40);
            second.authored = "2019-01-01T00:09:00+00:00".into();
            e.commits.push(second);
        }
        let body = rendered(Flavor::Gitea, &event);
        assert_eq!(body["commits"][0]["id"], "c".repeat(40));
        assert_eq!(body["commits"][0]["timestamp"], "2019-01-01T00:09:00Z");
        assert_eq!(body["commits"][1]["timestamp"], "2019-01-01T00:07:00+08:00");
        assert_eq!(body["total_commits"], 7);
        assert_eq!(body["pusher"]["username"], "alice-gh");
    }

    #[test]
    fn github_and_gitea_bodies_give_up_files_then_commits_to_stay_under_the_limit() {
        let mut event = push_event(EventKind::Push);
        if let Body::Ref(e) = &mut event.body {
            let mut older = e.commits[0].clone();
            older.id = "d".repeat(40);
            e.commits.insert(0, older);
        }
        let Body::Ref(e) = &event.body else { unreachable!() };
        let full = size::to_vec(&github::push(e, &users::Identity::of(e)));
        let body = |limit: usize| -> Value {
            let bytes = size::render_within(github::push(e, &users::Identity::of(e)), limit);
            serde_json::from_slice(&bytes).unwrap()
        };
        assert_eq!(body(full.len())["commits"][0]["added"], json!(["new.txt", "to.txt"]));
        let no_files = body(full.len() - 1);
        assert_eq!(no_files["commits"].as_array().unwrap().len(), 2);
        assert_eq!(no_files["commits"][1]["added"], json!([]));
        assert_eq!(no_files["head_commit"]["removed"], json!([]));
        let head_only = body(1000);
        let ids: Vec<&Value> = head_only["commits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| &c["id"])
            .collect();
        assert_eq!(ids, [&json!("a".repeat(40))]);
    }

    #[test]
    fn github_and_gitea_headers_and_signatures() {
        let github = Flavor::GitHub.headers(&facts(EventKind::TagPush, "id-3", None));
        assert_eq!(github[0], ("X-GitHub-Event", "push".to_string()));
        assert_eq!(github[2], ("X-GitHub-Hook-ID", github::hook_id("ci").to_string()));
        assert_eq!(github::hook_id("ci"), github::hook_id("ci"));
        assert_ne!(github::hook_id("ci"), github::hook_id("cd"));
        let names: Vec<&str> = Flavor::GitHub.signatures().iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["X-Hub-Signature", "X-Hub-Signature-256"]);
        let gitea = Flavor::Gitea.headers(&facts(EventKind::Create, "id-4", None));
        assert!(gitea.contains(&("X-Gitea-Event-Type", "create".to_string())));
        assert!(gitea.contains(&("X-GitHub-Delivery", "id-4".to_string())));
        let reserved: Vec<&str> = reserved_headers().collect();
        for name in [
            "X-Gitea-Signature",
            "X-GitHub-Hook-ID",
            "X-Gogs-Event",
            "X-Hub-Signature",
        ] {
            assert!(reserved.contains(&name), "{name}");
        }
        assert!(!Flavor::GitLab.sends(EventKind::Create));
        assert!(!Flavor::Gitea.delivers(&deleted(EventKind::TagPush)));
        assert!(Flavor::Gitea.delivers(&deleted(EventKind::Delete)));
        assert!(Flavor::GitHub.delivers(&deleted(EventKind::Push)));
    }

    fn deleted(kind: EventKind) -> Event {
        let mut event = push_event(kind);
        if let Body::Ref(e) = &mut event.body {
            e.after = "0".repeat(40);
        }
        event
    }

    #[test]
    fn gitlab_nests_the_push_options_it_knows_and_lists_a_tags_commit() {
        let options: Vec<String> = [
            "ci.skip",
            "mr.target=dev",
            "ci.variable=A=1",
            "ci.variable=A=1",
            "x.y",
            "plain",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            gitlab::push_options(&options),
            json!({"ci": {"skip": "", "variable": {"A=1": 2}}, "merge_request": {"target": "dev"}})
        );
        let push = rendered(Flavor::GitLab, &push_event(EventKind::Push));
        assert_eq!(push["ref_protected"], true, "the default branch");
        assert_eq!(
            push["push_options"],
            json!({"ci": {"skip": ""}, "merge_request": {"target": "dev"}})
        );
        let tag = rendered(Flavor::GitLab, &push_event(EventKind::TagPush));
        assert_eq!(tag["total_commits_count"], 1);
        assert_eq!(tag["commits"][0]["id"], "a".repeat(40));
        let atomgit_tag = rendered(Flavor::AtomGit, &push_event(EventKind::TagPush));
        assert_eq!(atomgit_tag["commits"], json!([]), "the seed's tag push lists no commit");
        assert!(atomgit_tag.get("ref_protected").is_none());
    }

    #[test]
    fn titles_follow_gitlabs_rule() {
        assert_eq!(atomgit::title("Fix it\r\nmore"), "Fix it");
        assert_eq!(atomgit::title("  \n"), "No commit message");
        let long = format!("{} tail", "word ".repeat(25));
        let title = atomgit::title(&long);
        assert_eq!(title, format!("{}...", "word ".repeat(15).trim_end()));
        assert!(title.chars().count() <= 81);
        let unbroken = "x".repeat(120);
        assert_eq!(atomgit::title(&unbroken), format!("{}...", "x".repeat(78)));
        assert_eq!(atomgit::title(&"y".repeat(99)), "y".repeat(99));
    }

    #[test]
    fn bodies_over_the_limit_drop_file_lists_then_older_commits() {
        let mut event = push_event(EventKind::Push);
        let Body::Ref(e) = &mut event.body else { unreachable!() };
        let many: Vec<FileChange> = (0..70_000).map(|i| FileChange::Added(format!("{i:0>400}"))).collect();
        e.commits[0].changes = Changes {
            files: many,
            total: 70_000,
        };
        let body = rendered(Flavor::AtomGit, &event);
        let added = body["commits"][0]["added"].as_array().unwrap().len();
        assert_eq!(added, 0, "the file lists go first");
        assert_eq!(body["total_commits_count"], 7);
        let Body::Ref(e) = &mut event.body else { unreachable!() };
        e.commits[0].changes = Changes::default();
        let second = Commit {
            message: "m".repeat(MAX_BODY),
            ..e.commits[0].clone()
        };
        e.commits.insert(0, second);
        let body = rendered(Flavor::GitLab, &event);
        assert_eq!(
            body["commits"].as_array().unwrap().len(),
            1,
            "then all but the newest commit"
        );
        assert_eq!(body["commits"][0]["message"], "Fix the thing\n\nBecause.\n");
    }
}
