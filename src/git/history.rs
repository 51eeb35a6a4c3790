//! Which commits an update brings: the ranges of the commit-selection rules. The update
//! a push makes all day (a few commits on top of the old tip) is walked in-process with
//! libgit2; anything longer or less simple is counted and listed by the `git` that runs
//! the hook, which reads commit-graph files (see docs/performance.md).

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use git2::{ObjectType, Oid, Repository};

use crate::git::update::{Change, ObjectId, RefKind, RefUpdate};

/// The commits of one update.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Exactly how many commits the range holds.
    pub total: usize,
    /// The newest of them (at most the cap), oldest first.
    pub newest: Vec<String>,
    /// The update is not a fast-forward.
    pub forced: bool,
}

/// A creation bringing this many commits makes the shared walk of a push wait (see
/// `History::select_shared`).
const LONG_CREATION: usize = 20_000;

/// An update is walked in-process when its new commits all lead back to its old commit
/// and there are at most this many of them; otherwise `git rev-list` answers. Reading a
/// commit with libgit2 costs about 9 µs, `git rev-list` about 4 µs a commit after 3.5 ms
/// for starting its two processes: at 100 commits the walk saves 3 ms, and giving up
/// after it costs about 1 ms more than asking git at once (docs/performance.md).
const IN_PROCESS: usize = 100;

/// Set to `git` to have every range walked by `git rev-list` (to compare the two ways).
const WALK_VARIABLE: &str = "GIT_WEBHOOKS_WALK";

/// What a selection depends on: the old commit (none for a creation), the new one, the cap.
type SelectionKey = (Option<String>, String, usize);

/// The repository as it was before the push: the commits that were already reachable.
pub struct History<'r> {
    repo: &'r Repository,
    git_dir: PathBuf,
    excluded: Vec<String>,
    excluded_set: HashSet<String>,
    /// Selections already made in this push, by (old commit, new commit, cap): refs of a
    /// push that moved alike (a mirror push, branches created at one commit) share a walk.
    done: RefCell<HashMap<SelectionKey, Selection>>,
    /// How many creations have been selected so far in this push.
    creations: Cell<usize>,
    /// The most commits that a creation walked on its own brought.
    longest_creation: Cell<usize>,
    /// The commits new to the repository, walked once when a push creates several
    /// branches (`None` inside: that walk failed, so each creation walks on its own).
    shared: RefCell<Option<Option<NewCommits>>>,
}

/// What went wrong running `git rev-list`.
#[derive(Debug)]
pub struct GitError(pub String);

impl std::fmt::Display for GitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The commit an object id peels to, if any (tags are followed; trees and blobs have none).
pub fn peel_to_commit(repo: &Repository, id: &ObjectId) -> Option<Oid> {
    let oid = Oid::from_str(id.as_str()).ok()?;
    let object = repo.find_object(oid, None).ok()?;
    object.peel(ObjectType::Commit).ok().map(|c| c.id())
}

/// The commit tips of every ref today, except the refs named in `updates`, whose `old`
/// values are taken instead: the repository's state before those updates.
///
/// Only the creation of a branch (or an update from an object that is not a commit, which
/// is selected like one) needs this state; for any other push the list is empty and no ref
/// is read, which keeps a push into a repository with many refs as cheap as into one with few.
pub fn tips_before(repo: &Repository, updates: &[RefUpdate]) -> Result<Vec<String>, git2::Error> {
    if !updates.iter().any(|u| needs_tips(repo, u)) {
        return Ok(Vec::new());
    }
    let pushed: HashSet<&[u8]> = updates.iter().map(|u| u.name.as_slice()).collect();
    let odb = repo.odb()?;
    let mut tips = Vec::new();
    for reference in repo.references()? {
        let reference = reference?;
        if pushed.contains(reference.name_bytes()) {
            continue;
        }
        // Symbolic refs have no target of their own; packed annotated tags carry their
        // peeled target, which saves reading the tag object.
        let Some(target) = reference.target_peel().or_else(|| reference.target()) else {
            continue;
        };
        tips.extend(commit_of(repo, &odb, target).map(|c| c.to_string()));
    }
    for old in updates.iter().filter_map(RefUpdate::old_id) {
        tips.extend(peel_to_commit(repo, old).map(|c| c.to_string()));
    }
    tips.sort_unstable();
    tips.dedup();
    Ok(tips)
}

