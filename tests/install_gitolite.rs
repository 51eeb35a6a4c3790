//! install.sh on a real gitolite server (Debian's gitolite3): an account `gwgl-git` set
//! up with `gitolite setup -pk admin.pub`, repositories added by pushing gitolite-admin,
//! and pushes through `gitolite-shell` as sshd runs it for a key of authorized_keys
//! (GIT_SSH_COMMAND switches to the account and runs it with SSH_ORIGINAL_COMMAND set).
//! git-webhooks is set up as docs/setup.md says for gitolite, install.sh runs as root
//! over gitolite's repositories, and a receiver on 127.0.0.1 counts what each push sends.
//!
//! These tests need root (to create the account and switch to it) and gitolite; without
//! them they print a note and pass without checking anything.

mod install_support;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use install_support::{
    account, assert_ok, exactly_one, is_root, receiver, sh_ok, text, write_hook, Account, Sandbox, BIN, KEPT,
};

const GITOLITE_SHELL: &str = "/usr/share/gitolite3/gitolite-shell";

/// None (after a note) when the tests cannot run here.
fn runnable(test: &str) -> Option<()> {
    let gitolite = Path::new(GITOLITE_SHELL).exists() && Command::new("ssh-keygen").arg("-?").output().is_ok();
    if is_root() && gitolite {
        Some(())
    } else {
        eprintln!("note: {test} skipped: it needs root and gitolite3 with ssh-keygen (test.sh installs them)");
        None
    }
}

/// The hosting account, created once (and left for later runs).
fn hosting_account() -> Account {
    account(
        "gwgl-git",
        &[
            "--system",
            "--no-create-home",
            "--home-dir",
            "/nonexistent",
            "--user-group",
            "--shell",
            "/bin/sh",
        ],
    )
}

/// A gitolite server in a temporary directory: the hosting account's home (`home`), an
/// admin key, the ssh stand-in, and a prefix for the binary. Commands run as root (the
/// administrator, and the git client) reach gitolite through the ssh stand-in.
struct Server {
    sb: Sandbox,
    acct: Account,
}

impl std::ops::Deref for Server {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        &self.sb
    }
}

