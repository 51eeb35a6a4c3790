//! install.sh and hooks/redeliver-all.sh run as root over repositories that other Unix
//! accounts own. Each test creates real accounts (`gwi-owner`, the owner of repositories
//! under ROOT, who tries to make root write or read where it should not; `gwi-other`, an
//! account whose repository and files must stay untouched), does the owner's steps as
//! that account, and runs the scripts as root against decoy files only root may write.
//!
//! These tests need root (to create accounts and switch to them); run as another user
//! they print a note and pass without checking anything.

mod install_support;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use install_support::{
    account, down_url, exists, is_root, os, receiver, text, wait_for, Account, Sandbox, BIN, REDELIVER_ALL, SCRIPT,
};

const UNIT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/hooks/git-webhooks-redeliver.service");

const EXISTING_HOOK: &str = "#!/bin/sh\n# the owner's own post-receive hook\ncat >/dev/null\nexit 0\n";
const SECRET: &str = "root-only secret 0b7c1e\n";

/// The sandbox of a test, which every account can reach and which is root's HOME for git,
/// and its accounts: the repositories' owner, and another account. None (after a note)
/// when the test cannot run here.
fn setup(test: &str) -> Option<(Sandbox, Account, Account)> {
    if !is_root() {
        eprintln!("note: {test} skipped: it needs root, to create accounts and run install.sh as root");
        return None;
    }
    let options = [
        "--system",
        "--no-create-home",
        "--user-group",
        "--shell",
        "/usr/sbin/nologin",
    ];
    let (owner, other) = (account("gwi-owner", &options), account("gwi-other", &options));
    Some((Sandbox::shared().for_hooks().unset("TMPDIR"), owner, other))
}

impl Sandbox {
    /// ROOT (root's), and the owner's directory in it.
    fn srv(&self, owner: &Account) -> (PathBuf, PathBuf) {
        (self.dir_of("srv", None), self.dir_of("srv/owner", Some(owner)))
    }

    /// A shell script run as `acct`, left running in the background (the owner racing root).
    fn spawn_as(&self, acct: &Account, script: &str, args: &[&OsStr]) -> Racer {
        let mut sh = self.command_as(acct, "sh", self.dir.path());
        sh.args(["-c", script, "sh"]).args(args);
        Racer(in_background(sh))
    }

    /// `git init --bare` at `path`, as `acct`.
    fn bare_as(&self, acct: &Account, path: &Path) {
        self.sh_as(acct, "git init -q --bare -b main -- \"$1\"", &[path.as_os_str()]);
    }

    /// An outbox in the repository `path`, made by `acct`, for redelivery to look at.
    fn outbox_as(&self, acct: &Account, path: &Path) {
        self.sh_as(acct, "mkdir -p \"$1/webhooks/outbox\"", &[path.as_os_str()]);
    }

    /// `n` bare repositories `r0.git`, `r1.git`… in `dir`, each with an outbox, as `acct`.
    fn outboxes_as(&self, acct: &Account, dir: &Path, n: usize) {
        for i in 0..n {
            let r = dir.join(format!("r{i}.git"));
            self.bare_as(acct, &r);
            self.outbox_as(acct, &r);
        }
    }

    /// core.hooksPath of the repository `path`, set by `acct`.
    fn hooks_path_as(&self, acct: &Account, path: &Path, hooks: impl AsRef<OsStr>) {
        self.sh_as(
            acct,
            "git --git-dir=\"$1\" config core.hooksPath \"$2\"",
            &[path.as_os_str(), hooks.as_ref()],
        );
    }

    /// A bare repository at `path`, as `acct`, with a post-receive hook of its own.
    fn chained_as(&self, acct: &Account, path: &Path) {
        self.bare_as(acct, path);
        self.sh_as(
            acct,
            "printf '%s' \"$2\" >\"$1/hooks/post-receive\" && chmod 755 \"$1/hooks/post-receive\"",
            &[path.as_os_str(), os(EXISTING_HOOK)],
        );
    }

    /// The installed binary as the hook of the repository `path`, and a receiver that is
    /// down in its webhooks.toml, set up by `acct`.
    fn hook_down_as(&self, acct: &Account, path: &Path) {
        self.sh_as(
            acct,
            "ln -s \"$2\" \"$1/hooks/post-receive\" && printf '%s' \"$3\" >\"$1/webhooks.toml\"",
            &[
                path.as_os_str(),
                self.installed().as_os_str(),
                os(&config(&down_url(), "")),
            ],
        );
    }

    /// `repo`'s webhooks.toml, written by `acct`.
    fn configure_as(&self, acct: &Account, repo: &Path, config: &str) {
        self.sh_as(
            acct,
            "printf '%s' \"$2\" >\"$1/webhooks.toml\"",
            &[repo.as_os_str(), os(config)],
        );
    }

    /// Another account's repository outside ROOT (`elsewhere/victim.git`); returns the
    /// directory and the repository.
    fn victim(&self, other: &Account) -> (PathBuf, PathBuf) {
        let theirs = self.dir_of("elsewhere", Some(other));
        let victim = theirs.join("victim.git");
        self.bare_as(other, &victim);
        (theirs, victim)
    }

