//! install.sh end to end: a temporary prefix, real bare repositories (one with a
//! post-receive hook of its own), real pushes with the git CLI, and a real HTTP receiver
//! on 127.0.0.1 that records what the installed hook sends.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_git-webhooks");
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/install.sh");

/// The hook that a repository had before git-webhooks: it appends its stdin to a file.
const EXISTING_HOOK: &str =
    "#!/bin/sh\n# the team's own post-receive hook\ncat >> \"$(dirname \"$0\")/../received.log\"\nexit 3\n";

/// A temp dir that is also HOME, with the git environment pinned.
struct Sandbox {
    dir: tempfile::TempDir,
}

impl Sandbox {
    fn new() -> Sandbox {
        Sandbox {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn command(&self, program: &str, cwd: &Path) -> Command {
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
            .env("GIT_WEBHOOKS_USER", "alice")
            .env("GIT_WEBHOOKS_CONFIG", self.path("no-system-config.toml"))
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .env_remove("REMOTE_USER")
            .env_remove("GL_USER");
        cmd
    }

    /// Runs git in `cwd`; panics on failure; returns stdout.
    fn git(&self, cwd: &Path, args: &[&str]) -> String {
        let out = self.command("git", cwd).args(args).output().unwrap();
        assert!(out.status.success(), "git {args:?} failed: {}", text(&out.stderr));
        text(&out.stdout).trim_end().to_string()
    }

    /// `git init --bare` at `rel`; returns its path.
    fn bare(&self, rel: &str) -> PathBuf {
        let path = self.path(rel);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        self.git(
            self.dir.path(),
            &["init", "-q", "--bare", "-b", "main", path.to_str().unwrap()],
        );
        path
    }

    /// Runs install.sh with `shell` and `args`, without a terminal.
    fn install_with(&self, shell: &str, args: &[&str]) -> Output {
        self.command(shell, self.dir.path())
            .arg(SCRIPT)
            .args(args)
            .output()
            .unwrap()
    }

    fn install(&self, args: &[&str]) -> Output {
        self.install_with("bash", args)
    }

    /// install.sh that must succeed; returns its stdout.
    fn install_ok(&self, args: &[&str]) -> String {
        let out = self.install(args);
        assert!(
            out.status.success(),
            "install.sh {args:?} failed ({}):\n{}\n{}",
            out.status,
            text(&out.stdout),
            text(&out.stderr)
        );
        text(&out.stdout)
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// One request as the receiver saw it.
#[derive(Debug)]
struct Request {
    headers: Vec<(String, String)>,
    body: String,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// A receiver on 127.0.0.1 that answers 200 and passes each request on.
fn receiver() -> (String, mpsc::Receiver<Request>) {
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

fn wait_for(rx: &mpsc::Receiver<Request>, n: usize) -> Vec<Request> {
    (0..n)
        .map(|i| {
            rx.recv_timeout(Duration::from_secs(30))
                .unwrap_or_else(|_| panic!("the receiver got {i} requests, expected {n}"))
        })
        .collect()
}

/// What a directory holds, entry by entry: contents, link targets, modes, mtimes, inodes.
#[derive(Debug, PartialEq)]
enum Entry {
    File {
        bytes: Vec<u8>,
        mode: u32,
        mtime: (i64, i64),
        ino: u64,
    },
    Link(PathBuf),
    Dir,
}

fn snapshot(dir: &Path) -> BTreeMap<String, Entry> {
    let mut entries = BTreeMap::new();
    for entry in fs::read_dir(dir).unwrap() {
        let entry = entry.unwrap();
        let path = entry.path();
        let meta = fs::symlink_metadata(&path).unwrap();
        let value = if meta.file_type().is_symlink() {
            Entry::Link(fs::read_link(&path).unwrap())
        } else if meta.is_dir() {
            Entry::Dir
        } else {
            Entry::File {
                bytes: fs::read(&path).unwrap(),
                mode: meta.mode(),
                mtime: (meta.mtime(), meta.mtime_nsec()),
                ino: meta.ino(),
            }
        };
        entries.insert(entry.file_name().to_string_lossy().into_owned(), value);
    }
    entries
}

fn exists(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

fn write_hook(path: &Path, body: &str) {
    fs::write(path, body).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn hook_config(url: &str) -> String {
    format!("[[hook]]\nname = \"receiver\"\nurl = \"{url}\"\n")
}

#[test]
fn install_chains_an_existing_hook_twice_changes_nothing_and_uninstall_restores() {
    let sb = Sandbox::new();
    let (url, rx) = receiver();
    let alpha = sb.bare("alpha.git");
    let beta = sb.bare("beta.git");
    for repo in [&alpha, &beta] {
        fs::write(repo.join("webhooks.toml"), hook_config(&url)).unwrap();
    }
    write_hook(&alpha.join("hooks/post-receive"), EXISTING_HOOK);
    let before_alpha = snapshot(&alpha.join("hooks"));
    let before_beta = snapshot(&beta.join("hooks"));

    let prefix = sb.path("prefix");
    let p = prefix.to_str().unwrap();
    let (a, b) = (alpha.to_str().unwrap(), beta.to_str().unwrap());
    let args = ["--prefix", p, "--binary", BIN, "--repo", a, "--repo", b];
    let out = sb.install_ok(&args);
    let installed = prefix.join("bin/git-webhooks");
    assert_eq!(
        fs::read(&installed).unwrap(),
        fs::read(BIN).unwrap(),
        "the binary is installed as is"
    );
    assert_eq!(fs::metadata(&installed).unwrap().mode() & 0o777, 0o755);
    assert!(out.contains("chained with the existing hook"), "{out}");
    assert!(out.contains("installed ("), "{out}");

    // beta had no hook: it is now a link to the installed binary.
    assert_eq!(fs::read_link(beta.join("hooks/post-receive")).unwrap(), installed);
    // alpha's hook is kept, byte for byte and with its mode, and a wrapper runs it.
    let saved = alpha.join("hooks/post-receive.before-git-webhooks");
    assert_eq!(fs::read_to_string(&saved).unwrap(), EXISTING_HOOK);
    assert_eq!(fs::metadata(&saved).unwrap().mode() & 0o777, 0o755);
    let wrapper = fs::read_to_string(alpha.join("hooks/post-receive")).unwrap();
    assert!(wrapper.starts_with("#!/bin/sh\n# git-webhooks-wrapper:"), "{wrapper}");

    // Real pushes: two refs at once into alpha, one into beta.
    let work = sb.path("work");
    sb.git(sb.dir.path(), &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    sb.git(&work, &["commit", "-q", "--allow-empty", "-m", "First"]);
    sb.git(&work, &["branch", "feature"]);
    sb.git(&work, &["commit", "-q", "--allow-empty", "-m", "Second"]);
    let main = sb.git(&work, &["rev-parse", "main"]);
    let feature = sb.git(&work, &["rev-parse", "feature"]);
    sb.git(&work, &["push", "-q", a, "main", "feature"]);
    let mut got = wait_for(&rx, 2);
    sb.git(&work, &["push", "-q", b, "main"]);
    got.extend(wait_for(&rx, 1));

    // The existing hook got the full stdin: both lines.
    let zero = "0".repeat(main.len());
    let log = fs::read_to_string(alpha.join("received.log")).unwrap();
    let mut lines: Vec<String> = log.lines().map(String::from).collect();
    let mut expected = vec![
        format!("{zero} {feature} refs/heads/feature"),
        format!("{zero} {main} refs/heads/main"),
    ];
    lines.sort();
    expected.sort();
    assert_eq!(lines, expected, "the existing hook's stdin");
    // git-webhooks got it too: one Push Hook per branch in alpha, one in beta.
    for r in &got {
        assert_eq!(r.header("X-AtomGit-Event"), Some("Push Hook"), "{r:?}");
    }
    let alpha_bodies: Vec<&Request> = got.iter().filter(|r| r.body.contains("alpha")).collect();
    assert_eq!(alpha_bodies.len(), 2, "{got:?}");
    assert!(alpha_bodies.iter().any(|r| r.body.contains("refs/heads/feature")));
    assert!(alpha_bodies.iter().any(|r| r.body.contains("refs/heads/main")));
    assert!(
        got[2].body.contains("beta") && got[2].body.contains("refs/heads/main"),
        "{:?}",
        got[2]
    );

    // The wrapper run by hand: both hooks read the same stdin; its status is the existing hook's.
    let line = format!("{zero} {main} refs/heads/main\n");
    let mut child = sb
        .command(alpha.join("hooks/post-receive").to_str().unwrap(), &alpha)
        .env("GIT_DIR", ".")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(line.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out.stderr));
    assert!(fs::read_to_string(alpha.join("received.log")).unwrap().ends_with(&line));
    let again = wait_for(&rx, 1);
    assert!(again[0].body.contains("alpha") && again[0].body.contains("refs/heads/main"));

    // Installing twice changes nothing: same bytes, links, modes, mtimes and inodes.
    let snap = |dir: &Path| snapshot(dir);
    let (first_alpha, first_beta, first_bin) = (
        snap(&alpha.join("hooks")),
        snap(&beta.join("hooks")),
        snap(&prefix.join("bin")),
    );
    let out = sb.install_ok(&args);
    assert!(out.contains("is up to date"), "{out}");
    assert_eq!(out.matches("already installed").count(), 2, "{out}");
    assert_eq!(snap(&alpha.join("hooks")), first_alpha);
    assert_eq!(snap(&beta.join("hooks")), first_beta);
    assert_eq!(snap(&prefix.join("bin")), first_bin);

    // Uninstall puts back exactly what was there; the binary stays.
    let out = sb.install_ok(&["--prefix", p, "--uninstall", "--repo", a, "--repo", b]);
    assert!(out.contains("restored"), "{out}");
    assert_eq!(snapshot(&alpha.join("hooks")), before_alpha);
    assert_eq!(snapshot(&beta.join("hooks")), before_beta);
    assert_eq!(
        fs::read_to_string(alpha.join("hooks/post-receive")).unwrap(),
        EXISTING_HOOK
    );
    assert!(!exists(&beta.join("hooks/post-receive")));
    assert!(installed.exists());

    // A second uninstall changes nothing; --remove-binary takes the binary away.
    let out = sb.install_ok(&[
        "--prefix",
        p,
        "--uninstall",
        "--remove-binary",
        "--repo",
        a,
        "--repo",
        b,
    ]);
    assert!(out.contains("not git-webhooks' hook; left untouched"), "{out}");
    assert!(out.contains("not installed, nothing to do"), "{out}");
    assert_eq!(snapshot(&alpha.join("hooks")), before_alpha);
    assert_eq!(snapshot(&beta.join("hooks")), before_beta);
    assert!(!exists(&installed));
}

#[test]
fn all_finds_the_bare_repositories_under_a_root() {
    let sb = Sandbox::new();
    let top = sb.bare("srv/top.git");
    let one = sb.bare("srv/group/one.git");
    let two = sb.bare("srv/group/sub/two");
    // Not looked for: a repository inside another repository's directory, and the
    // .git of a working tree.
    let inside = sb.bare("srv/group/one.git/inside.git");
    let work = sb.path("srv/work");
    sb.git(sb.dir.path(), &["init", "-q", work.to_str().unwrap()]);
    fs::create_dir_all(sb.path("srv/empty")).unwrap();
    write_hook(&one.join("hooks/post-receive"), EXISTING_HOOK);

    let prefix = sb.path("prefix");
    let p = prefix.to_str().unwrap();
    let root = sb.path("srv");
    let root = root.to_str().unwrap();
    // Also under a POSIX sh, not only bash.
    let out = sb.install_with("sh", &["--prefix", p, "--binary", BIN, "--all", root]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let installed = prefix.join("bin/git-webhooks");
    for repo in [&top, &two] {
        assert_eq!(
            fs::read_link(repo.join("hooks/post-receive")).unwrap(),
            installed,
            "{}",
            repo.display()
        );
    }
    assert!(fs::read_to_string(one.join("hooks/post-receive"))
        .unwrap()
        .contains("# git-webhooks-wrapper:"));
    assert_eq!(
        fs::read_to_string(one.join("hooks/post-receive.before-git-webhooks")).unwrap(),
        EXISTING_HOOK
    );
    assert!(
        !exists(&inside.join("hooks/post-receive")),
        "a repository inside a repository is left alone"
    );
    assert!(
        !exists(&work.join(".git/hooks/post-receive")),
        "a working tree's .git is left alone"
    );

    let out = sb.install_ok(&["--prefix", p, "--uninstall", "--all", root]);
    assert_eq!(out.matches("removed").count(), 2, "{out}");
    assert_eq!(out.matches("restored").count(), 1, "{out}");
    assert!(!exists(&top.join("hooks/post-receive")));
    assert!(!exists(&two.join("hooks/post-receive")));
    assert_eq!(
        fs::read_to_string(one.join("hooks/post-receive")).unwrap(),
        EXISTING_HOOK
    );
    assert!(!exists(&one.join("hooks/post-receive.before-git-webhooks")));
}

#[test]
fn a_path_that_is_not_a_repository_stops_everything() {
    let sb = Sandbox::new();
    let good = sb.bare("good.git");
    let typo = sb.path("goood.git");
    let prefix = sb.path("prefix");
    let out = sb.install(&[
        "--prefix",
        prefix.to_str().unwrap(),
        "--binary",
        BIN,
        "--repo",
        good.to_str().unwrap(),
        "--repo",
        typo.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains(typo.to_str().unwrap()) && err.contains("not a git repository"),
        "{err}"
    );
    assert!(err.contains("nothing was changed"), "{err}");
    assert!(!exists(&prefix), "nothing is installed");
    assert!(!exists(&good.join("hooks/post-receive")), "no repository is changed");
}

#[test]
fn a_hook_that_is_not_ours_is_never_overwritten() {
    let sb = Sandbox::new();
    let repo = sb.bare("busy.git");
    let hooks = repo.join("hooks");
    write_hook(&hooks.join("post-receive"), EXISTING_HOOK);
    // A file already has the name the existing hook would be kept under.
    write_hook(
        &hooks.join("post-receive.before-git-webhooks"),
        "#!/bin/sh\necho something else\n",
    );
    let before = snapshot(&hooks);
    let prefix = sb.path("prefix");
    let (p, r) = (prefix.to_str().unwrap(), repo.to_str().unwrap());

    let out = sb.install(&["--prefix", p, "--binary", BIN, "--repo", r]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("post-receive.before-git-webhooks"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(snapshot(&hooks), before);

    let out = sb.install_ok(&["--prefix", p, "--uninstall", "--repo", r]);
    assert!(out.contains("left untouched"), "{out}");
    assert_eq!(snapshot(&hooks), before);
}

#[test]
fn help_and_bad_arguments() {
    let sb = Sandbox::new();
    let out = sb.install_ok(&["--help"]);
    for word in [
        "--prefix",
        "--binary",
        "--repo",
        "--all",
        "--uninstall",
        "--remove-binary",
    ] {
        assert!(out.contains(word), "--help mentions {word}");
    }
    let out = sb.install(&["--frobnicate"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--frobnicate"));
    let out = sb.install(&["--uninstall"]);
    assert!(!out.status.success());
    assert!(text(&out.stderr).contains("--repo"));
}

#[test]
fn redeliver_all_sends_what_a_push_could_not() {
    const REDELIVER_ALL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/hooks/redeliver-all.sh");
    let sb = Sandbox::new();
    let pending = sb.bare("srv/group/pending.git");
    // A broken config: running redeliver here would fail, so the script must skip it.
    let idle = sb.bare("srv/idle.git");
    fs::write(idle.join("webhooks.toml"), "[[hook]]\nurl = 42\n").unwrap();

    // Push while the receiver is down: the delivery is kept in the outbox.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let config = |url: &str| format!("[delivery]\nbudget = 1\n\n{}", hook_config(url));
    fs::write(pending.join("webhooks.toml"), config(&down)).unwrap();
    let prefix = sb.path("prefix");
    let p = prefix.to_str().unwrap();
    sb.install_ok(&["--prefix", p, "--binary", BIN, "--repo", pending.to_str().unwrap()]);
    let work = sb.path("work");
    sb.git(sb.dir.path(), &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    sb.git(
        &work,
        &["commit", "-q", "--allow-empty", "-m", "While the receiver is down"],
    );
    sb.git(&work, &["push", "-q", pending.to_str().unwrap(), "main"]);
    assert!(pending.join("webhooks/outbox").is_dir(), "the failed delivery is kept");

    // The receiver is back (at a new address); the script sends what was kept.
    let (url, rx) = receiver();
    fs::write(pending.join("webhooks.toml"), config(&url)).unwrap();
    let installed = prefix.join("bin/git-webhooks");
    let out = sb
        .command("sh", sb.dir.path())
        .arg(REDELIVER_ALL)
        .arg(sb.path("srv"))
        .env("GIT_WEBHOOKS", &installed)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let got = wait_for(&rx, 1);
    assert_eq!(got[0].header("X-AtomGit-Event"), Some("Push Hook"));
    assert!(got[0].body.contains("While the receiver is down"), "{}", got[0].body);
}

/// Exactly one request, then none: the push ran git-webhooks once. Deliveries happen
/// while the push waits for its hook, so a second run would have sent by now.
fn exactly_one(rx: &mpsc::Receiver<Request>, what: &str) -> Request {
    let first = rx
        .recv_timeout(Duration::from_secs(30))
        .unwrap_or_else(|_| panic!("{what}: the receiver got nothing"));
    if let Ok(second) = rx.recv_timeout(Duration::from_secs(1)) {
        panic!("{what}: git-webhooks ran twice:\n{first:?}\n{second:?}");
    }
    first
}

/// A new commit pushed from `work` (made on first use) into `repo`, with `path` as PATH.
fn push_with_path(sb: &Sandbox, work: &Path, repo: &Path, path: &str) {
    if !work.exists() {
        sb.git(sb.dir.path(), &["init", "-q", "-b", "main", work.to_str().unwrap()]);
    }
    sb.git(work, &["commit", "-q", "--allow-empty", "-m", "A change"]);
    let out = sb
        .command("git", work)
        .args(["push", "-q", repo.to_str().unwrap(), "main"])
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(out.status.success(), "push: {}", text(&out.stderr));
}

/// PATH with the installed binary's directory first.
fn path_with(bin: &Path) -> String {
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default())
}

#[test]
fn hooks_that_already_run_git_webhooks_are_left_alone_and_send_once() {
    let sb = Sandbox::new();
    let (url, rx) = receiver();
    let prefix = sb.path("prefix");
    let p = prefix.to_str().unwrap();
    sb.install_ok(&["--prefix", p, "--binary", BIN]);
    let installed = prefix.join("bin/git-webhooks");
    // A directory of shared hooks, as gitolite's LOCAL_CODE hooks/common: its
    // post-receive is a link to the binary, and a repository's hook links to it.
    let shared = sb.path("shared-hooks");
    fs::create_dir_all(&shared).unwrap();
    std::os::unix::fs::symlink(&installed, shared.join("post-receive")).unwrap();

    let chain = sb.bare("srv/chain.git");
    std::os::unix::fs::symlink(shared.join("post-receive"), chain.join("hooks/post-receive")).unwrap();
    // The script of docs/setup.md, with the binary's full path, and found on PATH.
    let full = sb.bare("srv/full.git");
    write_hook(
        &full.join("hooks/post-receive"),
        &format!("#!/bin/sh\nexec {} hook\n", installed.display()),
    );
    let on_path = sb.bare("srv/on-path.git");
    write_hook(
        &on_path.join("hooks/post-receive"),
        "#!/bin/sh\n# send the push's events\nexec git-webhooks hook\n",
    );
    let repos = [&chain, &full, &on_path];
    for r in repos {
        fs::write(r.join("webhooks.toml"), hook_config(&url)).unwrap();
    }
    let before: Vec<_> = repos.iter().map(|r| snapshot(&r.join("hooks"))).collect();

    let root = sb.path("srv");
    let out = sb.install_ok(&["--prefix", p, "--binary", BIN, "--all", root.to_str().unwrap()]);
    assert_eq!(out.matches("already runs git-webhooks: ").count(), 3, "{out}");
    assert_eq!(out.matches("; nothing changed").count(), 3, "{out}");
    assert!(!out.contains("chained"), "{out}");
    for (r, b) in repos.iter().zip(&before) {
        assert_eq!(&snapshot(&r.join("hooks")), b, "{}: the hook was changed", r.display());
    }
    // --repo says the same.
    let out = sb.install_ok(&["--prefix", p, "--binary", BIN, "--repo", chain.to_str().unwrap()]);
    assert!(
        out.contains(&format!(
            "already runs git-webhooks: {}",
            chain.join("hooks/post-receive").display()
        )),
        "{out}"
    );

    let path = path_with(&prefix.join("bin"));
    for (i, r) in repos.iter().enumerate() {
        push_with_path(&sb, &sb.path(&format!("work{i}")), r, &path);
        let got = exactly_one(&rx, &r.display().to_string());
        assert_eq!(got.header("X-AtomGit-Event"), Some("Push Hook"), "{got:?}");
    }
}

#[test]
fn leftovers_of_earlier_installs_are_recovered() {
    let sb = Sandbox::new();
    let (url, rx) = receiver();
    let prefix = sb.path("prefix");
    let p = prefix.to_str().unwrap();
    let installed = prefix.join("bin/git-webhooks");
    let shared = sb.path("shared-hooks");
    fs::create_dir_all(&shared).unwrap();
    std::os::unix::fs::symlink(&installed, shared.join("post-receive")).unwrap();
    let shared_hook = shared.join("post-receive");
    const KEPT: &str = "post-receive.before-git-webhooks";

    // The wrapper install.sh writes, taken from a repository where it chains a hook.
    let scratch = sb.bare("scratch.git");
    write_hook(&scratch.join("hooks/post-receive"), EXISTING_HOOK);
    sb.install_ok(&["--prefix", p, "--binary", BIN, "--repo", scratch.to_str().unwrap()]);
    let wrapper = fs::read(scratch.join("hooks/post-receive")).unwrap();

    // A wrapper chained in front of a hook that already ran git-webhooks: every push ran
    // it twice.
    let double = sb.bare("srv/double.git");
    fs::write(double.join("hooks/post-receive"), &wrapper).unwrap();
    fs::set_permissions(double.join("hooks/post-receive"), fs::Permissions::from_mode(0o755)).unwrap();
    std::os::unix::fs::symlink(&shared_hook, double.join("hooks").join(KEPT)).unwrap();
    // The same after something else (gitolite's setup) put its link back over the
    // wrapper: the kept hook is left behind.
    let replaced = sb.bare("srv/replaced.git");
    std::os::unix::fs::symlink(&shared_hook, replaced.join("hooks/post-receive")).unwrap();
    std::os::unix::fs::symlink(&shared_hook, replaced.join("hooks").join(KEPT)).unwrap();
    // The team's hook put back over git-webhooks' link, which was kept.
    let mine = sb.bare("srv/mine.git");
    write_hook(&mine.join("hooks/post-receive"), EXISTING_HOOK);
    std::os::unix::fs::symlink(&installed, mine.join("hooks").join(KEPT)).unwrap();
    // A kept hook that is nothing install.sh can recognise, behind a hook that already
    // runs git-webhooks: left where it is, with a warning.
    let unknown = sb.bare("srv/unknown.git");
    std::os::unix::fs::symlink(&shared_hook, unknown.join("hooks/post-receive")).unwrap();
    write_hook(&unknown.join("hooks").join(KEPT), "#!/bin/sh\necho an old notifier\n");
    let unknown_before = snapshot(&unknown.join("hooks"));
    for r in [&double, &replaced, &mine, &unknown] {
        fs::write(r.join("webhooks.toml"), hook_config(&url)).unwrap();
    }

    let root = sb.path("srv");
    let args = ["--prefix", p, "--binary", BIN, "--all", root.to_str().unwrap()];
    let out = sb.install(&args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("already runs git-webhooks, so the wrapper ran it twice"),
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("left over from an earlier install").count(),
        2,
        "{stdout}"
    );
    assert!(
        stderr.contains("left over from an earlier install and nothing runs it"),
        "{stderr}"
    );

    // double: the kept hook is back in place, and runs git-webhooks once.
    assert_eq!(fs::read_link(double.join("hooks/post-receive")).unwrap(), shared_hook);
    assert!(!exists(&double.join("hooks").join(KEPT)));
    // replaced: the leftover is gone, gitolite's link is untouched.
    assert_eq!(fs::read_link(replaced.join("hooks/post-receive")).unwrap(), shared_hook);
    assert!(!exists(&replaced.join("hooks").join(KEPT)));
    // mine: chained as usual.
    assert_eq!(
        fs::read_to_string(mine.join("hooks").join(KEPT)).unwrap(),
        EXISTING_HOOK
    );
    assert!(fs::read_to_string(mine.join("hooks/post-receive"))
        .unwrap()
        .contains("# git-webhooks-wrapper:"));
    // unknown: nothing changed.
    assert_eq!(snapshot(&unknown.join("hooks")), unknown_before);

    for (i, r) in [&double, &replaced, &mine, &unknown].iter().enumerate() {
        push_with_path(&sb, &sb.path(&format!("work{i}")), r, &std::env::var("PATH").unwrap());
        exactly_one(&rx, &r.display().to_string());
    }

    // And the next run changes nothing.
    let hooks: Vec<_> = [&double, &replaced, &mine, &unknown]
        .iter()
        .map(|r| snapshot(&r.join("hooks")))
        .collect();
    sb.install_ok(&args);
    for (r, h) in [&double, &replaced, &mine, &unknown].iter().zip(&hooks) {
        assert_eq!(&snapshot(&r.join("hooks")), h, "{}", r.display());
    }
}
