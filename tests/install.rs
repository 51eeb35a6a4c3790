//! install.sh end to end: a temporary prefix, real bare repositories (one with a
//! post-receive hook of its own), real pushes with the git CLI, and a real HTTP receiver
//! on 127.0.0.1 that records what the installed hook sends.

mod install_support;

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use install_support::{
    down_url, exactly_one, exists, receiver, text, wait_for, write_hook, Request, Sandbox, BIN, KEPT, REDELIVER_ALL,
};

/// The hook that a repository had before git-webhooks: it appends its stdin to a file.
const EXISTING_HOOK: &str =
    "#!/bin/sh\n# the team's own post-receive hook\ncat >> \"$(dirname \"$0\")/../received.log\"\nexit 3\n";

/// A temp dir that is also HOME, with the git environment pinned; install.sh runs under bash.
fn sandbox() -> Sandbox {
    Sandbox::new()
        .for_hooks()
        .unset("REMOTE_USER")
        .unset("GL_USER")
        .shell("bash")
}

impl Sandbox {
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

/// A directory of shared hooks, as gitolite's LOCAL_CODE hooks/common, whose post-receive
/// is a link to the installed binary; returns that post-receive.
fn shared_hook(sb: &Sandbox) -> PathBuf {
    let shared = sb.path("shared-hooks");
    fs::create_dir_all(&shared).unwrap();
    std::os::unix::fs::symlink(sb.installed(), shared.join("post-receive")).unwrap();
    shared.join("post-receive")
}

fn hook_config(url: &str) -> String {
    format!("[[hook]]\nname = \"receiver\"\nurl = \"{url}\"\n")
}

#[test]
fn install_chains_an_existing_hook_twice_changes_nothing_and_uninstall_restores() {
    let sb = sandbox();
    let (url, rx) = receiver();
    let alpha = sb.bare("alpha.git");
    let beta = sb.bare("beta.git");
    for repo in [&alpha, &beta] {
        fs::write(repo.join("webhooks.toml"), hook_config(&url)).unwrap();
    }
    write_hook(&alpha.join("hooks/post-receive"), EXISTING_HOOK);
    let before_alpha = snapshot(&alpha.join("hooks"));
    let before_beta = snapshot(&beta.join("hooks"));

    let prefix = sb.prefix();
    let p = prefix.to_str().unwrap();
    let (a, b) = (alpha.to_str().unwrap(), beta.to_str().unwrap());
    let args = ["--prefix", p, "--binary", BIN, "--repo", a, "--repo", b];
    let out = sb.install_ok(&args);
    let installed = sb.installed();
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
    sb.init(&work);
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
    let sb = sandbox();
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

    let prefix = sb.prefix();
    let p = prefix.to_str().unwrap();
    let root = sb.path("srv");
    let root = root.to_str().unwrap();
    // Also under a POSIX sh, not only bash.
    let out = sb.install_with("sh", &["--prefix", p, "--binary", BIN, "--all", root]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let installed = sb.installed();
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
    let sb = sandbox();
    let good = sb.bare("good.git");
    let typo = sb.path("goood.git");
    let prefix = sb.prefix();
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
    let sb = sandbox();
    let repo = sb.bare("busy.git");
    let hooks = repo.join("hooks");
    write_hook(&hooks.join("post-receive"), EXISTING_HOOK);
    // A file already has the name the existing hook would be kept under.
    write_hook(
        &hooks.join("post-receive.before-git-webhooks"),
        "#!/bin/sh\necho something else\n",
    );
    let before = snapshot(&hooks);
    let prefix = sb.prefix();
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
    let sb = sandbox();
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
    let sb = sandbox();
    let pending = sb.bare("srv/group/pending.git");
    // A broken config: running redeliver here would fail, so the script must skip it.
    let idle = sb.bare("srv/idle.git");
    fs::write(idle.join("webhooks.toml"), "[[hook]]\nurl = 42\n").unwrap();

    // Push while the receiver is down: the delivery is kept in the outbox.
    let down = down_url();
    let config = |url: &str| format!("[delivery]\nbudget = 1\n\n{}", hook_config(url));
    fs::write(pending.join("webhooks.toml"), config(&down)).unwrap();
    let prefix = sb.prefix();
    let p = prefix.to_str().unwrap();
    sb.install_ok(&["--prefix", p, "--binary", BIN, "--repo", pending.to_str().unwrap()]);
    let work = sb.path("work");
    sb.init(&work);
    sb.git(
        &work,
        &["commit", "-q", "--allow-empty", "-m", "While the receiver is down"],
    );
    sb.git(&work, &["push", "-q", pending.to_str().unwrap(), "main"]);
    assert!(pending.join("webhooks/outbox").is_dir(), "the failed delivery is kept");

    // The receiver is back (at a new address); the script sends what was kept.
    let (url, rx) = receiver();
    fs::write(pending.join("webhooks.toml"), config(&url)).unwrap();
    let installed = sb.installed();
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

/// A new commit pushed from `work` (made on first use) into `repo`, with `path` as PATH.
fn push_with_path(sb: &Sandbox, work: &Path, repo: &Path, path: &str) {
    if !work.exists() {
        sb.init(work);
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
    let sb = sandbox();
    let (url, rx) = receiver();
    let prefix = sb.prefix();
    let p = prefix.to_str().unwrap();
    sb.install_ok(&["--prefix", p, "--binary", BIN]);
    let installed = sb.installed();
    // A repository's hook links to the shared post-receive, a link to the binary.
    let shared = shared_hook(&sb);

    let chain = sb.bare("srv/chain.git");
    std::os::unix::fs::symlink(&shared, chain.join("hooks/post-receive")).unwrap();
    // The script of docs/setup.md, with the binary's full path, and found on PATH.
    let full = sb.bare("srv/full.git");
    write_hook(
        &full.join("hooks/post-receive"),
        format!("#!/bin/sh\nexec {} hook\n", installed.display()),
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
    let sb = sandbox();
    let (url, rx) = receiver();
    let prefix = sb.prefix();
    let p = prefix.to_str().unwrap();
    let installed = sb.installed();
    let shared_hook = shared_hook(&sb);

    // The wrapper install.sh writes, taken from a repository where it chains a hook.
    let scratch = sb.bare("scratch.git");
    write_hook(&scratch.join("hooks/post-receive"), EXISTING_HOOK);
    sb.install_ok(&["--prefix", p, "--binary", BIN, "--repo", scratch.to_str().unwrap()]);
    let wrapper = fs::read(scratch.join("hooks/post-receive")).unwrap();

    // A wrapper chained in front of a hook that already ran git-webhooks: every push ran
    // it twice.
    let double = sb.bare("srv/double.git");
    write_hook(&double.join("hooks/post-receive"), &wrapper);
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