    /// hooks/redeliver-all.sh over `root`, run by `sh` (a command that runs sh).
    fn redeliver_all_by(&self, mut sh: Command, root: &Path) -> Output {
        sh.arg(REDELIVER_ALL)
            .arg(root)
            .env("GIT_WEBHOOKS", self.installed())
            .output()
            .unwrap()
    }

    /// hooks/redeliver-all.sh run as root over `root`.
    fn redeliver_all(&self, root: &Path) -> Output {
        self.redeliver_all_by(self.command("sh", self.dir.path()), root)
    }

    /// A file and a directory that only root may read and write.
    fn decoys(&self) -> (PathBuf, PathBuf) {
        let dir = self.dir_of("decoys", None);
        let secret = dir.join("secret");
        fs::write(&secret, SECRET).unwrap();
        fs::set_permissions(&secret, fs::Permissions::from_mode(0o600)).unwrap();
        let private = dir.join("private");
        fs::create_dir_all(&private).unwrap();
        fs::set_permissions(&private, fs::Permissions::from_mode(0o700)).unwrap();
        (secret, private)
    }
}

/// `cmd` started in a process group of its own, without output.
fn in_background(mut cmd: Command) -> Child {
    cmd.stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .unwrap()
}

/// Sends `signal` to the process group that `child` leads.
fn signal_group(child: &Child, signal: &str) {
    let _ = Command::new("kill")
        .args([signal, "--", &format!("-{}", child.id())])
        .status();
}

/// A process that is killed (with its process group) when dropped.
struct Racer(Child);

impl Drop for Racer {
    fn drop(&mut self) {
        signal_group(&self.0, "-KILL");
        let _ = self.0.wait();
    }
}

/// `cmd` run in the background, and stopped with SIGTERM to its whole process group after
/// `stop_after` (if any).
fn run_stopped(cmd: Command, stop_after: Option<Duration>) -> ExitStatus {
    let mut child = in_background(cmd);
    if let Some(d) = stop_after {
        std::thread::sleep(d);
        signal_group(&child, "-TERM");
    }
    child.wait().unwrap()
}

fn assert_decoys_untouched(secret: &Path, private: &Path) {
    assert_eq!(
        fs::read_to_string(secret).unwrap(),
        SECRET,
        "the root-only file was changed"
    );
    let meta = fs::symlink_metadata(secret).unwrap();
    assert!(meta.file_type().is_file());
    assert_eq!(meta.mode() & 0o7777, 0o600, "the root-only file's mode was changed");
    assert_eq!(meta.uid(), 0);
    let inside: Vec<_> = fs::read_dir(private).unwrap().collect();
    assert!(
        inside.is_empty(),
        "something was put into the root-only directory: {inside:?}"
    );
    let meta = fs::symlink_metadata(private).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o700);
}

/// Every entry below `dir` (the directory itself included): kind, owner, mode, and a
/// digest of the bytes of files and of the targets of links.
fn tree(dir: &Path) -> BTreeMap<PathBuf, (String, u32, u32, u64)> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(p) = todo.pop() {
        let meta = fs::symlink_metadata(&p).unwrap();
        let (kind, bytes) = if meta.file_type().is_symlink() {
            ("link", fs::read_link(&p).unwrap().as_os_str().as_bytes().to_vec())
        } else if meta.is_dir() {
            for e in fs::read_dir(&p).unwrap() {
                todo.push(e.unwrap().path());
            }
            ("dir", Vec::new())
        } else {
            ("file", fs::read(&p).unwrap())
        };
        let mut digest = std::hash::DefaultHasher::new();
        std::hash::Hash::hash(&bytes, &mut digest);
        let digest = std::hash::Hasher::finish(&digest);
        out.insert(p, (kind.to_string(), meta.uid(), meta.mode(), digest));
    }
    out
}

/// The entries below `dir` that are not owned by `uid`.
fn not_owned_by(dir: &Path, uid: u32) -> Vec<PathBuf> {
    tree(dir)
        .into_iter()
        .filter(|(_, (_, owner, _, _))| *owner != uid)
        .map(|(p, _)| p)
        .collect()
}

fn config(url: &str, extra: &str) -> String {
    format!("[delivery]\nbudget = 1\n\n[[hook]]\nname = \"receiver\"\nurl = \"{url}\"\n{extra}")
}

/// Installs the binary into the sandbox's prefix (no repositories).
fn install_binary(sb: &Sandbox) {
    sb.install_ok(&[os("--prefix"), sb.prefix().as_os_str(), os("--binary"), os(BIN)]);
}

/// A push of a new commit into `repo`, as `acct`, from its clone at `work`.
fn push_as(sb: &Sandbox, acct: &Account, work: &Path, repo: &Path, message: &str) {
    sb.sh_as(
        acct,
        "[ -d \"$1\" ] || git init -q -b main \"$1\"; cd \"$1\" && git commit -q --allow-empty -m \"$3\" && git push -q \"$2\" main",
        &[work.as_os_str(), repo.as_os_str(), os(message)],
    );
}

