//! Repositories and accounts: one shared by a Unix group (`git init --shared=group`)
//! and pushed to by two real accounts, root's commands on an account's repository, and
//! what another account or an unreadable file gets told.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::*;

const GROUP: &str = "gwshare";
const USERS: [&str; 2] = ["gwshare-a", "gwshare-b"];

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
    if !accounts(GROUP, &USERS) {
        eprintln!("skipped: creating the accounts of a shared repository needs root");
        return;
    }
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

/// The copy of the binary that every account of the test can run.
fn bin(shared: &Shared) -> PathBuf {
    shared.dir.path().join("git-webhooks")
}

/// The binary run by root, with `--repo` the shared repository.
fn as_root(shared: &Shared, args: &[&str]) -> Output {
    Command::new(bin(shared))
        .args(args)
        .arg("--repo")
        .arg(&shared.bare)
        .env("GIT_WEBHOOKS_CONFIG", shared.dir.path().join("no-system-config.toml"))
        .env_remove("GIT_DIR")
        .output()
        .unwrap()
}

#[test]
fn root_works_on_another_accounts_repository_as_its_owner_and_leaves_no_file_of_its_own() {
    if !accounts(GROUP, &USERS) {
        eprintln!("skipped: creating the accounts of a repository needs root");
        return;
    }
    let shared = Shared::new();
    let receiver = Receiver::start();
    std::fs::write(
        shared.bare.join("webhooks.toml"),
        format!("[[hook]]\nname = \"ci\"\nurl = \"{}\"\n", receiver.url("/")),
    )
    .unwrap();
    let (head, _) = shared.commit_and_push(USERS[0], "by a");
    assert_eq!(receiver.wait_for(1).len(), 1);
    let zero = "0".repeat(40);
    let replay = ["replay", &zero, &head, "refs/heads/main"];
    let dry = ["replay", "--dry-run", &zero, &head, "refs/heads/main"];
    for args in [
        &["check"][..],
        &["log"],
        &dry,
        &["test"],
        &replay,
        &["redeliver"],
        &["redeliver", "--dry-run"],
    ] {
        let out = as_root(&shared, args);
        assert!(out.status.success(), "{args:?} as root: {}", stderr(&out));
    }
    assert_eq!(receiver.wait_for(3).len(), 3, "test and replay were delivered");
    for file in files_under(&shared.bare.join("webhooks")) {
        let owner = std::fs::metadata(&file).unwrap().uid();
        assert_ne!(owner, 0, "{} belongs to root", file.display());
    }
}

#[test]
fn unreadable_files_and_foreign_repositories_say_what_is_wrong() {
    if !accounts(GROUP, &USERS) {
        eprintln!("skipped: creating the accounts of a repository needs root");
        return;
    }
    let shared = Shared::new();
    let b = USERS[1];
    let without_trust = shared.dir.path().join("plain-home");
    std::fs::create_dir(&without_trust).unwrap();
    let out = Command::new("setpriv")
        .args([&format!("--reuid={b}"), &format!("--regid={b}"), "--init-groups"])
        .arg(bin(&shared))
        .args(["check", "--repo"])
        .arg(&shared.bare)
        .env("HOME", &without_trust)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!("belongs to {}, not to {b}", USERS[0])) && err.contains("safe.directory"),
        "{err}"
    );

    let config = shared.bare.join("webhooks.toml");
    std::fs::write(&config, "[[hook]]\nurl = \"http://127.0.0.1:9/\"\n").unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    let out = as_root(&shared, &["check"]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("permission denied") && stderr(&out).contains("mode 600"),
        "{}",
        stderr(&out)
    );

    std::fs::remove_file(&config).unwrap();
    let webhooks = shared.bare.join("webhooks");
    std::fs::create_dir_all(&webhooks).unwrap();
    Command::new("chown").arg(USERS[0]).arg(&webhooks).status().unwrap();
    let log = webhooks.join("deliveries.log");
    std::fs::write(&log, "").unwrap();
    std::fs::set_permissions(&log, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = as_root(&shared, &["log"]);
    assert!(!out.status.success(), "an unreadable log is not an empty one");
    assert!(
        stderr(&out).contains("cannot read") && !stderr(&out).contains("no deliveries yet"),
        "{}",
        stderr(&out)
    );

    let outbox = webhooks.join("outbox");
    std::fs::create_dir(&outbox).unwrap();
    std::fs::set_permissions(&outbox, std::fs::Permissions::from_mode(0o000)).unwrap();
    for args in [
        &["redeliver"][..],
        &["redeliver", "--dry-run"],
        &["redeliver", "--dry-run", "--failed"],
    ] {
        let out = as_root(&shared, args);
        assert!(
            !out.status.success(),
            "{args:?}: an unreadable outbox is not an empty one"
        );
        assert!(stderr(&out).contains("cannot read"), "{args:?}: {}", stderr(&out));
    }
}