impl Server {
    /// `gitolite setup -pk admin.pub` as the hosting account, with `rc` applied to the
    /// default .gitolite.rc (sed expressions) before the first admin push.
    fn new(rc: &[&str]) -> Server {
        let sb = Sandbox::shared();
        let ssh = sb.path("ssh");
        let sb = sb
            .set("GIT_SSH_COMMAND", &ssh)
            .set("GIT_SSH_VARIANT", "simple")
            .unset("TMPDIR");
        let server = Server {
            sb,
            acct: hosting_account(),
        };
        let home = server.home();
        fs::create_dir_all(&home).unwrap();
        std::os::unix::fs::chown(&home, Some(server.acct.uid), Some(server.acct.gid)).unwrap();
        let key = server.path("admin");
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "admin", "-f"])
            .arg(&key)
            .output()
            .unwrap();
        assert!(out.status.success(), "ssh-keygen: {}", text(&out.stderr));
        server.as_git(
            "gitolite setup -pk \"$1\" >/dev/null 2>&1",
            &[server.path("admin.pub").as_os_str()],
        );
        for expr in rc {
            server.as_git("sed -i -e \"$1\" .gitolite.rc", &[OsStr::new(expr)]);
        }
        // What sshd runs for the admin's key in authorized_keys: gitolite-shell, as the
        // hosting account, with the client's command in SSH_ORIGINAL_COMMAND.
        write_hook(
            &ssh,
            format!(
                "#!/bin/sh\nexec setpriv {} env -i HOME={} PATH=/usr/bin:/bin LC_ALL=C \
                 GIT_WEBHOOKS_CONFIG={} SSH_CONNECTION='127.0.0.1 50000 127.0.0.1 22' SSH_ORIGINAL_COMMAND=\"$2\" {GITOLITE_SHELL} admin\n",
                server.acct.setpriv().join(" "),
                home.display(),
                server.path("no-system-config.toml").display(),
            ),
        );
        let out = server.install(&[
            OsStr::new("--prefix"),
            server.prefix().as_os_str(),
            OsStr::new("--binary"),
            OsStr::new(BIN),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        server
    }

    fn home(&self) -> PathBuf {
        self.path("home")
    }

    fn repos(&self) -> PathBuf {
        self.home().join("repositories")
    }

    /// A shell script run in its home as the hosting account, with `args` as $1…;
    /// panics when it fails.
    fn as_git(&self, script: &str, args: &[&OsStr]) -> String {
        let mut sh = Command::new("setpriv");
        sh.args(self.acct.setpriv())
            .args(["env", "-i"])
            .arg(format!("HOME={}", self.home().display()))
            .args([
                format!("USER={}", self.acct.name),
                "PATH=/usr/bin:/bin".into(),
                "LC_ALL=C".into(),
            ])
            .arg("sh")
            .current_dir(self.home())
            .stdin(Stdio::null());
        sh_ok(sh, &self.acct, script, args)
    }

    /// install.sh --all over gitolite's repositories, as root.
    fn install_all(&self) -> Output {
        self.install(&self.all_args(&self.repos()))
    }

    /// A clone of gitolite-admin (made on first use), `change` applied in it, committed
    /// and pushed: gitolite compiles the conf and creates repositories.
    fn admin_push(&self, change: impl FnOnce(&Path)) {
        let admin = self.path("gitolite-admin");
        if !admin.exists() {
            self.git(
                self.dir.path(),
                &["clone", "-q", "gwgl:gitolite-admin", admin.to_str().unwrap()],
            );
        }
        change(&admin);
        self.git(&admin, &["add", "-A"]);
        self.git(&admin, &["commit", "-q", "-m", "Change the conf"]);
        self.git(&admin, &["push", "-q", "origin", "HEAD"]);
    }

    /// A new commit pushed into gitolite's repository `name` through gitolite-shell.
    fn push(&self, name: &str) {
        let work = self.path(&format!("work-{name}"));
        if !work.exists() {
            self.init(&work);
        }
        self.git(&work, &["commit", "-q", "--allow-empty", "-m", "A change"]);
        self.git(&work, &["push", "-q", &format!("gwgl:{name}"), "main"]);
    }

    /// webhooks.toml in the repository `name`, written by the hosting account.
    fn configure(&self, name: &str, url: &str) {
        let file = self.repos().join(format!("{name}.git/webhooks.toml"));
        let body = format!("[delivery]\nbudget = 5\n\n[[hook]]\nname = \"receiver\"\nurl = \"{url}\"\n");
        self.as_git("printf '%s' \"$2\" >\"$1\"", &[file.as_os_str(), OsStr::new(&body)]);
    }

    /// The hooks directories of all of gitolite's repositories, entry by entry.
    fn hooks(&self) -> BTreeMap<PathBuf, (String, u32, u64, Vec<u8>)> {
        let mut out = BTreeMap::new();
        for repo in fs::read_dir(self.repos()).unwrap() {
            let hooks = repo.unwrap().path().join("hooks");
            for e in fs::read_dir(&hooks).unwrap() {
                let p = e.unwrap().path();
                let meta = fs::symlink_metadata(&p).unwrap();
                let (kind, bytes) = if meta.file_type().is_symlink() {
                    ("link", fs::read_link(&p).unwrap().into_os_string().into_encoded_bytes())
                } else {
                    ("file", fs::read(&p).unwrap())
                };
                out.insert(p, (kind.to_string(), meta.mode(), meta.ino(), bytes));
            }
        }
        out
    }
}