/// Whether selecting the commits of `update` needs the state before the push.
fn needs_tips(repo: &Repository, update: &RefUpdate) -> bool {
    if update.kind() != RefKind::Branch {
        return false;
    }
    match &update.change {
        Change::Create { .. } => true,
        Change::Update { old, .. } => peel_to_commit(repo, old).is_none(),
        Change::Delete { .. } => false,
    }
}

/// The commit `oid` is or peels to. A commit is recognised from its header alone, without
/// reading and parsing the whole object as a generic peel does.
fn commit_of(repo: &Repository, odb: &git2::Odb<'_>, oid: Oid) -> Option<Oid> {
    match odb.read_header(oid).ok()?.1 {
        ObjectType::Commit => Some(oid),
        ObjectType::Tag => repo
            .find_object(oid, Some(ObjectType::Tag))
            .ok()?
            .peel(ObjectType::Commit)
            .ok()
            .map(|c| c.id()),
        _ => None,
    }
}

impl<'r> History<'r> {
    /// A history whose "before the push" state is the given commit tips.
    pub fn new(repo: &'r Repository, git_dir: &Path, excluded: Vec<String>) -> History<'r> {
        let excluded_set = excluded.iter().cloned().collect();
        History {
            repo,
            git_dir: git_dir.to_path_buf(),
            excluded,
            excluded_set,
            done: RefCell::new(HashMap::new()),
            creations: Cell::new(0),
            longest_creation: Cell::new(0),
            shared: RefCell::new(None),
        }
    }

    /// The commits of one branch update, per the selection rules; `max` caps the list.
    pub fn select(&self, update: &RefUpdate, max: usize) -> Result<Selection, GitError> {
        let peel = |id: &ObjectId| peel_to_commit(self.repo, id).map(|c| c.to_string());
        let (old, new) = match &update.change {
            Change::Delete { .. } => return Ok(Selection::default()),
            Change::Create { new } => (None, peel(new)),
            Change::Update { old, new } => (peel(old), peel(new)),
        };
        let Some(new) = new else {
            return Ok(Selection::default());
        };
        let key = (old, new, max);
        if let Some(known) = self.done.borrow().get(&key) {
            return Ok(known.clone());
        }
        let selection = match &key.0 {
            // A creation, or an update from something that is not a commit.
            None if self.excluded_set.contains(&key.1) => Selection::default(),
            None => match self.select_shared(&key.1, max) {
                Some(selection) => selection,
                None => {
                    let mut args = vec![key.1.clone()];
                    args.extend(self.excluded.iter().map(|t| format!("^{t}")));
                    let (_, total, newest) = self.count_and_list(&args, max, None)?;
                    self.longest_creation.set(self.longest_creation.get().max(total));
                    Selection {
                        total,
                        newest,
                        forced: false,
                    }
                }
            },
            Some(old) => match self.above(old, &key.1, max) {
                Some(selection) => selection,
                None => {
                    let args = vec![key.1.clone(), format!("^{old}")];
                    let symmetric = format!("{old}...{}", key.1);
                    let (rewound, total, newest) = self.count_and_list(&args, max, Some(&symmetric))?;
                    Selection {
                        total,
                        newest,
                        forced: rewound > 0,
                    }
                }
            },
        };
        self.done.borrow_mut().insert(key, selection.clone());
        Ok(selection)
    }

    /// The selection of the update `old..new` walked in-process, when every path from
    /// `new` back through its parents reaches `old` within [`IN_PROCESS`] commits: the
    /// commits met on the way are then exactly `old..new` (none of them can be an
    /// ancestor of `old`, or a path from it would have to lead back up to `old`), the
    /// update is a fast-forward, and `git rev-list` would list the same commits in the
    /// order [`NewCommits::newest`] gives. `None` when the walk meets a root commit or a
    /// merge of older history, or grows too long: `git rev-list` answers then.
    fn above(&self, old: &str, new: &str, max: usize) -> Option<Selection> {
        if std::env::var_os(WALK_VARIABLE).is_some_and(|v| v == "git") {
            return None;
        }
        let (old, tip) = (Oid::from_str(old).ok()?, Oid::from_str(new).ok()?);
        if old == tip {
            return Some(Selection::default());
        }
        let mut records = Vec::new();
        let mut seen = HashSet::from([tip]);
        let mut stack = vec![tip];
        while let Some(id) = stack.pop() {
            if records.len() == IN_PROCESS {
                return None;
            }
            let commit = self.repo.find_commit(id).ok()?;
            let parents: Vec<Oid> = commit.parent_ids().collect();
            if parents.is_empty() {
                return None;
            }
            for &p in parents.iter().filter(|&&p| p != old) {
                if seen.insert(p) {
                    stack.push(p);
                }
            }
            let date = u64::try_from(commit.time().seconds()).unwrap_or(0);
            let parents = parents.iter().map(|p| raw_oid(*p)).collect::<Option<Vec<_>>>()?;
            records.push((raw_oid(id)?, date, parents));
        }
        let mut commits = NewCommits::from_records(records);
        let node = commits.node(new)?;
        Some(Selection {
            total: commits.count(node),
            newest: commits.newest(node, max),
            forced: false,
        })
    }

    /// The selection of a creation from the commits new to the repository, walked once for
    /// the whole push, or `None`: walk this creation on its own.
    ///
    /// The first creation of a push is walked on its own, so a push that creates one
    /// branch, however long its history, costs one `rev-list --count`. After that, one
    /// walk lists every commit that the push brought (with parents and dates), and each
    /// creation is counted and listed from it in memory instead of walking the history
    /// again per ref. That walk prints every new commit, which costs one and a half to three
    /// counts of the same history; so when the creations walked so far were long (a mirror push
    /// of a large history), it waits until a fifth creation shows it pays off.
    fn select_shared(&self, new: &str, max: usize) -> Option<Selection> {
        let seen = self.creations.get() + 1;
        self.creations.set(seen);
        let long = self.longest_creation.get() >= LONG_CREATION;
        if seen < 2 || (long && seen < 5) {
            return None;
        }
        let mut shared = self.shared.borrow_mut();
        let commits = shared.get_or_insert_with(|| NewCommits::walk(&self.git_dir, new, &self.excluded).ok());
        let commits = commits.as_mut()?;
        let tip = commits.node(new)?;
        Some(Selection {
            total: commits.count(tip),
            newest: commits.newest(tip, max),
            forced: false,
        })
    }

    /// Runs `rev-list --count` and `rev-list -n max` over the same range at once.
    /// With `symmetric` (`old...new`), the count comes from `--left-right --count` so that
    /// the same walk also counts the commits the update rewound (a force push when > 0).
    /// Returns (rewound, total, newest oldest-first).
    fn count_and_list(
        &self,
        args: &[String],
        max: usize,
        symmetric: Option<&str>,
    ) -> Result<(usize, usize, Vec<String>), GitError> {
        let input = args.join("\n") + "\n";
        let counter = match symmetric {
            Some(range) => self.spawn(&["rev-list", "--left-right", "--count", range], None)?,
            None => self.spawn(&["rev-list", "--count", "--stdin"], Some(&input))?,
        };
        let lister = if max > 0 {
            let n = format!("-n{max}");
            Some(self.spawn(&["rev-list", &n, "--stdin"], Some(&input))?)
        } else {
            None
        };
        let counted = finish(counter)?;
        let numbers: Vec<usize> = counted.split_whitespace().filter_map(|n| n.parse().ok()).collect();
        let (rewound, total) = match numbers[..] {
            [left, right] if symmetric.is_some() => (left, right),
            [total] if symmetric.is_none() => (0, total),
            _ => {
                return Err(GitError(format!(
                    "git rev-list printed an unexpected count: {counted:?}"
                )))
            }
        };
        let mut newest: Vec<String> = match lister {
            Some(child) => finish(child)?.lines().map(str::to_string).collect(),
            None => Vec::new(),
        };
        newest.reverse();
        Ok((rewound, total, newest))
    }

    fn spawn(&self, args: &[&str], stdin: Option<&str>) -> Result<std::process::Child, GitError> {
        spawn_git(&self.git_dir, args, stdin, Stdio::piped())
    }
}

/// Starts `git --git-dir DIR ARGS`, feeding `stdin` from a thread so that a large input
/// cannot block against git's output.
fn spawn_git(
    git_dir: &Path,
    args: &[&str],
    stdin: Option<&str>,
    stderr: Stdio,
) -> Result<std::process::Child, GitError> {
    let mut child = Command::new("git")
        .arg("--git-dir")
        .arg(git_dir)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .map_err(|e| GitError(format!("cannot run git: {e}")))?;
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        let text = text.to_string();
        std::thread::spawn(move || pipe.write_all(text.as_bytes()));
    }
    Ok(child)
}