// --- Attacks on install.sh -----------------------------------------------------------------

/// A link planted under every name the temporary file could get (one per PID) does not
/// make root write through it: the steps in the repository run as its owner, who cannot
/// write the root-only file, and temporary files live in a fresh mktemp -d directory.
#[test]
fn links_planted_for_the_temporary_file_reach_nothing() {
    let Some((sb, owner, _)) = setup("links_planted_for_the_temporary_file_reach_nothing") else {
        return;
    };
    let (secret, private) = sb.decoys();
    let (root, mine) = sb.srv(&owner);
    let repo = mine.join("chained.git");
    sb.chained_as(&owner, &repo);
    // Every PID that the next tens of thousands of processes can get, planted in one go
    // (with perl, which git needs anyway; else with ln, for fewer PIDs).
    let last: u64 = fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1);
    let max: u64 = fs::read_to_string("/proc/sys/kernel/pid_max")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(32768);
    let (from, to) = (last.saturating_sub(100).max(2), (last + 40_000).min(max));
    sb.sh_as(
        &owner,
        "cd \"$1/hooks\" || exit 1
         if command -v perl >/dev/null; then
             exec perl -e 'for ($ARGV[1] .. $ARGV[2]) { symlink($ARGV[0], \".post-receive.git-webhooks.tmp.$_\") or die \"$!\" }' \"$2\" \"$3\" \"$4\"
         fi
         i=$3; while [ \"$i\" -le \"$4\" ] && [ \"$i\" -le \"$(($3 + 3000))\" ]; do
             ln -s \"$2\" \".post-receive.git-webhooks.tmp.$i\"; i=$((i + 1))
         done",
        &[repo.as_os_str(), secret.as_os_str(), os(&from.to_string()), os(&to.to_string())],
    );
    install_binary(&sb);
    let out = sb.install_ok(&sb.all_args(&root));
    assert!(out.contains("chained with the existing hook"), "{out}");
    assert_decoys_untouched(&secret, &private);
    let wrapper = repo.join("hooks/post-receive");
    assert!(fs::read_to_string(&wrapper)
        .unwrap()
        .contains("# git-webhooks-wrapper:"));
    assert_eq!(fs::symlink_metadata(&wrapper).unwrap().uid(), owner.uid);
    // The planted links are still there, still pointing at the decoy, and nothing else
    // was left behind.
    let left: Vec<_> = fs::read_dir(repo.join("hooks"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".git-webhooks"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// `hooks` as a symbolic link, and core.hooksPath pointing outside the repository (to
/// another account's repository), are refused as root; the other repositories are still
/// installed, and a core.hooksPath inside the repository is used.
#[test]
fn hooks_through_a_link_or_a_hooks_path_elsewhere_are_refused() {
    let Some((sb, owner, other)) = setup("hooks_through_a_link_or_a_hooks_path_elsewhere_are_refused") else {
        return;
    };
    let (secret, private) = sb.decoys();
    let (theirs, victim) = sb.victim(&other);
    let (root, mine) = sb.srv(&owner);
    let (linked, absolute, relative, decoy, inside, good) = (
        mine.join("linked.git"),
        mine.join("absolute.git"),
        mine.join("relative.git"),
        mine.join("decoy.git"),
        mine.join("inside.git"),
        mine.join("good.git"),
    );
    for r in [&linked, &absolute, &relative, &decoy, &inside, &good] {
        sb.bare_as(&owner, r);
    }
    // A hooks directory that is root's (as an earlier install as root left it).
    let legacy = mine.join("legacy.git");
    sb.bare_as(&owner, &legacy);
    std::os::unix::fs::chown(legacy.join("hooks"), Some(0), Some(0)).unwrap();
    let victim_hooks = victim.join("hooks");
    sb.sh_as(
        &owner,
        "rm -rf \"$1/hooks\" && ln -s \"$2\" \"$1/hooks\"",
        &[linked.as_os_str(), victim_hooks.as_os_str()],
    );
    sb.hooks_path_as(&owner, &absolute, &victim_hooks);
    sb.hooks_path_as(&owner, &relative, "../../../elsewhere/victim.git/hooks");
    sb.hooks_path_as(&owner, &decoy, &private);
    sb.hooks_path_as(&owner, &inside, "custom/hooks");
    let before = tree(&theirs);

    install_binary(&sb);
    let args = sb.all_args(&root);
    let out = sb.install(&args);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(!out.status.success(), "{stdout}\n{stderr}");
    assert!(stderr.contains("linked.git/hooks is a symbolic link"), "{stderr}");
    assert_eq!(stderr.matches("outside the repository").count(), 2, "{stderr}");
    assert!(
        stderr.contains("legacy.git: its hooks directory") && stderr.contains("belongs to another account (root)"),
        "{stderr}"
    );
    assert!(!exists(&legacy.join("hooks/post-receive")));
    // The owner cannot even enter the root-only directory that decoy.git names.
    assert!(
        stderr.contains("decoy.git: cannot enter its hooks directory"),
        "{stderr}"
    );
    assert_eq!(tree(&theirs), before, "the other account's repository was changed");
    assert_decoys_untouched(&secret, &private);
    // The others are done, as their owner.
    assert_eq!(fs::read_link(good.join("hooks/post-receive")).unwrap(), sb.installed());
    let custom = inside.join("custom/hooks");
    assert_eq!(fs::read_link(custom.join("post-receive")).unwrap(), sb.installed());
    assert!(not_owned_by(&inside, owner.uid).is_empty());

    // Uninstall refuses the same ones and changes nothing there either.
    let out = sb.install(&sb.uninstall_all_args(&root));
    assert!(!out.status.success());
    assert_eq!(tree(&theirs), before);
    assert!(!exists(&good.join("hooks/post-receive")));
    assert!(!exists(&custom.join("post-receive")));
}

/// The owner swaps post-receive.before-git-webhooks (and post-receive) for links to a
/// root-only directory while root installs and uninstalls, again and again: nothing is
/// ever moved or linked into that directory.
#[test]
fn a_kept_hook_swapped_for_a_link_to_a_directory_moves_nothing_into_it() {
    let Some((sb, owner, _)) = setup("a_kept_hook_swapped_for_a_link_to_a_directory_moves_nothing_into_it") else {
        return;
    };
    let (secret, private) = sb.decoys();
    let mine = sb.dir_of("srv/owner", Some(&owner));
    let repo = mine.join("race.git");
    sb.bare_as(&owner, &repo);
    let hooks = repo.join("hooks");
    sb.sh_as(
        &owner,
        "printf '%s' \"$2\" >\"$1/original\" && chmod 755 \"$1/original\"",
        &[repo.as_os_str(), os(EXISTING_HOOK)],
    );
    // The hook is always one of the owner's (never git-webhooks'), and the name it would
    // be kept under flips between nothing and a link to the root-only directory.
    let racer = sb.spawn_as(
        &owner,
        "cd \"$1\" || exit 1
         while :; do
             ln -sfn \"$2\" post-receive.before-git-webhooks
             rm -f post-receive.before-git-webhooks
             cp -p ../original post-receive.new && mv -f post-receive.new post-receive
         done",
        &[hooks.as_os_str(), private.as_os_str()],
    );
    install_binary(&sb);
    let p = sb.prefix();
    let r = repo.as_os_str();
    for _ in 0..40 {
        sb.install(&[os("--prefix"), p.as_os_str(), os("--binary"), os(BIN), os("--repo"), r]);
    }
    sb.install(&[os("--prefix"), p.as_os_str(), os("--uninstall"), os("--repo"), r]);
    drop(racer);
    assert_decoys_untouched(&secret, &private);
    assert!(
        not_owned_by(&repo, owner.uid).is_empty(),
        "{:?}",
        not_owned_by(&repo, owner.uid)
    );
}

/// Lay out, as the owner, a directory named `x` + newline + the absolute path of another
/// account's repository (outside ROOT), with a bare repository at the end, and a link to
/// that repository: neither install.sh nor redeliver-all.sh touches the other account's
/// repository, nor runs git-webhooks there; the oddly named repository itself is
/// installed into as its owner.
#[test]
fn a_newline_in_a_name_or_a_link_leads_nowhere_outside_root() {
    let Some((sb, owner, other)) = setup("a_newline_in_a_name_or_a_link_leads_nowhere_outside_root") else {
        return;
    };
    let (secret, private) = sb.decoys();
    install_binary(&sb);

    // The other account's repository, outside ROOT, with a delivery waiting.
    let (url, rx) = receiver();
    let (theirs, victim) = sb.victim(&other);
    sb.hook_down_as(&other, &victim);
    push_as(&sb, &other, &theirs.join("work"), &victim, "kept for later");
    assert!(victim.join("webhooks/outbox").is_dir());
    sb.configure_as(&other, &victim, &config(&url, ""));
    let before = tree(&theirs);

    // The owner's layout under ROOT.
    let (root, mine) = sb.srv(&owner);
    let mut odd = mine.join("x\n").into_os_string();
    odd.push(victim.as_os_str());
    let odd = PathBuf::from(odd);
    sb.bare_as(&owner, &odd);
    sb.outbox_as(&owner, &odd);
    sb.sh_as(
        &owner,
        "ln -s \"$2\" \"$1/link.git\"",
        &[mine.as_os_str(), victim.as_os_str()],
    );

    let out = sb.install_ok(&sb.all_args(&root));
    assert_eq!(out.matches("installed (").count(), 1, "{out}");
    assert_eq!(fs::read_link(odd.join("hooks/post-receive")).unwrap(), sb.installed());
    assert!(not_owned_by(&mine, owner.uid).is_empty());

    let out = sb.redeliver_all(&root);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let out = sb.install_ok(&sb.uninstall_all_args(&root));
    assert_eq!(out.matches("removed").count(), 1, "{out}");

    assert_eq!(tree(&theirs), before, "the other account's repository was changed");
    assert!(
        rx.try_recv().is_err(),
        "git-webhooks ran in the other account's repository"
    );
    assert_decoys_untouched(&secret, &private);
}

/// The owner keeps swapping a repository under ROOT for a link to another account's
/// repository (and back) while root installs, uninstalls and redelivers: the other
/// repository is never touched.
#[test]
fn a_repository_swapped_for_a_link_while_root_runs_is_not_followed() {
    let Some((sb, owner, other)) = setup("a_repository_swapped_for_a_link_while_root_runs_is_not_followed") else {
        return;
    };
    let (secret, private) = sb.decoys();
    install_binary(&sb);
    let (theirs, victim) = sb.victim(&other);
    sb.outbox_as(&other, &victim);
    let before = tree(&theirs);

    let (root, mine) = sb.srv(&owner);
    sb.outboxes_as(&owner, &mine, 8);
    let racer = sb.spawn_as(
        &owner,
        "cd \"$1\" || exit 1
         while :; do
             for r in r*.git; do
                 [ -d \"$r\" ] && [ ! -L \"$r\" ] || continue
                 mv \"$r\" \"$r.real\" && ln -s \"$2\" \"$r\" && rm -f \"$r\" && mv \"$r.real\" \"$r\"
             done
         done",
        &[mine.as_os_str(), victim.as_os_str()],
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    for _ in 0..6 {
        sb.install(&sb.all_args(&root));
        sb.redeliver_all(&root);
        sb.install(&sb.uninstall_all_args(&root));
        if Instant::now() > deadline {
            break;
        }
    }
    drop(racer);
    assert_eq!(tree(&theirs), before, "the other account's repository was changed");
    assert_decoys_untouched(&secret, &private);
    let foreign: Vec<_> = not_owned_by(&mine, owner.uid)
        .into_iter()
        .filter(|p| !p.to_string_lossy().ends_with(".real"))
        .collect();
    assert!(foreign.is_empty(), "{foreign:?}");
}

/// Root's TMPDIR is a directory the owner can write to, and the owner plants links there
/// under every name the scripts' temporary files used to derive from one another:
/// nothing is written through them, and nothing is left behind.
#[test]
fn links_planted_in_tmpdir_are_not_followed() {
    let Some((sb, owner, _)) = setup("links_planted_in_tmpdir_are_not_followed") else {
        return;
    };
    let (secret, private) = sb.decoys();
    install_binary(&sb);
    let tmp = sb.dir_of("tmp", Some(&owner));
    let (root, mine) = sb.srv(&owner);
    sb.outboxes_as(&owner, &mine, 3);
    let racer = sb.spawn_as(
        &owner,
        "cd \"$1\" || exit 1
         while :; do
             for f in * .*; do
                 case $f in . | .. | *.all | *.planted) continue ;; esac
                 [ -e \"$f\" ] || continue
                 ln -s \"$2\" \"$f.all\" 2>/dev/null
                 if [ -d \"$f\" ] && [ ! -L \"$f\" ]; then
                     mv \"$f\" \"$f.planted\" && ln -s \"$3\" \"$f\"
                 fi
             done
         done",
        &[tmp.as_os_str(), secret.as_os_str(), private.as_os_str()],
    );
    for _ in 0..10 {
        let out = sb
            .install_command("sh", &sb.all_args(&root))
            .env("TMPDIR", &tmp)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out.stderr));
        let mut sh = sb.command("sh", sb.dir.path());
        sh.env("TMPDIR", &tmp);
        let out = sb.redeliver_all_by(sh, &root);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    drop(racer);
    assert_decoys_untouched(&secret, &private);
    // The scripts left nothing in TMPDIR (all there is, is the owner's).
    let left: Vec<_> = fs::read_dir(&tmp)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| fs::symlink_metadata(p).unwrap().uid() != owner.uid)
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

/// What install.sh creates in a repository (a missing hooks/, the link, the wrapper, the
/// kept hook) belongs to the repository's owner, who can then push with the hook, and
/// uninstall it without root.
#[test]
fn what_install_creates_belongs_to_the_owner_who_can_uninstall_it() {
    let Some((sb, owner, _)) = setup("what_install_creates_belongs_to_the_owner_who_can_uninstall_it") else {
        return;
    };
    let (url, rx) = receiver();
    let (root, mine) = sb.srv(&owner);
    let (bare, chained) = (mine.join("no-hooks.git"), mine.join("chained.git"));
    sb.bare_as(&owner, &bare);
    sb.bare_as(&owner, &chained);
    sb.sh_as(
        &owner,
        "rm -rf \"$1/hooks\" && printf '%s' \"$3\" >\"$1/webhooks.toml\"
         printf '%s' \"$4\" >\"$2/hooks/post-receive\" && chmod 755 \"$2/hooks/post-receive\"",
        &[
            bare.as_os_str(),
            chained.as_os_str(),
            os(&config(&url, "")),
            os(EXISTING_HOOK),
        ],
    );
    let original = tree(&chained.join("hooks"));

    // Under bash and dash alike, and a rerun changes nothing.
    for shell in ["sh", "bash"] {
        let out = sb.install_with(shell, &sb.all_args(&root));
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    for r in [&bare, &chained] {
        let foreign = not_owned_by(&r.join("hooks"), owner.uid);
        assert!(foreign.is_empty(), "not the owner's: {foreign:?}");
    }
    assert_eq!(fs::read_link(bare.join("hooks/post-receive")).unwrap(), sb.installed());
    assert_eq!(
        fs::read_to_string(chained.join("hooks/post-receive.before-git-webhooks")).unwrap(),
        EXISTING_HOOK
    );

    // The owner's push runs the hook and is delivered.
    push_as(&sb, &owner, &sb.home(&owner).join("work"), &bare, "after the install");
    let got = wait_for(&rx, 1);
    assert!(got[0].body.contains("after the install"), "{}", got[0].body);

    // The owner takes it out again, without root.
    let out = sb
        .command_as(&owner, "sh", &mine)
        .arg(SCRIPT)
        .args(sb.uninstall_all_args(&mine))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    assert!(!exists(&bare.join("hooks/post-receive")));
    assert_eq!(tree(&chained.join("hooks")), original);
}

// --- Attacks on redelivery -----------------------------------------------------------------

/// Root's git configuration trusts every owner (safe.directory = *, as in every test
/// here), and the owner's
/// webhooks.toml names a root-only file as a token. redeliver-all.sh, run as root with only
/// the capabilities the systemd unit keeps, runs git-webhooks as the owner: the root-only
/// file is not sent, no root-owned file appears in webhooks/, and the owner's next push
/// delivers everything.
#[test]
fn redelivery_as_root_runs_as_each_owner() {
    let Some((sb, owner, _)) = setup("redelivery_as_root_runs_as_each_owner") else {
        return;
    };
    let (secret, private) = sb.decoys();
    install_binary(&sb);
    let (url, rx) = receiver();
    let (root, mine) = sb.srv(&owner);
    let repo = mine.join("pending.git");
    sb.bare_as(&owner, &repo);
    sb.hook_down_as(&owner, &repo);
    let work = sb.home(&owner).join("work");
    push_as(&sb, &owner, &work, &repo, "while the receiver is down");
    assert!(repo.join("webhooks/outbox").is_dir());
    let token = format!("token = {{ file = \"{}\" }}\n", secret.display());
    sb.configure_as(&owner, &repo, &config(&url, &token));

    // As cron starts it (plain root), then as the systemd unit does (root with three
    // capabilities and no new privileges).
    let cron = sb.command("sh", sb.dir.path());
    let mut unit = sb.command("setpriv", sb.dir.path());
    unit.args([
        "--bounding-set=-all,+dac_read_search,+setuid,+setgid",
        "--inh-caps=-all",
        "--no-new-privs",
        "--",
        "sh",
    ]);
    for cmd in [cron, unit] {
        let out = sb.redeliver_all_by(cmd, &root);
        let stderr = text(&out.stderr);
        assert!(
            !out.status.success(),
            "the owner cannot read the token, so redeliver fails: {stderr}"
        );
        assert!(stderr.contains("pending.git"), "{stderr}");
        while let Ok(r) = rx.try_recv() {
            assert!(
                !r.body.contains("0b7c1e") && !r.headers.iter().any(|(_, v)| v.contains("0b7c1e")),
                "the root-only file was sent: {r:?}"
            );
        }
        let foreign = not_owned_by(&repo, owner.uid);
        assert!(foreign.is_empty(), "files that are not the owner's: {foreign:?}");
        assert_decoys_untouched(&secret, &private);
    }

    // With a token it can read, the owner's next push keeps its event (the hook is backing
    // off after the first push failed) and the owner's redeliver sends both.
    sb.configure_as(&owner, &repo, &config(&url, "token = \"mine\"\n"));
    push_as(&sb, &owner, &work, &repo, "back up");
    sb.sh_as(
        &owner,
        "\"$2\" redeliver --quiet --repo \"$1\"",
        &[repo.as_os_str(), sb.installed().as_os_str()],
    );
    let got = wait_for(&rx, 2);
    assert!(
        got.iter().any(|r| r.body.contains("while the receiver is down")),
        "{got:?}"
    );
    assert!(got.iter().any(|r| r.body.contains("back up")), "{got:?}");
    let foreign = not_owned_by(&repo, owner.uid);
    assert!(foreign.is_empty(), "files that are not the owner's: {foreign:?}");
}

/// Run as the owning account instead of root, redeliver-all.sh sends that account's
/// pending deliveries and reports a repository of another account, without touching it.
#[test]
fn redelivery_as_one_account_reports_the_repositories_of_others() {
    let Some((sb, owner, other)) = setup("redelivery_as_one_account_reports_the_repositories_of_others") else {
        return;
    };
    install_binary(&sb);
    let (url, rx) = receiver();
    let (root, mine) = sb.srv(&owner);
    let theirs = sb.dir_of("srv/other", Some(&other));
    let repo = mine.join("pending.git");
    let foreign = theirs.join("foreign.git");
    sb.bare_as(&owner, &repo);
    sb.bare_as(&other, &foreign);
    sb.outbox_as(&other, &foreign);
    sb.hook_down_as(&owner, &repo);
    push_as(&sb, &owner, &sb.home(&owner).join("work"), &repo, "kept");
    sb.configure_as(&owner, &repo, &config(&url, ""));
    let before = tree(&theirs);
    let out = sb.redeliver_all_by(sb.command_as(&owner, "sh", sb.dir.path()), &root);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("foreign.git belongs to gwi-other"), "{stderr}");
    let got = wait_for(&rx, 1);
    assert!(got[0].body.contains("kept"));
    assert_eq!(tree(&theirs), before);
}

// --- What keeps working --------------------------------------------------------------------

/// Repositories with spaces, globs, quotes, unicode, newlines and leading dashes in their
/// names, owned by another account: installed as that account, a rerun changes nothing,
/// uninstall takes everything out; --repo with a relative name that starts with a dash.
#[test]
fn odd_names_owned_by_another_account() {
    let Some((sb, owner, _)) = setup("odd_names_owned_by_another_account") else {
        return;
    };
    let (root, mine) = sb.srv(&owner);
    let names = [
        "-rf x.git",
        "a b*?[c].git",
        "it's \"q\" $(id).git",
        "ünï cödé ☃.git",
        "new\nline.git",
        "trailing newline\n",
        "--all",
    ];
    let repos: Vec<PathBuf> = names.iter().map(|n| mine.join(n)).collect();
    for r in &repos {
        sb.bare_as(&owner, r);
    }
    let p = sb.prefix();
    let args = sb.all_args(&root);
    let out = sb.install_ok(&args);
    assert_eq!(out.matches("installed (").count(), names.len(), "{out}");
    for r in &repos {
        assert_eq!(
            fs::read_link(r.join("hooks/post-receive")).unwrap(),
            sb.installed(),
            "{r:?}"
        );
        assert!(not_owned_by(r, owner.uid).is_empty(), "{r:?}");
    }
    let first = tree(&mine);
    let out = sb.install_ok(&args);
    assert_eq!(out.matches("already installed").count(), names.len(), "{out}");
    assert_eq!(tree(&mine), first);

    // --repo with relative names, one starting with a dash.
    let out = sb
        .command("sh", &mine)
        .arg(SCRIPT)
        .args(["--prefix"])
        .arg(&p)
        .args(["--uninstall", "--repo", "-rf x.git", "--repo", "--all"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout).matches("removed").count(), 2, "{}", text(&out.stdout));
    let out = sb.install_ok(&sb.uninstall_all_args(&root));
    assert_eq!(out.matches("removed").count(), names.len() - 2, "{out}");
    for r in &repos {
        assert!(!exists(&r.join("hooks/post-receive")), "{r:?}");
    }
}

/// SIGTERM to install.sh (and everything it started) at many points: each time, the next
/// run completes the install, and uninstall then restores exactly the original hooks.
/// The states a stop between two steps can leave are also made by hand.
#[test]
fn an_interrupted_install_is_completed_by_the_next_run() {
    let Some((sb, owner, _)) = setup("an_interrupted_install_is_completed_by_the_next_run") else {
        return;
    };
    let (root, mine) = sb.srv(&owner);
    let repos: Vec<PathBuf> = (0..12).map(|i| mine.join(format!("r{i:02}.git"))).collect();
    for (i, r) in repos.iter().enumerate() {
        if i % 3 == 0 {
            sb.bare_as(&owner, r);
        } else {
            sb.chained_as(&owner, r);
        }
    }
    // Stopped after keeping the hook under its second name, before the wrapper: as a
    // hard link (r01), and as a copy (r02).
    sb.sh_as(
        &owner,
        "ln \"$1/hooks/post-receive\" \"$1/hooks/post-receive.before-git-webhooks\"
         cp -p \"$2/hooks/post-receive\" \"$2/hooks/post-receive.before-git-webhooks\"",
        &[repos[1].as_os_str(), repos[2].as_os_str()],
    );
    let originals: Vec<_> = repos.iter().map(|r| tree(&r.join("hooks"))).collect();
    let tmp = sb.dir_of("tmp", None);
    let p = sb.prefix();
    let args = sb.all_args(&root);
    let run = |stop_after: Option<Duration>| {
        let mut install = sb.install_command("sh", &args);
        install.env("TMPDIR", &tmp);
        run_stopped(install, stop_after)
    };
    for ms in (0..400).step_by(25) {
        run(Some(Duration::from_millis(ms)));
    }
    assert!(run(None).success());
    let check = |r: &Path| {
        let hook = r.join("hooks/post-receive");
        let saved = r.join("hooks/post-receive.before-git-webhooks");
        if exists(&saved) {
            assert_eq!(fs::read_to_string(&saved).unwrap(), EXISTING_HOOK, "{r:?}");
            assert!(
                fs::read_to_string(&hook).unwrap().contains("# git-webhooks-wrapper:"),
                "{r:?}"
            );
        } else {
            assert_eq!(fs::read_link(&hook).unwrap(), sb.installed(), "{r:?}");
        }
        let stray: Vec<_> = fs::read_dir(r.join("hooks"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n.to_string_lossy().starts_with(".git-webhooks"))
            .collect();
        assert!(stray.is_empty(), "{r:?}: {stray:?}");
        assert!(not_owned_by(r, owner.uid).is_empty(), "{r:?}");
    };
    for r in &repos {
        check(r);
    }
    assert_eq!(fs::read_dir(&tmp).unwrap().count(), 0, "temporary files were left");
    assert_eq!(
        fs::read_dir(p.join("bin")).unwrap().count(),
        1,
        "temporary files were left"
    );

    // Uninstall, stopped and run again, restores the hooks as they were (r01 and r02 had a
    // second name for their hook, which is now the one restored).
    let uninstall = sb.uninstall_all_args(&root);
    run_stopped(sb.install_command("sh", &uninstall), Some(Duration::from_millis(60)));
    sb.install_ok(&uninstall);
    for (i, r) in repos.iter().enumerate() {
        let now = tree(&r.join("hooks"));
        if i == 1 || i == 2 {
            assert_eq!(fs::read_to_string(r.join("hooks/post-receive")).unwrap(), EXISTING_HOOK);
            assert!(!exists(&r.join("hooks/post-receive.before-git-webhooks")));
        } else {
            assert_eq!(now, originals[i], "{r:?}");
        }
    }
}

/// A repository on a read-only filesystem: install.sh says so and fails, changing
/// nothing; once it is writable again, the next run installs.
#[test]
fn a_read_only_filesystem_fails_cleanly() {
    let Some((sb, owner, _)) = setup("a_read_only_filesystem_fails_cleanly") else {
        return;
    };
    let root = sb.dir_of("srv", None);
    let mount = sb.dir_of("srv/ro", None);
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "mode=755,size=16m", "gwi-ro"])
        .arg(&mount)
        .output()
        .unwrap();
    if !mounted.status.success() {
        eprintln!(
            "note: a_read_only_filesystem_fails_cleanly skipped: cannot mount a tmpfs here ({})",
            text(&mounted.stderr).trim()
        );
        return;
    }
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mount.clone());
    std::os::unix::fs::chown(&mount, Some(owner.uid), Some(owner.gid)).unwrap();
    let (plain, chained) = (mount.join("plain.git"), mount.join("chained.git"));
    sb.bare_as(&owner, &plain);
    sb.chained_as(&owner, &chained);
    let remount = |mode: &str| {
        let st = Command::new("mount")
            .args(["-o", &format!("remount,{mode}")])
            .arg(&mount)
            .status()
            .unwrap();
        assert!(st.success());
    };
    remount("ro");
    let before = tree(&mount);
    let args = sb.all_args(&root);
    let out = sb.install(&args);
    let stderr = text(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("plain.git: cannot create"), "{stderr}");
    assert!(stderr.contains("chained.git: cannot keep"), "{stderr}");
    assert!(stderr.contains("run install.sh again"), "{stderr}");
    assert_eq!(tree(&mount), before);
    remount("rw");
    let out = sb.install_ok(&args);
    assert!(out.contains("chained with the existing hook"), "{out}");
    assert!(out.contains("installed ("), "{out}");
}

// --- The systemd unit ----------------------------------------------------------------------

/// The unit runs redeliver-all.sh under the usual hardening, and systemd-analyze (where
/// it is installed) rates its exposure low.
#[test]
fn the_redelivery_unit_is_hardened() {
    let unit = fs::read_to_string(UNIT).unwrap();
    for line in [
        "ExecStart=/usr/local/bin/git-webhooks-redeliver-all /srv/git",
        "ProtectSystem=strict",
        "ReadWritePaths=/srv/git",
        "ProtectHome=yes",
        "NoNewPrivileges=yes",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "UMask=0077",
        "PrivateTmp=yes",
        "CapabilityBoundingSet=CAP_DAC_READ_SEARCH CAP_SETUID CAP_SETGID",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit lacks {line}");
    }
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", UNIT])
        .current_dir(std::env::temp_dir())
        .output();
    let Ok(out) = out else {
        eprintln!("note: systemd-analyze is not installed; the unit's exposure was not measured");
        return;
    };
    let report = text(&out.stdout);
    let Some(level) = report
        .lines()
        .find(|l| l.contains("Overall exposure level"))
        .and_then(|l| l.split(": ").nth(1))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse::<f64>().ok())
    else {
        eprintln!(
            "note: systemd-analyze security --offline=yes gave no exposure level here: {}",
            text(&out.stderr).trim()
        );
        return;
    };
    assert!(level <= 3.0, "exposure {level}:\n{report}");
}
