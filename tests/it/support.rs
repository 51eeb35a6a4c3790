//! Test scaffolding: real bare repositories pushed to with the real git CLI, and a real
//! HTTP receiver on 127.0.0.1 that records what arrives and answers as scripted.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_git-webhooks");
pub const ZERO: &str = "0000000000000000000000000000000000000000";

/// A temp dir with a bare repository (hook installed) and a work clone.
pub struct Repo {
    pub dir: tempfile::TempDir,
    pub bare: PathBuf,
    pub work: PathBuf,
    clock: AtomicU64,
}

fn base_env(cmd: &mut Command, home: &Path) {
    cmd.env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("TZ", "UTC")
        .env("LC_ALL", "C")
        .env("GIT_AUTHOR_NAME", "A U Thor")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "C O Mitter")
        .env("GIT_COMMITTER_EMAIL", "committer@example.com")
        .env("GIT_WEBHOOKS_USER", "alice")
        .env("GIT_WEBHOOKS_CONFIG", home.join("system-webhooks.toml"))
        .env_remove("GIT_DIR")
        .env_remove("REMOTE_USER")
        .env_remove("GL_USER");
}

impl Repo {
    /// A bare repository with git-webhooks as its post-receive hook, and an empty clone.
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let bare = dir.path().join("project.git");
        let work = dir.path().join("work");
        let repo = Repo {
            bare,
            work,
            dir,
            clock: AtomicU64::new(1_700_000_000),
        };
        repo.git_in(repo.dir.path(), &["init", "-q", "--bare", "-b", "main", "project.git"]);
        repo.git_in(repo.dir.path(), &["init", "-q", "-b", "main", "work"]);
        repo.git(&["remote", "add", "origin", repo.bare.to_str().unwrap()]);
        std::os::unix::fs::symlink(BIN, repo.bare.join("hooks/post-receive")).unwrap();
        repo
    }

    /// Runs git in `dir`; panics on failure; returns stdout.
    pub fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.command("git", dir).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    }

    /// A command with the pinned environment.
    pub fn command(&self, program: &str, dir: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(dir);
        base_env(&mut cmd, self.dir.path());
        let t = self.clock.fetch_add(60, Ordering::SeqCst);
        cmd.env("GIT_AUTHOR_DATE", format!("@{t} +0800"))
            .env("GIT_COMMITTER_DATE", format!("@{t} +0800"));
        cmd
    }

    /// git in the work clone.
    pub fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.work, args)
    }

    /// git in the bare repository.
    pub fn bare_git(&self, args: &[&str]) -> String {
        self.git_in(&self.bare, args)
    }

    /// An empty commit with this message; returns its id.
    pub fn commit(&self, message: &str) -> String {
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// `n` commits named `prefix 1..n`; returns the last id.
    pub fn commits(&self, prefix: &str, n: usize) -> String {
        let mut last = String::new();
        for i in 1..=n {
            last = self.commit(&format!("{prefix} {i}"));
        }
        last
    }

    /// `git push` from the clone; returns its output (stderr holds the `remote:` lines).
    pub fn push(&self, args: &[&str]) -> Output {
        let mut full = vec!["push"];
        full.extend_from_slice(args);
        let out = self.command("git", &self.work).args(&full).output().unwrap();
        assert!(
            out.status.success(),
            "git push {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    /// Writes the system-wide config file that every command of this test reads.
    pub fn system_config(&self, text: &str) {
        std::fs::write(self.dir.path().join("system-webhooks.toml"), text).unwrap();
    }

    /// Writes the repository's webhooks.toml.
    pub fn config(&self, text: &str) {
        std::fs::write(self.bare.join("webhooks.toml"), text).unwrap();
    }

    /// A minimal config: one hook to `url`.
    pub fn hook_to(&self, url: &str) {
        self.config(&format!("[repository]\nhomepage = \"https://git.example.com/demo/project\"\n\n[[hook]]\nname = \"ci\"\nurl = \"{url}\"\n"));
    }

    /// Runs the binary with `--repo BARE` and these arguments, feeding `stdin`.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut cmd = self.command(BIN, self.dir.path());
        cmd.args(args)
            .arg("--repo")
            .arg(&self.bare)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    }

    /// `replay --dry-run` of the stdin lines, parsed.
    pub fn dry_run(&self, stdin: &str) -> Vec<Value> {
        let out = self.run(&["replay", "--dry-run"], stdin);
        assert!(
            out.status.success(),
            "dry run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }
}

/// How the receiver answers one request.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    Status(u16),
    WithHeader(u16, &'static str, &'static str),
    After(Duration, u16),
    Silent,
    Reset,
}

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
pub struct Request {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// The raw request as text, for searching.
    pub fn text(&self) -> String {
        let headers: Vec<String> = self.headers.iter().map(|(n, v)| format!("{n}: {v}")).collect();
        format!(
            "{}\n{}\n{}",
            self.path,
            headers.join("\n"),
            String::from_utf8_lossy(&self.body)
        )
    }
}

/// A recording HTTP/1.1 receiver on 127.0.0.1 (keep-alive, Content-Length bodies).
#[derive(Clone)]
pub struct Receiver {
    pub port: u16,
    requests: Arc<Mutex<Vec<Request>>>,
    script: Arc<Mutex<VecDeque<Answer>>>,
    default: Arc<Mutex<Answer>>,
    pub connections: Arc<AtomicU64>,
    busy: Arc<AtomicU64>,
    pub most_busy: Arc<AtomicU64>,
}

impl Receiver {
    /// Answers 200 unless scripted otherwise.
    pub fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let receiver = Receiver {
            port: listener.local_addr().unwrap().port(),
            requests: Default::default(),
            script: Default::default(),
            default: Arc::new(Mutex::new(Answer::Status(200))),
            connections: Default::default(),
            busy: Default::default(),
            most_busy: Default::default(),
        };
        let r = receiver.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                r.connections.fetch_add(1, Ordering::SeqCst);
                let r = r.clone();
                std::thread::spawn(move || r.serve(stream));
            }
        });
        receiver
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Answers for the next requests, in order; then the default.
    pub fn script(&self, answers: &[Answer]) {
        self.script.lock().unwrap().extend(answers.iter().cloned());
    }

    /// The answer once the script is used up.
    pub fn always(&self, answer: Answer) {
        *self.default.lock().unwrap() = answer;
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// Waits until `n` requests have arrived (or 20 s), then returns them all.
    pub fn wait_for(&self, n: usize) -> Vec<Request> {
        let start = Instant::now();
        while self.requests.lock().unwrap().len() < n && start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(10));
        }
        self.requests()
    }

    fn serve(&self, stream: TcpStream) {
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut headers = Vec::new();
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 {
                    return;
                }
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                let (n, v) = h.split_once(':').unwrap();
                headers.push((n.trim().to_string(), v.trim().to_string()));
            }
            let len: usize = headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .map_or(0, |(_, v)| v.parse().unwrap());
            let mut body = vec![0; len];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            let answer = self
                .script
                .lock()
                .unwrap()
                .pop_front()
                .unwrap_or_else(|| *self.default.lock().unwrap());
            self.requests.lock().unwrap().push(Request { path, headers, body });
            let reply = |status: u16, extra: &str| format!("HTTP/1.1 {status} X\r\nContent-Length: 2\r\n{extra}\r\nok");
            let text = match answer {
                Answer::Status(s) => reply(s, ""),
                Answer::WithHeader(s, n, v) => reply(s, &format!("{n}: {v}\r\n")),
                Answer::After(d, s) => {
                    let now = self.busy.fetch_add(1, Ordering::SeqCst) + 1;
                    self.most_busy.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(d);
                    self.busy.fetch_sub(1, Ordering::SeqCst);
                    reply(s, "")
                }
                Answer::Silent => {
                    std::thread::sleep(Duration::from_secs(120));
                    return;
                }
                Answer::Reset => {
                    let _ = writer.write_all(b"HTTP/1.1 200 OK\r\nContent-Le");
                    let _ = writer.shutdown(std::net::Shutdown::Both);
                    return;
                }
            };
            if writer.write_all(text.as_bytes()).is_err() {
                return;
            }
        }
    }
}