fn finish(child: std::process::Child) -> Result<String, GitError> {
    let out = child
        .wait_with_output()
        .map_err(|e| GitError(format!("git rev-list failed: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(GitError(format!("git rev-list failed: {}", err.trim())));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A SHA-1 object id as bytes. (A SHA-256 id does not parse: the shared walk is then
/// skipped and each creation walks on its own.)
type RawId = [u8; 20];

fn raw_id(text: &str) -> Option<RawId> {
    let text = text.as_bytes();
    if text.len() != 40 {
        return None;
    }
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    };
    let mut id = [0u8; 20];
    for (i, byte) in id.iter_mut().enumerate() {
        *byte = digit(text[2 * i])? << 4 | digit(text[2 * i + 1])?;
    }
    Some(id)
}

/// A libgit2 id as raw bytes; `None` for an id that is not SHA-1.
fn raw_oid(oid: Oid) -> Option<RawId> {
    oid.as_bytes().try_into().ok()
}

fn hex(id: &RawId) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(40);
    for byte in id {
        text.push(DIGITS[usize::from(byte >> 4)] as char);
        text.push(DIGITS[usize::from(byte & 15)] as char);
    }
    text
}

/// Hashes object ids by their first bytes: they are uniformly distributed already, and
/// the default hasher (built to resist chosen keys) costs more than the walk's bookkeeping.
#[derive(Clone, Copy, Default)]
struct BuildIdHasher;

#[derive(Default)]
struct IdHasher(u64);

impl std::hash::BuildHasher for BuildIdHasher {
    type Hasher = IdHasher;

    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(29) ^ u64::from_le_bytes(word);
        }
    }
}

