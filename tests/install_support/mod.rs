//! What the tests of install.sh share: a temporary directory that is HOME for the commands
//! run in it, with their environment pinned; git and install.sh run there; a receiver on
//! 127.0.0.1 that records what an installed hook sends; Unix accounts, and commands run
//! as one of them.
//!
//! Each test binary includes this module and uses a part of it.
#![allow(dead_code)]

use std::ffi::{OsStr, OsString};
use std::fmt::Debug;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_git-webhooks");
pub const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/install.sh");
pub const REDELIVER_ALL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/hooks/redeliver-all.sh");
/// The name an existing post-receive hook is kept under when install.sh chains it.
pub const KEPT: &str = "post-receive.before-git-webhooks";

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

pub fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Writes `body` to `path` as an executable (mode 755).
pub fn write_hook(path: &Path, body: impl AsRef<[u8]>) {
    fs::write(path, body).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// `out`'s stdout; when it failed, panics with `message`, its stdout and its stderr.
fn stdout_of_success(out: &Output, message: String) -> String {
    assert!(
        out.status.success(),
        "{message}{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `out`'s stdout; panics, naming `what`, when it failed.
pub fn assert_ok(what: &str, out: &Output) -> String {
    stdout_of_success(out, format!("{what} failed ({}):\n", out.status))
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| text(&o.stdout).trim() == "0")
}

/// A temp dir that is also HOME for the commands run in it, with the git environment
/// pinned (and what a constructor or `set`/`unset` adds to it).
pub struct Sandbox {
    pub dir: tempfile::TempDir,
    env: Vec<(&'static str, Option<OsString>)>,
    shell: &'static str,
}

impl Sandbox {
    pub fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
            env: Vec::new(),
            shell: "sh",
        }
    }

    /// A sandbox every account can reach. Root's git trusts repositories of every owner
    /// there, as on servers where root manages them with git; nothing here may depend on
    /// that for its safety.
    pub fn shared() -> Sandbox {
        let sb = Sandbox::new();
        fs::set_permissions(sb.dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(sb.path(".gitconfig"), "[safe]\n\tdirectory = *\n").unwrap();
        sb
    }

    /// git-webhooks, run by the commands, takes alice for the pusher and reads no
    /// system-wide configuration.
    pub fn for_hooks(self) -> Sandbox {
        let config = self.path("no-system-config.toml");
        self.set("GIT_WEBHOOKS_USER", "alice")
            .set("GIT_WEBHOOKS_CONFIG", config)
    }

    /// The commands get `name` set to `value`.
    pub fn set(mut self, name: &'static str, value: impl AsRef<OsStr>) -> Sandbox {
        self.env.push((name, Some(value.as_ref().to_owned())));
        self
    }

    /// The commands do not inherit `name`.
    pub fn unset(mut self, name: &'static str) -> Sandbox {
        self.env.push((name, None));
        self
    }

    /// The shell that `install` runs install.sh with (sh unless told).
    pub fn shell(mut self, shell: &'static str) -> Sandbox {
        self.shell = shell;
        self
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    pub fn command(&self, program: impl AsRef<OsStr>, cwd: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(cwd)
            .stdin(Stdio::null())
            .env("HOME", self.dir.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("LC_ALL", "C")
            .env("GIT_AUTHOR_NAME", "A U Thor")
            .env("GIT_AUTHOR_EMAIL", "author@example.com")
            .env("GIT_COMMITTER_NAME", "C O Mitter")
            .env("GIT_COMMITTER_EMAIL", "committer@example.com")
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE");
        for (name, value) in &self.env {
            match value {
                Some(value) => cmd.env(name, value),
                None => cmd.env_remove(name),
            };
        }
        cmd
    }

    /// Runs git in `cwd`; panics on failure; returns stdout.
    pub fn git(&self, cwd: &Path, args: &[&str]) -> String {
        let out = self.command("git", cwd).args(args).output().unwrap();
        assert!(out.status.success(), "git {args:?} failed: {}", text(&out.stderr));
        text(&out.stdout).trim_end().to_string()
    }

    /// A new repository with a branch main at `work`.
    pub fn init(&self, work: &Path) {
        self.git(self.dir.path(), &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    }

    /// install.sh with `shell` and `args`, to run in the sandbox.
    pub fn install_command<S: AsRef<OsStr>>(&self, shell: &str, args: &[S]) -> Command {
        let mut cmd = self.command(shell, self.dir.path());
        cmd.arg(SCRIPT).args(args);
        cmd
    }

    /// Runs install.sh with `shell` and `args`, without a terminal.
    pub fn install_with<S: AsRef<OsStr>>(&self, shell: &str, args: &[S]) -> Output {
        self.install_command(shell, args).output().unwrap()
    }

    pub fn install<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        self.install_with(self.shell, args)
    }

    /// install.sh that must succeed; returns its stdout.
    pub fn install_ok<S: AsRef<OsStr> + Debug>(&self, args: &[S]) -> String {
        assert_ok(&format!("install.sh {args:?}"), &self.install(args))
    }

    /// The prefix that install.sh installs the binary under.
    pub fn prefix(&self) -> PathBuf {
        self.path("prefix")
    }

    /// The binary installed under the prefix, for the hooks to link to.
    pub fn installed(&self) -> PathBuf {
        self.prefix().join("bin/git-webhooks")
    }

    /// install.sh's arguments that install the binary under the prefix and the hook into
    /// every repository under `root`.
    pub fn all_args(&self, root: &Path) -> Vec<OsString> {
        let p = self.prefix();
        [
            os("--prefix"),
            p.as_os_str(),
            os("--binary"),
            os(BIN),
            os("--all"),
            root.as_os_str(),
        ]
        .into_iter()
        .map(OsStr::to_os_string)
        .collect()
    }

    /// install.sh's arguments that take the hook out of every repository under `root`.
    pub fn uninstall_all_args(&self, root: &Path) -> Vec<OsString> {
        let p = self.prefix();
        [
            os("--prefix"),
            p.as_os_str(),
            os("--uninstall"),
            os("--all"),
            root.as_os_str(),
        ]
        .into_iter()
        .map(OsStr::to_os_string)
        .collect()
    }

    /// A directory owned by `acct` (mode 755), made with its parents (those root's).
    pub fn dir_of(&self, rel: &str, acct: Option<&Account>) -> PathBuf {
        let path = self.path(rel);
        fs::create_dir_all(&path).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
        if let Some(a) = acct {
            std::os::unix::fs::chown(&path, Some(a.uid), Some(a.gid)).unwrap();
        }
        path
    }

    pub fn home(&self, acct: &Account) -> PathBuf {
        self.dir_of(&format!("home-{}", acct.name), Some(acct))
    }

    /// `program` run as `acct` (its user, group and supplementary groups), with its home.
    pub fn command_as(&self, acct: &Account, program: impl AsRef<OsStr>, cwd: &Path) -> Command {
        let mut cmd = self.command("setpriv", cwd);
        cmd.args(acct.setpriv()).arg(program).env("HOME", self.home(acct));
        cmd
    }

    /// A shell script run as `acct` with `args` as $1…; panics when it fails.
    pub fn sh_as(&self, acct: &Account, script: &str, args: &[&OsStr]) -> String {
        sh_ok(self.command_as(acct, "sh", self.dir.path()), acct, script, args)
    }
}

/// `sh -c script` with `args` as $1…, run by `sh` (a command that runs sh as `acct`);
/// panics when it fails; returns stdout.
pub fn sh_ok(mut sh: Command, acct: &Account, script: &str, args: &[&OsStr]) -> String {
    let out = sh.args(["-c", script, "sh"]).args(args).output().unwrap();
    stdout_of_success(&out, format!("as {}: {script}: ", acct.name))
}

/// A Unix account, created once (and left for later runs).
#[derive(Clone)]
pub struct Account {
    pub name: &'static str,
    pub uid: u32,
    pub gid: u32,
}

impl Account {
    /// setpriv's arguments that run the command after them as this account (its user,
    /// group and supplementary groups).
    pub fn setpriv(&self) -> [String; 4] {
        [
            format!("--reuid={}", self.uid),
            format!("--regid={}", self.gid),
            "--init-groups".into(),
            "--".into(),
        ]
    }
}

fn lookup(name: &str) -> Option<(u32, u32)> {
    let id = |flag: &str| -> Option<u32> {
        let out = Command::new("id").args([flag, name]).output().ok()?;
        if !out.status.success() {
            return None;
        }
        text(&out.stdout).trim().parse().ok()
    };
    Some((id("-u")?, id("-g")?))
}

/// The account `name`, made with `useradd` and `options` when it does not exist yet.
pub fn account(name: &'static str, options: &[&str]) -> Account {
    for _ in 0..100 {
        if let Some((uid, gid)) = lookup(name) {
            return Account { name, uid, gid };
        }
        // Several tests may create it at once; useradd then fails on the lock, or because
        // the account exists by now: look again.
        let _ = Command::new("useradd").args(options).arg(name).output();
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("cannot create the account {name} with useradd");
}

/// One request as the receiver saw it.
#[derive(Debug)]
pub struct Request {
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A receiver on 127.0.0.1 that answers 200 and passes each request on.
pub fn receiver() -> (String, mpsc::Receiver<Request>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://127.0.0.1:{}/hook", listener.local_addr().unwrap().port());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                continue;
            }
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim_end().is_empty() {
                    break;
                }
                if let Some((name, value)) = h.trim_end().split_once(':') {
                    headers.push((name.trim().to_string(), value.trim().to_string()));
                }
            }
            let length = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
            if tx
                .send(Request {
                    headers,
                    body: text(&body),
                })
                .is_err()
            {
                break;
            }
        }
    });
    (url, rx)
}

/// A URL where nothing listens.
pub fn down_url() -> String {
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    url
}

pub fn wait_for(rx: &mpsc::Receiver<Request>, n: usize) -> Vec<Request> {
    (0..n)
        .map(|i| {
            rx.recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("the receiver got {i} requests, expected {n}"))
        })
        .collect()
}

/// Exactly one request, then none: the push ran git-webhooks once. Deliveries happen
/// while the push waits for its hook, so a second run would have sent by now.
pub fn exactly_one(rx: &mpsc::Receiver<Request>, what: &str) -> Request {
    let first = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{what}: the receiver got nothing"));
    if let Ok(second) = rx.recv_timeout(Duration::from_secs(1)) {
        panic!("{what}: git-webhooks ran twice:\n{first:?}\n{second:?}");
    }
    first
}
