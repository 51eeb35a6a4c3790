//! A repository shared by a Unix group (`git init --shared=group`), pushed to by two
//! real accounts of that group: each keeps its events where the other can send them.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::*;

const GROUP: &str = "gwshare";
const USERS: [&str; 2] = ["gwshare-a", "gwshare-b"];

fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The group and its two members, made once.
fn accounts() {
    let _ = Command::new("groupadd").args(["-f", GROUP]).status();
    for user in USERS {
        if !Command::new("id").arg(user).output().is_ok_and(|o| o.status.success()) {
            let _ = Command::new("useradd").args(["-M", "-G", GROUP, user]).status();
        }
    }
}

struct Shared {
    dir: tempfile::TempDir,
    bare: PathBuf,
}

impl Shared {
    fn new() -> Shared {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = dir.path().join("git-webhooks");
        std::fs::copy(BIN, &bin).unwrap();
        let bare = dir.path().join("shared.git");
        let run = |args: &[&str]| assert!(Command::new(args[0]).args(&args[1..]).status().unwrap().success());
        run(&[
            "git",
            "init",
            "-q",
            "--bare",
            "--shared=group",
            "-b",
            "main",
            bare.to_str().unwrap(),
        ]);
        std::os::unix::fs::symlink(&bin, bare.join("hooks/post-receive")).unwrap();
        for user in USERS {
            let home = dir.path().join(user);
            std::fs::create_dir(&home).unwrap();
            // The repository belongs to the first account: the second needs safe.directory.
            std::fs::write(home.join(".gitconfig"), "[safe]\n\tdirectory = *\n").unwrap();
            run(&["chown", "-R", &format!("{user}:{GROUP}"), home.to_str().unwrap()]);
        }
        run(&["chown", "-R", &format!("{}:{GROUP}", USERS[0]), bare.to_str().unwrap()]);
        Shared { dir, bare }
    }

    /// `program args` as `user`, with that account's groups and home.
    fn as_user(&self, user: &str, dir: &Path, program: &str, args: &[&str]) -> Output {
        let out = Command::new("setpriv")
            .args([
                &format!("--reuid={user}"),
                &format!("--regid={user}"),
                "--init-groups",
                program,
            ])
            .args(args)
            .current_dir(dir)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.dir.path().join(user))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", user)
            .env("GIT_AUTHOR_EMAIL", format!("{user}@example.com"))
            .env("GIT_COMMITTER_NAME", user)
            .env("GIT_COMMITTER_EMAIL", format!("{user}@example.com"))
            .env("GIT_WEBHOOKS_CONFIG", self.dir.path().join("no-system-config.toml"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{program} {args:?} as {user}: {}", stderr(&out));
        out
    }

    /// A new commit by `user` in a fresh clone of theirs, pushed; returns its id and the push.
    fn commit_and_push(&self, user: &str, message: &str) -> (String, Output) {
        let work = self.dir.path().join(user).join("work");
        if !work.exists() {
            let home = self.dir.path().join(user);
            self.as_user(
                user,
                &home,
                "git",
                &["clone", "-q", self.bare.to_str().unwrap(), "work"],
            );
        }
        self.as_user(user, &work, "git", &["commit", "-q", "--allow-empty", "-m", message]);
        let id = String::from_utf8(self.as_user(user, &work, "git", &["rev-parse", "HEAD"]).stdout).unwrap();
        let push = self.as_user(user, &work, "git", &["push", "-q", "origin", "HEAD:main"]);
        (id.trim().to_string(), push)
    }
}

#[test]
fn members_of_a_shared_repositorys_group_keep_and_send_each_others_events() {
    if !is_root() {
        eprintln!("skipped: creating the accounts of a shared repository needs root");
        return;
    }
    accounts();
    let shared = Shared::new();
    let receiver = Receiver::start();
    receiver.always(Answer::Status(503));
    std::fs::write(
        shared.bare.join("webhooks.toml"),
        format!("[[hook]]\nname = \"ci\"\nurl = \"{}\"\n", receiver.url("/")),
    )
    .unwrap();
    let (first, out) = shared.commit_and_push(USERS[0], "by a");
    assert!(stderr(&out).contains("kept"), "{}", stderr(&out));
    let (second, out) = shared.commit_and_push(USERS[1], "by b");
    assert!(
        stderr(&out).contains("kept"),
        "the second member keeps its event too: {}",
        stderr(&out)
    );
    assert!(!stderr(&out).contains("ermission denied"), "{}", stderr(&out));

    receiver.always(Answer::Status(200));
    let out = shared.as_user(
        USERS[1],
        shared.dir.path(),
        shared.dir.path().join("git-webhooks").to_str().unwrap(),
        &["redeliver", "--repo", shared.bare.to_str().unwrap()],
    );
    assert!(stderr(&out).contains("delivered 2 events"), "{}", stderr(&out));
    let afters: Vec<String> = receiver.requests()[3..]
        .iter()
        .map(|r| r.json()["after"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(afters, [first, second]);

    for file in files_under(&shared.bare.join("webhooks")) {
        let meta = std::fs::metadata(&file).unwrap();
        let mode = meta.permissions().mode() & 0o777;
        assert_eq!(mode & 0o007, 0, "{} must not be readable by others", file.display());
        assert_eq!(mode & 0o060, 0o060, "{} must be the group's to write", file.display());
    }
}