/// The commits a push brought: reachable from a ref (or from the first creation's tip) and
/// from none of the tips of the state before the push, with their parents among them and
/// their committer dates. Nodes are numbered; parents outside the set are left out.
struct NewCommits {
    index: HashMap<RawId, u32, BuildIdHasher>,
    ids: Vec<RawId>,
    dates: Vec<u64>,
    /// Parents of node `n`: `parents[parent_at[n]..parent_at[n + 1]]`, in commit order.
    parent_at: Vec<u32>,
    parents: Vec<u32>,
    /// Scratch marks for the walks: a node is marked when `mark[n] == stamp`.
    mark: Vec<u32>,
    stamp: u32,
}

impl NewCommits {
    /// One `git rev-list --timestamp --parents --all <tip> ^<tips before>` walk.
    fn walk(git_dir: &Path, tip: &str, excluded: &[String]) -> Result<NewCommits, GitError> {
        let mut input = format!("{tip}\n");
        for t in excluded {
            input.push('^');
            input.push_str(t);
            input.push('\n');
        }
        // stderr is not read while the output streams in, so it must not be a pipe.
        let args = ["rev-list", "--timestamp", "--parents", "--all", "--stdin"];
        let mut child = spawn_git(git_dir, &args, Some(&input), Stdio::null())?;
        let stdout = child.stdout.take().expect("stdout is piped");
        let parsed = NewCommits::parse(BufReader::with_capacity(1 << 20, stdout));
        let status = child
            .wait()
            .map_err(|e| GitError(format!("git rev-list failed: {e}")))?;
        if !status.success() {
            return Err(GitError("git rev-list --all failed".into()));
        }
        parsed
    }