#[test]
fn the_common_hook_runs_once_and_install_all_wraps_nothing() {
    let Some(()) = runnable("the_common_hook_runs_once_and_install_all_wraps_nothing") else {
        return;
    };
    let server = Server::new(&[r#"s|^\( *\)# \(LOCAL_CODE *=> *"\$ENV{HOME}/local",\)|\1\2|"#]);
    server.admin_push(|admin| {
        let conf = admin.join("conf/gitolite.conf");
        let mut text = fs::read_to_string(&conf).unwrap();
        text.push_str("\nrepo project\n    RW+ = admin\n");
        fs::write(conf, text).unwrap();
    });
    // docs/setup.md, gitolite, for every repository: a common hook in LOCAL_CODE.
    server.as_git(
        "mkdir -p local/hooks/common && ln -s \"$1\" local/hooks/common/post-receive && gitolite setup --hooks-only",
        &[server.installed().as_os_str()],
    );
    let (url, rx) = receiver();
    server.configure("project", &url);
    let project_hooks = server.repos().join("project.git/hooks");
    assert_eq!(
        fs::read_link(project_hooks.join("post-receive")).unwrap(),
        server.home().join("local/hooks/common/post-receive"),
        "gitolite links the common hook into the repository"
    );

    // install.sh --all over gitolite's repositories: each already runs git-webhooks.
    let before = server.hooks();
    let out = assert_ok("install.sh", &server.install_all());
    assert_eq!(out.matches("already runs git-webhooks: ").count(), 3, "{out}");
    assert!(!out.contains("chained"), "{out}");
    assert_eq!(server.hooks(), before, "install.sh changed gitolite's hooks");
    server.push("project");
    let event = exactly_one(&rx, "a push after install.sh --all");
    assert!(
        event.body.contains("\"user_name\":\"admin\""),
        "gitolite's GL_USER: {}",
        event.body
    );

    // What an earlier install.sh made of this: a wrapper that ran the common hook, kept
    // as post-receive.before-git-webhooks (a second name of the link), and git-webhooks
    // again. The wrapper's text is the one install.sh writes when it chains a hook.
    let scratch = server.path("scratch.git");
    server.git(server.dir.path(), &["init", "-q", "--bare", scratch.to_str().unwrap()]);
    write_hook(&scratch.join("hooks/post-receive"), "#!/bin/sh\n");
    assert_ok(
        "install.sh",
        &server.install(&[
            OsStr::new("--prefix"),
            server.prefix().as_os_str(),
            OsStr::new("--binary"),
            OsStr::new(BIN),
            OsStr::new("--repo"),
            scratch.as_os_str(),
        ]),
    );
    let wrapper = server.path("wrapper");
    fs::copy(scratch.join("hooks/post-receive"), &wrapper).unwrap();
    let double = |server: &Server| {
        server.as_git(
            "cd \"$1\" && ln -P post-receive post-receive.before-git-webhooks && rm post-receive && cp \"$2\" post-receive",
            &[project_hooks.as_os_str(), wrapper.as_os_str()],
        );
    };
    double(&server);
    server.push("project");
    assert!(
        rx.recv_timeout(Duration::from_secs(30)).is_ok() && rx.recv_timeout(Duration::from_secs(30)).is_ok(),
        "the doubled hook sends twice"
    );
    let out = assert_ok("install.sh", &server.install_all());
    assert!(out.contains("so the wrapper ran it twice"), "{out}");
    assert_eq!(
        server.hooks().keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    assert_eq!(
        fs::read_link(project_hooks.join("post-receive")).unwrap(),
        server.home().join("local/hooks/common/post-receive")
    );
    server.push("project");
    exactly_one(&rx, "a push after install.sh took the wrapper out");

    // The same, then `gitolite setup --hooks-only`, which puts its link back over the
    // wrapper and leaves the kept hook behind.
    double(&server);
    server.as_git("gitolite setup --hooks-only", &[]);
    assert!(project_hooks.join(KEPT).symlink_metadata().is_ok());
    let out = assert_ok("install.sh", &server.install_all());
    assert!(
        out.contains(&format!("removed {}", project_hooks.join(KEPT).display())),
        "{out}"
    );
    assert_eq!(
        server.hooks().keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    server.push("project");
    exactly_one(&rx, "a push after gitolite setup --hooks-only and install.sh");
    // Nothing left to do.
    let now = server.hooks();
    let out = assert_ok("install.sh", &server.install_all());
    assert_eq!(out.matches("already runs git-webhooks: ").count(), 3, "{out}");
    assert_eq!(server.hooks(), now);
}

#[test]
fn repo_specific_hooks_run_once_and_gitolite_hooks_are_never_wrapped() {
    let Some(()) = runnable("repo_specific_hooks_run_once_and_gitolite_hooks_are_never_wrapped") else {
        return;
    };
    let server = Server::new(&[
        r#"s|^\( *\)# \(LOCAL_CODE *=> *"\$rc{GL_ADMIN_BASE}/local",\)|\1\2|"#,
        r"s|^\( *\)# \('repo-specific-hooks',\)|\1\2|",
    ]);
    // docs/setup.md, gitolite, for some repositories: a repo-specific hook from
    // gitolite-admin; another repository has a repo-specific hook of its own.
    let installed = server.installed();
    server.admin_push(|admin| {
        let dir = admin.join("local/hooks/repo-specific");
        fs::create_dir_all(&dir).unwrap();
        std::os::unix::fs::symlink(&installed, dir.join("webhooks")).unwrap();
        write_hook(&dir.join("notify"), "#!/bin/sh\ncat >/dev/null\n");
        let conf = admin.join("conf/gitolite.conf");
        let mut text = fs::read_to_string(&conf).unwrap();
        text.push_str(
            "\nrepo project\n    RW+ = admin\n    option hook.post-receive = webhooks\n\
             \nrepo mailed\n    RW+ = admin\n    option hook.post-receive = notify\n",
        );
        fs::write(conf, text).unwrap();
    });
    let (url, rx) = receiver();
    server.configure("project", &url);
    let project_hooks = server.repos().join("project.git/hooks");
    assert!(
        fs::read_link(project_hooks.join("post-receive.h00-webhooks")).is_ok(),
        "gitolite links the repo-specific hook"
    );

    let before = server.hooks();
    let out = server.install_all();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    // mailed's hook is gitolite's and does not run git-webhooks: refused, and said so.
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stderr.contains("mailed.git: gitolite manages this repository's hooks") && stderr.contains("docs/setup.md"),
        "{stderr}"
    );
    assert!(
        stdout.contains(&format!(
            "project.git: already runs git-webhooks: {}",
            project_hooks.join("post-receive.h00-webhooks").display()
        )),
        "{stdout}"
    );
    assert!(!stdout.contains("chained"), "{stdout}");
    // Every hook gitolite put there is as it was; only repositories without a
    // post-receive (gitolite-admin, testing) got git-webhooks' link.
    let after = server.hooks();
    for (path, entry) in &before {
        assert_eq!(after.get(path), Some(entry), "{}", path.display());
    }
    let added: Vec<_> = after.keys().filter(|p| !before.contains_key(*p)).collect();
    assert_eq!(added.len(), 2, "{added:?}");
    for p in added {
        assert!(p.ends_with("post-receive"), "{}", p.display());
        assert_eq!(fs::read_link(p).unwrap(), installed);
    }
    assert!(
        stdout.contains("note: gitolite manages this repository's hooks"),
        "{stdout}"
    );

    server.push("project");
    exactly_one(&rx, "a push to a repository with a repo-specific hook");

    // gitolite compiles again (an admin push) and installs its hooks again; install.sh
    // still wraps nothing, and a push still sends once.
    server.admin_push(|admin| {
        let conf = admin.join("conf/gitolite.conf");
        let mut text = fs::read_to_string(&conf).unwrap();
        text.push_str("\nrepo other\n    RW+ = admin\n");
        fs::write(conf, text).unwrap();
    });
    server.as_git("gitolite setup --hooks-only", &[]);
    let out = server.install_all();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(!text(&out.stdout).contains("chained"), "{}", text(&out.stdout));
    // gitolite made its links again (new inodes), to the same places.
    let now = server.hooks();
    for (path, (kind, _, _, bytes)) in &before {
        let (k, _, _, b) = now.get(path).unwrap_or_else(|| panic!("{} is gone", path.display()));
        assert_eq!((k, b), (kind, bytes), "{}", path.display());
    }
    server.push("project");
    exactly_one(&rx, "a push after gitolite compiled again");
}
