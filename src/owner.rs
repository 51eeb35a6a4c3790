//! Accounts, and working as a repository's owner: a command that root runs on a
//! repository another account owns is carried out as that account, so that nothing
//! under the repository becomes root's and root never reads what the owner's
//! configuration names.

use std::ffi::OsString;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Set in the environment of a command started again as the repository's owner.
const AS_OWNER: &str = "GIT_WEBHOOKS_AS_OWNER";

/// A Unix account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

/// The account of `uid`, from `/etc/passwd`, else from `getent` (directory services).
pub fn account(uid: u32) -> Option<Account> {
    let parse = |text: &str| {
        text.lines().find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.len() >= 7 && f[2] == uid.to_string()).then(|| Account {
                name: f[0].to_string(),
                uid,
                gid: f[3].parse().unwrap_or(uid),
                home: PathBuf::from(f[5]),
            })
        })
    };
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    parse(&passwd).or_else(|| {
        let out = Command::new("getent")
            .args(["passwd", &uid.to_string()])
            .output()
            .ok()?;
        parse(&String::from_utf8_lossy(&out.stdout))
    })
}

/// The effective user id of this process.
pub fn effective_uid() -> Option<u32> {
    std::fs::metadata("/proc/self").map(|m| m.uid()).ok()
}

/// The name of an account, or its number when it has none.
pub fn name_of(uid: u32) -> String {
    account(uid).map_or_else(|| uid.to_string(), |a| a.name)
}

/// When root runs a command on a repository that another account owns, starts the same
/// command again as that account (with `setpriv`) and returns only if that is impossible,
/// with what to do instead. `args` are the command's arguments, without the program.
pub fn run_as_owner(repo: &Path, args: Vec<OsString>) -> Result<(), String> {
    if effective_uid() != Some(0) || std::env::var_os(AS_OWNER).is_some() {
        return Ok(());
    }
    let Ok(meta) = std::fs::metadata(repo) else {
        return Ok(());
    };
    if meta.uid() == 0 {
        return Ok(());
    }
    let owner = account(meta.uid());
    let name = owner
        .as_ref()
        .map_or_else(|| meta.uid().to_string(), |a| a.name.clone());
    let instead = format!(
        "{} belongs to {name}: run git-webhooks as that account (sudo -u {name} git-webhooks …), so that the files it writes stay {name}'s",
        repo.display()
    );
    let (Some(owner), Ok(exe)) = (owner, std::env::current_exe()) else {
        return Err(instead);
    };
    let error = Command::new("setpriv")
        .arg(format!("--reuid={}", owner.uid))
        .arg(format!("--regid={}", owner.gid))
        .arg("--init-groups")
        .arg(exe)
        .args(args)
        .env(AS_OWNER, "1")
        .env("HOME", &owner.home)
        .exec();
    Err(format!("{instead} (cannot run setpriv: {error})"))
}