    /// Reads `DATE ID PARENT...` lines.
    fn parse(mut reader: impl BufRead) -> Result<NewCommits, GitError> {
        let bad = |line: &str| GitError(format!("git rev-list printed an unexpected line: {line:?}"));
        let mut records = Vec::new();
        let mut line = String::new();
        loop {
            line.clear();
            let read = reader
                .read_line(&mut line)
                .map_err(|e| GitError(format!("cannot read git rev-list: {e}")))?;
            if read == 0 {
                break;
            }
            let mut fields = line.trim_end().split(' ');
            let date = fields
                .next()
                .and_then(|d| d.parse::<u64>().ok())
                .ok_or_else(|| bad(&line))?;
            let id = fields.next().and_then(raw_id).ok_or_else(|| bad(&line))?;
            let parents = fields
                .map(raw_id)
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| bad(&line))?;
            records.push((id, date, parents));
        }
        Ok(NewCommits::from_records(records))
    }

    /// The commits `(id, committer date, parents)`; parents that are not among them are
    /// left out.
    fn from_records(records: Vec<(RawId, u64, Vec<RawId>)>) -> NewCommits {
        let mut index = HashMap::with_hasher(BuildIdHasher);
        let mut ids = Vec::with_capacity(records.len());
        let mut dates = Vec::with_capacity(records.len());
        // Parents as given, all in one list: those of commit `n` start at `parent_at[n]`.
        let mut parent_at = vec![0u32];
        let mut printed_parents = Vec::new();
        for (id, date, parents) in records {
            index.insert(id, ids.len() as u32);
            ids.push(id);
            dates.push(date);
            printed_parents.extend(parents);
            parent_at.push(printed_parents.len() as u32);
        }
        // Keep only the parents that are new commits themselves, as node numbers.
        let mut parents = Vec::with_capacity(printed_parents.len());
        for n in 0..ids.len() {
            let printed = &printed_parents[parent_at[n] as usize..parent_at[n + 1] as usize];
            parent_at[n] = parents.len() as u32;
            parents.extend(printed.iter().filter_map(|p| index.get(p).copied()));
        }
        parent_at[ids.len()] = parents.len() as u32;
        let mark = vec![0; ids.len()];
        NewCommits {
            index,
            ids,
            dates,
            parent_at,
            parents,
            mark,
            stamp: 0,
        }
    }

    fn node(&self, id: &str) -> Option<u32> {
        self.index.get(&raw_id(id)?).copied()
    }

    fn next_stamp(&mut self) -> u32 {
        if self.stamp == u32::MAX {
            self.mark.fill(0);
            self.stamp = 0;
        }
        self.stamp += 1;
        self.stamp
    }

    /// How many of the new commits `tip` reaches (itself included).
    fn count(&mut self, tip: u32) -> usize {
        let stamp = self.next_stamp();
        let mut stack = vec![tip];
        self.mark[tip as usize] = stamp;
        let mut count = 0;
        while let Some(n) = stack.pop() {
            count += 1;
            for i in self.parent_at[n as usize]..self.parent_at[n as usize + 1] {
                let p = self.parents[i as usize];
                if self.mark[p as usize] != stamp {
                    self.mark[p as usize] = stamp;
                    stack.push(p);
                }
            }
        }
        count
    }

    /// The first `max` new commits reachable from `tip` in the order `git rev-list` lists
    /// them (newest committer date first, commits of equal date in the order they were
    /// reached), returned oldest first.
    fn newest(&mut self, tip: u32, max: usize) -> Vec<String> {
        let stamp = self.next_stamp();
        let mut queue = BinaryHeap::new();
        let mut reached: u64 = 0;
        queue.push((self.dates[tip as usize], Reverse(reached), tip));
        self.mark[tip as usize] = stamp;
        let mut listed = Vec::new();
        while listed.len() < max {
            let Some((_, _, n)) = queue.pop() else { break };
            listed.push(hex(&self.ids[n as usize]));
            for i in self.parent_at[n as usize]..self.parent_at[n as usize + 1] {
                let p = self.parents[i as usize];
                if self.mark[p as usize] != stamp {
                    self.mark[p as usize] = stamp;
                    reached += 1;
                    queue.push((self.dates[p as usize], Reverse(reached), p));
                }
            }
        }
        listed.reverse();
        listed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift), so that failures can be replayed.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }
    }

    fn git(dir: &Path, args: &[&str], input: Option<&str>) -> String {
        let mut child = Command::new("git")
            .arg("--git-dir")
            .arg(dir)
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("git runs");
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input.unwrap_or("").as_bytes())
            .expect("git reads its input");
        drop(pipe);
        let out = child.wait_with_output().expect("git runs");
        assert!(out.status.success(), "git {args:?} failed");
        String::from_utf8(out.stdout).expect("git prints UTF-8")
    }

    /// A random history with merges, clock skew and many equal dates, with branches.
    fn random_repo(dir: &Path, rng: &mut Rng, commits: usize, branches: usize) -> Vec<String> {
        git(dir, &["init", "-q", "--bare"], None);
        let mut stream = String::new();
        for i in 1..=commits {
            let skew = [0i64, 0, 0, -300, 200, -40][rng.below(6) as usize];
            let date = 1_000_000_000 + (i as i64 / 3) * 100 + skew;
            let message = format!("commit {i}");
            stream.push_str(&format!(
                "commit refs/heads/scratch\nmark :{i}\ncommitter C <c@example.com> {date} +0000\ndata {}\n{message}\n",
                message.len()
            ));
            if i > 1 {
                // Mostly the previous commit (long chains), sometimes an older one.
                let first = if rng.below(4) == 0 {
                    1 + rng.below(i as u64 - 1)
                } else {
                    i as u64 - 1
                };
                stream.push_str(&format!("from :{first}\n"));
                if i > 2 && rng.below(5) == 0 {
                    let other = 1 + rng.below(i as u64 - 1);
                    if other != first {
                        stream.push_str(&format!("merge :{other}\n"));
                    }
                }
            }
            stream.push_str(&format!("M 644 inline f\ndata {}\n{i}\n\n", i.to_string().len()));
        }
        for b in 0..branches {
            let at = 1 + rng.below(commits as u64);
            stream.push_str(&format!("reset refs/heads/b{b}\nfrom :{at}\n\n"));
        }
        stream.push_str("reset refs/heads/scratch\nfrom 0000000000000000000000000000000000000000\n\ndone\n");
        git(dir, &["fast-import", "--quiet", "--done"], Some(&stream));
        git(dir, &["rev-list", "--all"], None)
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The shared walk counts and lists every creation exactly as `git rev-list` does on
    /// its own, with and without a state before the push.
    #[test]
    fn shared_walk_matches_rev_list() {
        for seed in 1..=24u64 {
            let tmp = tempfile::tempdir().expect("a temporary directory");
            let dir = tmp.path().join("r.git");
            let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ seed.wrapping_mul(0x2545_F491_4F6C_DD1D));
            let all = random_repo(&dir, &mut rng, 120, 8);
            let excluded: Vec<String> = match seed % 3 {
                0 => Vec::new(),
                _ => (0..1 + rng.below(3))
                    .map(|_| all[rng.below(all.len() as u64) as usize].clone())
                    .collect(),
            };
            let tips: Vec<String> = git(&dir, &["for-each-ref", "--format=%(objectname)"], None)
                .lines()
                .map(str::to_string)
                .collect();
            let mut shared = NewCommits::walk(&dir, &tips[0], &excluded).expect("the walk runs");
            let negatives: String = excluded.iter().map(|t| format!("^{t}\n")).collect();
            for tip in &tips {
                let input = format!("{tip}\n{negatives}");
                let total: usize = git(&dir, &["rev-list", "--count", "--stdin"], Some(&input))
                    .trim()
                    .parse()
                    .expect("a count");
                let mut newest: Vec<String> = git(&dir, &["rev-list", "-n20", "--stdin"], Some(&input))
                    .lines()
                    .map(str::to_string)
                    .collect();
                newest.reverse();
                match shared.node(tip) {
                    Some(node) => {
                        assert_eq!(shared.count(node), total, "seed {seed}, tip {tip}");
                        assert_eq!(shared.newest(node, 20), newest, "seed {seed}, tip {tip}");
                    }
                    None => assert_eq!(total, 0, "seed {seed}: {tip} is new but was not walked"),
                }
            }
        }
    }

    /// An update of up to [`IN_PROCESS`] commits is walked in-process, a longer one is
    /// left to git after the walk has met that many.
    #[test]
    fn only_updates_up_to_the_threshold_are_walked_in_process() {
        let tmp = tempfile::tempdir().expect("a temporary directory");
        let dir = tmp.path().join("r.git");
        git(&dir, &["init", "-q", "--bare"], None);
        let mut stream = String::new();
        for i in 1..=IN_PROCESS + 2 {
            stream.push_str(&format!(
                "commit refs/heads/main\nmark :{i}\ncommitter C <c@example.com> {} +0000\ndata 1\n{}\n\n",
                1_000_000_000 + i,
                i % 10
            ));
        }
        git(&dir, &["fast-import", "--quiet"], Some(&stream));
        let repo = Repository::open(&dir).expect("the repository opens");
        let history = History::new(&repo, &dir, Vec::new());
        let at = |back: usize| {
            git(&dir, &["rev-parse", &format!("main~{back}")], None)
                .trim()
                .to_string()
        };
        let head = at(0);
        let walked = history.above(&at(IN_PROCESS), &head, 20).expect("walked in-process");
        assert_eq!((walked.total, walked.newest.last()), (IN_PROCESS, Some(&head)));
        assert_eq!(history.above(&at(IN_PROCESS + 1), &head, 20), None);
    }

    /// Updates walked in-process count and list exactly what `git rev-list old..new`
    /// does, and the walk hands over to git whenever it cannot be sure.
    #[test]
    fn in_process_walks_match_rev_list() {
        let mut walked = 0;
        for seed in 1..=16u64 {
            let tmp = tempfile::tempdir().expect("a temporary directory");
            let dir = tmp.path().join("r.git");
            let mut rng = Rng(0xD1B5_4A32_D192_ED03 ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let all = random_repo(&dir, &mut rng, 150, 6);
            let repo = Repository::open(&dir).expect("the repository opens");
            let history = History::new(&repo, &dir, Vec::new());
            for _ in 0..25 {
                let new = &all[rng.below(all.len() as u64) as usize];
                let ancestors: Vec<String> = git(&dir, &["rev-list", new], None)
                    .lines()
                    .map(str::to_string)
                    .collect();
                let old = &ancestors[rng.below(ancestors.len() as u64) as usize];
                let range = format!("{new}\n^{old}\n");
                let total: usize = git(&dir, &["rev-list", "--count", "--stdin"], Some(&range))
                    .trim()
                    .parse()
                    .expect("a count");
                let mut newest: Vec<String> = git(&dir, &["rev-list", "-n20", "--stdin"], Some(&range))
                    .lines()
                    .map(str::to_string)
                    .collect();
                newest.reverse();
                if let Some(selection) = history.above(old, new, 20) {
                    walked += 1;
                    let expected = Selection {
                        total,
                        newest,
                        forced: false,
                    };
                    assert_eq!(selection, expected, "seed {seed}: {old}..{new}");
                }
            }
        }
        assert!(walked > 100, "only {walked} ranges were walked in-process");
    }
}
