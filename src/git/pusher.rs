//! Who pushed: the name git servers leave in the environment, and the `[users]` entry
//! that gives it an email and an id.

use std::collections::BTreeMap;

/// A `[users.NAME]` entry of the config: what payloads say about that user.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    pub email: String,
    pub id: u64,
    /// The account's login name, when it differs from the name the server gives.
    pub username: Option<String>,
    /// The link to the account's picture.
    pub avatar_url: Option<String>,
}

/// The pusher as the payload shows them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pusher {
    pub name: String,
    pub email: String,
    pub id: u64,
    /// `[users.NAME] username`, else the name.
    pub username: String,
    /// `[users.NAME] avatar_url`, else empty.
    pub avatar_url: String,
}

/// Variables that name the pusher, most specific first: ours, git-http-backend's
/// (`REMOTE_USER`), gitolite's (`GL_USER`), then the login user's (`USER`, `LOGNAME`).
const USER_VARIABLES: [&str; 5] = ["GIT_WEBHOOKS_USER", "REMOTE_USER", "GL_USER", "USER", "LOGNAME"];

impl Pusher {
    /// The pusher of the current process's push.
    pub fn from_env(users: &BTreeMap<String, User>) -> Pusher {
        let name = USER_VARIABLES
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|n| !n.is_empty()))
            .unwrap_or_else(login_user);
        Pusher::named(name, users)
    }

    /// A pusher by name, with email and id from `[users.NAME]`.
    pub fn named(name: String, users: &BTreeMap<String, User>) -> Pusher {
        let user = users.get(&name).cloned().unwrap_or_default();
        Pusher {
            username: user.username.unwrap_or_else(|| name.clone()),
            avatar_url: user.avatar_url.unwrap_or_default(),
            name,
            email: user.email,
            id: user.id,
        }
    }
}

/// The login user when no variable names one: the passwd entry of the process's uid.
fn login_user() -> String {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").map(|m| m.uid()).ok();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    let entry = uid.and_then(|uid| {
        passwd.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() > 2 && f[2] == uid.to_string()).then(|| f[0].to_string())
        })
    });
    entry.unwrap_or_else(|| "unknown".into())
}

/// `git push -o` values, from `GIT_PUSH_OPTION_COUNT` and `GIT_PUSH_OPTION_<i>`.
pub fn push_options() -> Vec<String> {
    let count: usize = std::env::var("GIT_PUSH_OPTION_COUNT")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (0..count)
        .filter_map(|i| std::env::var(format!("GIT_PUSH_OPTION_{i}")).ok())
        .collect()
}