/// stderr of an output as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `git rev-list` in the bare repo: the oracle for commit lists.
pub fn rev_list(repo: &Repo, args: &[&str]) -> Vec<String> {
    let mut full = vec!["rev-list"];
    full.extend_from_slice(args);
    let out = repo.bare_git(&full);
    out.lines().map(str::to_string).collect()
}

/// The ids of an event's commits.
pub fn commit_ids(event: &Value) -> Vec<String> {
    event["commits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect()
}

/// A script in `dir` that writes its arguments, one a line, to `out`: the command a
/// receiver under test runs.
pub fn recording_script(dir: &Path, out: &Path) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = dir.join("record-args.sh");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > '{}'\n", out.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

/// True when the tests run as root (as CI does): they may then create accounts.
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
}

/// The accounts `names` (and their group `group`), made once; false unless root.
pub fn accounts(group: &str, names: &[&str]) -> bool {
    if !is_root() {
        return false;
    }
    let _ = Command::new("groupadd").args(["-f", group]).status();
    for user in names {
        if !Command::new("id").arg(user).output().is_ok_and(|o| o.status.success()) {
            let _ = Command::new("useradd").args(["-M", "-G", group, user]).status();
        }
    }
    true
}

/// A port that was free a moment ago: nothing listens there.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Every file below `dir`, at any depth.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}
