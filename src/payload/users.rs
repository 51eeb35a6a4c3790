//! The identities and links GitHub and Gitea bodies share: the repository's owner and
//! full name from the path of `[repository] homepage`, the site it is on, and the
//! pusher's account.

use serde::Serialize;

use super::atomgit::path_with_namespace;
use crate::event::RefEvent;

/// Who and where, as GitHub and Gitea name them.
pub(super) struct Identity<'a> {
    /// `scheme://host[:port]` of the homepage (empty without one).
    pub origin: String,
    /// The homepage without a trailing slash.
    pub homepage: &'a str,
    /// `owner/name`: the homepage's path.
    pub full_name: String,
    /// The owner's login: the path without its last part, else the pusher's username.
    pub owner: String,
    /// The pusher's login, id, email and avatar.
    pub login: &'a str,
    pub user_id: u64,
    pub email: &'a str,
    pub avatar_url: String,
}

impl<'a> Identity<'a> {
    pub fn of(event: &'a RefEvent) -> Identity<'a> {
        let repo = &event.repository;
        let homepage = repo.homepage.trim_end_matches('/');
        let origin = homepage
            .split_once("://")
            .map(|(scheme, rest)| format!("{scheme}://{}", rest.split('/').next().unwrap_or("")))
            .unwrap_or_default();
        let full_name = path_with_namespace(repo);
        let login = event.pusher.username.as_str();
        let owner = full_name
            .rsplit_once('/')
            .map_or_else(|| login.to_string(), |(ns, _)| ns.to_string());
        let avatar_url = match event.pusher.avatar_url.as_str() {
            "" => format!("{origin}/{login}.png"),
            url => url.to_string(),
        };
        Identity {
            homepage,
            full_name,
            owner,
            login,
            user_id: event.pusher.id,
            email: &event.pusher.email,
            avatar_url,
            origin,
        }
    }

    /// True when the repository belongs to the pusher's account.
    pub fn owned_by_pusher(&self) -> bool {
        self.owner == self.login
    }

    /// The owner's id: the pusher's when the repository is theirs, else 0.
    pub fn owner_id(&self) -> u64 {
        if self.owned_by_pusher() {
            self.user_id
        } else {
            0
        }
    }

    /// The owner's avatar: the pusher's when the repository is theirs.
    pub fn owner_avatar(&self) -> String {
        if self.owned_by_pusher() {
            self.avatar_url.clone()
        } else {
            format!("{}/{}.png", self.origin, self.owner)
        }
    }

    /// The clone URL over HTTP: `[repository] git_http_url`, else the homepage + `.git`.
    pub fn clone_url(&self, event: &RefEvent) -> String {
        match event.repository.git_http_url.as_str() {
            "" => format!("{}.git", self.homepage),
            url => url.to_string(),
        }
    }

    /// The username of a commit's author or committer: the pusher's when the email is
    /// the pusher's.
    pub fn username_of(&self, email: &str) -> Option<&'a str> {
        (!self.email.is_empty() && self.email.eq_ignore_ascii_case(email)).then_some(self.login)
    }
}

/// The branch or tag name of a full ref name, and its `ref_type` (`branch` or `tag`).
pub(super) fn short_ref(refname: &str) -> (&str, &'static str) {
    let kind = if refname.starts_with("refs/tags/") {
        "tag"
    } else {
        "branch"
    };
    (crate::git::update::short_name(refname), kind)
}

/// The visibility GitHub and Gitea name for a GitLab visibility level (0, 10, 20).
pub(super) fn visibility(level: u32) -> &'static str {
    match level {
        0..=9 => "private",
        10..=19 => "internal",
        _ => "public",
    }
}

/// The `delete` event of GitHub and Gitea, which have the same fields; `R` and `U` are
/// the forge's repository and user objects.
#[derive(Serialize)]
pub(super) struct DeleteBody<'a, R, U> {
    #[serde(rename = "ref")]
    pub refname: &'a str,
    pub ref_type: &'static str,
    pub pusher_type: &'static str,
    pub repository: R,
    pub sender: U,
}
