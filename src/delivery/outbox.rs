//! The outbox: deliveries not yet made, deliveries set aside as failed, hooks backing
//! off, and pushes whose events are still to be built, kept as files under
//! `GIT_DIR/webhooks/` (see [`crate::delivery::store`]) until they are sent.
//!
//! Files hold the hook's name, never its URL or credentials. One lock file per hook makes
//! sure only one process sends a hook's deliveries at a time.

use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::delivery::log::Log;
use crate::delivery::store::{self, Sharing, Store, Unsynced};
use crate::event::EventKind;
use crate::timefmt;

/// What started a run; shown in the delivery log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    #[default]
    Push,
    Replay,
    Test,
    Redeliver,
    Send,
}

/// One event for one hook, with the id it keeps across retries and redeliveries.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Delivery {
    pub id: String,
    pub hook: String,
    pub event: EventKind,
    #[serde(rename = "ref")]
    pub refname: String,
    pub created: String,
    pub trigger: Trigger,
    pub attempts: u32,
    pub body: String,
}

impl Trigger {
    /// The name shown in logs.
    pub fn name(self) -> &'static str {
        match self {
            Trigger::Push => "push",
            Trigger::Replay => "replay",
            Trigger::Test => "test",
            Trigger::Redeliver => "redeliver",
            Trigger::Send => "send",
        }
    }
}

impl Delivery {
    /// A new delivery; `id` comes from [`fresh_id`] or [`derived_id`].
    pub fn new(id: String, hook: &str, event: EventKind, refname: &str, body: Vec<u8>, trigger: Trigger) -> Delivery {
        Delivery {
            id,
            hook: hook.to_string(),
            event,
            refname: refname.to_string(),
            created: timefmt::now_utc(),
            trigger,
            attempts: 0,
            body: String::from_utf8(body).expect("bodies are JSON text"),
        }
    }
}

/// A push whose events are still to be built (the config was broken, or building them
/// did not fit in a run's time budget): enough to build them later.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecordedPush {
    pub created: String,
    /// The stdin lines, as bytes (ref names need not be UTF-8).
    pub lines: Vec<Vec<u8>>,
    /// Commit tips that existed before the push.
    pub tips_before: Vec<String>,
    pub pusher: String,
    pub push_options: Vec<String>,
}

/// Deliveries of one hook kept together in one file, in order. A run keeps what it could
/// not send as one batch, so that keeping thousands of events costs one fsync, not
/// thousands.
pub struct Batch {
    pub path: PathBuf,
    /// The deliveries still to make.
    pub deliveries: Vec<Delivery>,
    /// How many of the file's deliveries were made already (see [`Progress`]).
    pub done: usize,
}

/// A delivery that the receiver refused: it will not succeed by retrying, so it waits
/// for `git-webhooks redeliver --failed`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Failed {
    pub delivery: Delivery,
    pub status: Option<u16>,
    pub error: String,
    pub failed_at: String,
}

/// A hook that pushes skip until `until_ms` after transient failures.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Backoff {
    pub hook: String,
    /// Failed runs in a row.
    pub failures: u32,
    /// Milliseconds since the epoch.
    pub until_ms: u64,
    pub error: String,
}

/// The first pause after a failure, and the longest.
const BACKOFF_FIRST: Duration = Duration::from_secs(60);
const BACKOFF_MAX: Duration = Duration::from_secs(3600);

impl Backoff {
    /// True while pushes should leave the hook alone.
    pub fn active(&self) -> bool {
        u128::from(self.until_ms) > timefmt::now_millis()
    }

    /// When it ends, as RFC 3339 UTC text.
    pub fn until(&self) -> String {
        timefmt::rfc3339((self.until_ms / 1000) as i64, 0)
    }

    /// The pause after `failures` failed runs in a row: a minute, doubling up to an hour,
    /// each ±20 % so that hooks of many repositories do not come back in step.
    fn pause(failures: u32) -> Duration {
        let doubled = BACKOFF_FIRST.saturating_mul(1u32 << failures.saturating_sub(1).min(10));
        doubled.min(BACKOFF_MAX).mul_f64(rand::thread_rng().gen_range(0.8..1.2))
    }
}

/// What one hook has waiting, counted without changing anything (for `status`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Census {
    pub hook: String,
    /// Deliveries kept for the next run.
    pub pending: usize,
    /// Deliveries set aside as failed.
    pub failed: usize,
    pub backoff: Option<Backoff>,
}

/// Why a kept file could not be used.
enum ReadError {
    /// It could not be read now (permissions, too many open files): it stays.
    Io(std::io::Error),
    /// Its content is not what git-webhooks writes: it is set aside.
    Corrupt,
}

/// The `webhooks/` directory of one repository.
pub struct Outbox {
    store: Store,
    log: Log,
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// A file name that sorts in creation order.
fn ordered_name(suffix: &str) -> String {
    let seq = SEQUENCE.fetch_add(1, Ordering::SeqCst);
    format!(
        "{:016}-{:08}-{seq:06}-{suffix}.json",
        timefmt::now_millis(),
        std::process::id()
    )
}

/// Past this length a hook's file name is shortened and made unique by a hash.
const MAX_KEY: usize = 100;

/// A file name for a hook name. It must be one-to-one, so that two hooks never share
/// an outbox: letters, digits, `-` and `.` stay; every other byte becomes `_xx` (hex).
/// A long name keeps its first part and gets the hash of the whole (`~` never comes
/// out of the escaping, so the two forms cannot meet).
fn file_key(hook: &str) -> String {
    let mut key = String::from("h-");
    for byte in hook.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.' {
            key.push(byte as char);
        } else {
            key.push_str(&format!("_{byte:02x}"));
        }
    }
    if key.len() <= MAX_KEY {
        return key;
    }
    let cut = MAX_KEY - 34;
    let digest = Sha256::digest(hook.as_bytes());
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("{}~{hex}", &key[..cut])
}

impl Outbox {
    /// The outbox of the repository at `git_dir`, whose files are shared as `sharing` says.
    pub fn new(git_dir: &Path, sharing: Sharing) -> Outbox {
        let store = Store::new(git_dir.join("webhooks"), sharing);
        Outbox {
            log: Log::new(store.clone()),
            store,
        }
    }

    /// The directory holding everything the hook writes.
    pub fn root(&self) -> &Path {
        self.store.root()
    }

    /// How files under the root are made.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The delivery log.
    pub fn log(&self) -> &Log {
        &self.log
    }

    fn hook_dir(&self, hook: &str) -> PathBuf {
        self.root().join("outbox").join(file_key(hook))
    }

    fn failed_dir(&self, hook: &str) -> PathBuf {
        self.root().join("failed").join(file_key(hook))
    }

    fn backoff_path(&self, hook: &str) -> PathBuf {
        self.root().join("backoff").join(format!("{}.json", file_key(hook)))
    }

    fn pushes_dir(&self) -> PathBuf {
        self.root().join("pushes")
    }

    /// What under the root cannot be read (as opposed to does not exist), if anything.
    pub fn unreadable(&self) -> Option<String> {
        let mut dirs = vec![self.root().to_path_buf(), self.pushes_dir()];
        for kind in ["outbox", "failed"] {
            let dir = self.root().join(kind);
            if let Ok(entries) = fs::read_dir(&dir) {
                dirs.extend(entries.flatten().map(|e| e.path()));
            }
            dirs.push(dir);
        }
        dirs.into_iter().find_map(|dir| match fs::read_dir(&dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Some(format!("cannot read {}: {}", dir.display(), store::describe(&e)))
            }
            _ => None,
        })
    }

    /// Waits until `deadline` for the exclusive right to send `name`'s deliveries; the
    /// error says why it was not had.
    pub fn lock(&self, name: &str, deadline: Instant) -> Result<File, String> {
        let path = self.root().join("locks").join(file_key(name));
        let file = self
            .store
            .open(&path, false)
            .map_err(|e| format!("cannot open {}: {}", path.display(), store::describe(&e)))?;
        loop {
            if file.try_lock().is_ok() {
                return Ok(file);
            }
            if Instant::now() >= deadline {
                return Err("another git-webhooks process is still sending to this hook".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Keeps deliveries of one hook for later, in order, as one batch file, and returns
    /// before they reach the disk (see [`Store::write_unsynced`]).
    pub fn put(&self, hook: &str, deliveries: &[Delivery]) -> std::io::Result<Unsynced> {
        let first = deliveries.first().map_or("empty", |d| d.id.as_str());
        let path = self.hook_dir(hook).join(ordered_name(first));
        self.store.write_unsynced(&path, &batch_bytes(deliveries))
    }

    /// Keeps deliveries as the batch `name`, replacing a batch of that name: writing the
    /// same deliveries twice keeps them once.
    pub fn put_as(&self, hook: &str, name: &str, deliveries: &[Delivery]) -> std::io::Result<PathBuf> {
        let path = self.hook_dir(hook).join(name);
        self.store.write(&path, &batch_bytes(deliveries), true)?;
        Ok(path)
    }

    /// Rewrites a batch with the deliveries still to make (attempt counts updated), or
    /// removes it when none are left.
    pub fn settle(&self, batch: &Batch, remaining: &[Delivery]) -> std::io::Result<()> {
        let forget_progress = || match fs::remove_file(progress_path(&batch.path)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        };
        if remaining.is_empty() {
            fs::remove_file(&batch.path)?;
            forget_progress()
        } else {
            // Progress counts from the start of the file: forget it before the file shrinks,
            // so that a crash in between sends some events twice rather than skips any.
            forget_progress()?;
            self.store.write(&batch.path, &batch_bytes(remaining), true)
        }
    }

    /// Where to note the progress of `batch`.
    pub fn progress<'a>(&'a self, batch: &Batch) -> Progress<'a> {
        Progress {
            store: &self.store,
            path: progress_path(&batch.path),
            file: None,
        }
    }

    /// The kept batches of one hook, oldest first, and what was wrong with the others:
    /// unreadable files stay for the next run, unparseable ones are set aside.
    pub fn pending(&self, hook: &str) -> (Vec<Batch>, Vec<String>) {
        let mut problems = Vec::new();
        let mut batches = Vec::new();
        for path in self.store.list(&self.hook_dir(hook), ".json") {
            let done = progress_of(&path);
            match self.read_batch(&path) {
                Ok(all) if done < all.len() => {
                    let deliveries = all.into_iter().skip(done).collect();
                    batches.push(Batch { path, deliveries, done });
                }
                // Every delivery was made; the run that made them stopped before removing it.
                Ok(_) => {
                    let _ = fs::remove_file(&path);
                    let _ = fs::remove_file(progress_path(&path));
                }
                Err(e) => problems.push(self.problem(&path, e)),
            }
        }
        (batches, problems)
    }

    /// The hook names that have kept deliveries, as stored in their files.
    pub fn hooks_with_pending(&self) -> Vec<String> {
        self.hook_names("outbox", |path| {
            self.read_batch(path).ok().map(|batch| batch[0].hook.clone())
        })
    }

    /// The hook names of the subdirectories of `kind`, read from their first readable file.
    fn hook_names(&self, kind: &str, name_in: impl Fn(&Path) -> Option<String>) -> Vec<String> {
        let Ok(entries) = fs::read_dir(self.root().join(kind)) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| self.store.list(&e.path(), ".json").iter().find_map(|p| name_in(p)))
            .collect();
        names.sort();
        names
    }

    /// Every hook's pending and failed deliveries and backoff, read only: nothing is
    /// removed or rewritten, so that any account that can read the files may count them.
    /// Recorded pushes, whose events are still to be built, are counted apart.
    pub fn census(&self) -> (Vec<Census>, usize, Vec<String>) {
        #[derive(Deserialize)]
        struct Named {
            hook: String,
        }
        let mut hooks: std::collections::BTreeMap<String, Census> = Default::default();
        let mut problems = Vec::new();
        let kept = |dir: &Path, problems: &mut Vec<String>| -> Vec<PathBuf> {
            match fs::read_dir(dir) {
                Ok(entries) => {
                    let mut files: Vec<PathBuf> = entries
                        .flatten()
                        .map(|e| e.path())
                        .filter(|p| {
                            let name = p.file_name().map(|n| n.to_string_lossy()).unwrap_or_default();
                            name.ends_with(".json") && !name.starts_with('.')
                        })
                        .collect();
                    files.sort();
                    files
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
                Err(e) => {
                    problems.push(format!("cannot read {}: {}", dir.display(), store::describe(&e)));
                    Vec::new()
                }
            }
        };
        for key_dir in kept_dirs(&self.root().join("outbox")) {
            for path in kept(&key_dir, &mut problems) {
                let Ok(batch) = self.read_json::<Vec<Named>>(&path) else {
                    problems.push(format!("cannot read {}", path.display()));
                    continue;
                };
                let done = progress_of(&path);
                if let Some(first) = batch.first() {
                    let entry = hooks.entry(key(&key_dir)).or_default();
                    entry.hook.clone_from(&first.hook);
                    entry.pending += batch.len().saturating_sub(done);
                }
            }
        }
        for key_dir in kept_dirs(&self.root().join("failed")) {
            let files = kept(&key_dir, &mut problems);
            let Some(first) = files.first() else { continue };
            let entry = hooks.entry(key(&key_dir)).or_default();
            entry.failed = files.len();
            match self.read_json::<Failed>(first) {
                Ok(f) => entry.hook = f.delivery.hook,
                Err(_) => problems.push(format!("cannot read {}", first.display())),
            }
        }
        for path in kept(&self.root().join("backoff"), &mut problems) {
            if let Ok(backoff) = self.read_json::<Backoff>(&path) {
                let key = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let entry = hooks.entry(key).or_default();
                entry.hook.clone_from(&backoff.hook);
                entry.backoff = Some(backoff);
            }
        }
        let pushes = kept(&self.pushes_dir(), &mut problems).len();
        let mut hooks: Vec<Census> = hooks.into_values().filter(|c| !c.hook.is_empty()).collect();
        hooks.sort_by(|a, b| a.hook.cmp(&b.hook));
        (hooks, pushes, problems)
    }

    /// Sets a refused delivery aside, with why it was refused.
    pub fn put_failed(&self, delivery: &Delivery, status: Option<u16>, error: &str) -> std::io::Result<()> {
        let failed = Failed {
            delivery: delivery.clone(),
            status,
            error: error.to_string(),
            failed_at: timefmt::now_utc(),
        };
        let dir = self.failed_dir(&delivery.hook);
        // One file per id: setting the same delivery aside again replaces it.
        let existing = self
            .store
            .list(&dir, ".json")
            .into_iter()
            .find(|p| p.to_string_lossy().ends_with(&format!("-{}.json", delivery.id)));
        let path = existing.unwrap_or_else(|| dir.join(ordered_name(&delivery.id)));
        self.store
            .write(&path, &serde_json::to_vec(&failed).expect("failures serialize"), true)
    }

    /// The failed deliveries of one hook, oldest first, with their files.
    pub fn failed(&self, hook: &str) -> (Vec<(PathBuf, Failed)>, Vec<String>) {
        let mut problems = Vec::new();
        let mut failed = Vec::new();
        for path in self.store.list(&self.failed_dir(hook), ".json") {
            match self.read_json(&path) {
                Ok(f) => failed.push((path, f)),
                Err(e) => problems.push(self.problem(&path, e)),
            }
        }
        (failed, problems)
    }

    /// The hook names that have failed deliveries.
    pub fn hooks_with_failed(&self) -> Vec<String> {
        self.hook_names("failed", |path| {
            self.read_json::<Failed>(path).ok().map(|f| f.delivery.hook)
        })
    }

    /// The hook's backoff, if it has one (active or over).
    pub fn backoff(&self, hook: &str) -> Option<Backoff> {
        self.read_json(&self.backoff_path(hook)).ok()
    }

    /// Notes another failed run of `hook`: pushes leave it alone for a while.
    pub fn back_off(&self, hook: &str, error: &str) -> std::io::Result<Backoff> {
        let failures = self.backoff(hook).map_or(0, |b| b.failures) + 1;
        let until = timefmt::now_millis() + Backoff::pause(failures).as_millis();
        let backoff = Backoff {
            hook: hook.to_string(),
            failures,
            until_ms: until as u64,
            error: error.to_string(),
        };
        let bytes = serde_json::to_vec(&backoff).expect("backoffs serialize");
        self.store.write(&self.backoff_path(hook), &bytes, false)?;
        Ok(backoff)
    }

    /// Ends the hook's backoff: a delivery went through.
    pub fn end_backoff(&self, hook: &str) {
        let _ = fs::remove_file(self.backoff_path(hook));
    }

    /// Records a push whose events cannot be built now.
    pub fn put_push(&self, push: &RecordedPush) -> std::io::Result<PathBuf> {
        let path = self.pushes_dir().join(ordered_name("push"));
        self.store
            .write(&path, &serde_json::to_vec(push).expect("pushes serialize"), true)?;
        Ok(path)
    }

    /// Rewrites a recorded push with the lines still to build, or removes it when none
    /// are left.
    pub fn settle_push(&self, path: &Path, push: &RecordedPush) -> std::io::Result<()> {
        if push.lines.is_empty() {
            return fs::remove_file(path);
        }
        self.store
            .write(path, &serde_json::to_vec(push).expect("pushes serialize"), true)
    }

    /// True when some push is recorded, without reading it.
    pub fn has_recorded_pushes(&self) -> bool {
        !self.store.list(&self.pushes_dir(), ".json").is_empty()
    }

    /// The recorded pushes, oldest first, with their files; unparseable ones are set aside.
    pub fn recorded_pushes(&self) -> (Vec<(PathBuf, RecordedPush)>, Vec<String>) {
        let mut problems = Vec::new();
        let mut pushes = Vec::new();
        for path in self.store.list(&self.pushes_dir(), ".json") {
            match self.read_json(&path) {
                Ok(push) => pushes.push((path, push)),
                Err(e) => problems.push(self.problem(&path, e)),
            }
        }
        (pushes, problems)
    }

    /// A batch file's deliveries; an empty batch is not one git-webhooks writes.
    fn read_batch(&self, path: &Path) -> Result<Vec<Delivery>, ReadError> {
        self.read_json::<Vec<Delivery>>(path)
            .and_then(|b| if b.is_empty() { Err(ReadError::Corrupt) } else { Ok(b) })
    }

    fn read_json<T: serde::de::DeserializeOwned>(&self, path: &Path) -> Result<T, ReadError> {
        let bytes = self.store.read(path).map_err(ReadError::Io)?;
        serde_json::from_slice(&bytes).map_err(|_| ReadError::Corrupt)
    }

    /// What to say about a file that could not be used; corrupt ones are set aside.
    fn problem(&self, path: &Path, error: ReadError) -> String {
        match error {
            ReadError::Io(e) => format!(
                "cannot read {} ({}); it stays and is tried again next time",
                path.display(),
                store::describe(&e)
            ),
            ReadError::Corrupt => set_aside(path),
        }
    }
}

/// The per-hook directories under `dir`, without following links.
fn kept_dirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect()
}

/// The hook's file key that names a per-hook directory.
fn key(dir: &Path) -> String {
    dir.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A batch file's bytes: its deliveries as a JSON array, in order.
fn batch_bytes(deliveries: &[Delivery]) -> Vec<u8> {
    serde_json::to_vec(deliveries).expect("deliveries serialize")
}

/// The progress of one batch: a file beside it that gains one byte per delivery made or
/// set aside, so that a run killed in the middle of a batch does not send those again.
/// It is only ever appended to, once per delivery: a crash can lose the last notes (after
/// a power loss, since they are not fsynced, a few deliveries may be sent twice, with
/// their ids), but it never makes a note that no delivery earned, so no delivery is
/// skipped.
pub struct Progress<'a> {
    store: &'a Store,
    path: PathBuf,
    file: Option<File>,
}

impl Progress<'_> {
    /// Notes one more delivery made. A note that cannot be made costs at most a
    /// duplicate after a crash.
    pub fn note(&mut self) {
        if self.file.is_none() {
            self.file = self.store.open(&self.path, true).ok();
        }
        if let Some(file) = &mut self.file {
            let _ = file.write_all(b".");
        }
    }
}

/// How many of a batch's deliveries its progress file says were made.
fn progress_of(batch: &Path) -> usize {
    fs::symlink_metadata(progress_path(batch))
        .ok()
        .filter(|m| m.is_file())
        .map_or(0, |m| m.len() as usize)
}

/// Where a batch's progress is noted: `NAME.json.done`.
fn progress_path(batch: &Path) -> PathBuf {
    let mut name = batch.as_os_str().to_owned();
    name.push(".done");
    PathBuf::from(name)
}

fn set_aside(path: &Path) -> String {
    let aside = path.with_extension("corrupt");
    match fs::rename(path, &aside) {
        Ok(()) => format!(
            "{} could not be read and was set aside as {}",
            path.display(),
            aside.display()
        ),
        Err(e) => format!("{} could not be read or set aside: {e}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_resumes_after_what_was_noted_and_never_skips() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = Outbox::new(dir.path(), Sharing::PRIVATE);
        let deliveries: Vec<Delivery> = (0..5)
            .map(|i| {
                Delivery::new(
                    format!("id-{i}"),
                    "h",
                    EventKind::Push,
                    "refs/heads/main",
                    b"{}".to_vec(),
                    Trigger::Push,
                )
            })
            .collect();
        outbox.put("h", &deliveries).unwrap().sync().unwrap();
        let pending = |outbox: &Outbox| {
            let (batches, problems) = outbox.pending("h");
            assert!(problems.is_empty(), "{problems:?}");
            batches.into_iter().next().unwrap()
        };
        let batch = pending(&outbox);
        assert_eq!(batch.done, 0);
        let mut progress = outbox.progress(&batch);
        progress.note();
        progress.note();
        let batch = pending(&outbox);
        assert_eq!((batch.done, batch.deliveries[0].id.as_str()), (2, "id-2"));
        outbox.progress(&batch).note();
        assert_eq!(pending(&outbox).done, 3);
        // A note written whole, as an older version did, counts as at most its length:
        // some deliveries are sent again, none is skipped.
        fs::write(progress_path(&batch.path), "4").unwrap();
        assert_eq!(pending(&outbox).done, 1);
    }

    #[test]
    fn hook_names_map_to_distinct_file_names() {
        assert_ne!(file_key("构建"), file_key("部署"));
        assert_ne!(file_key("a_b"), file_key("a b"));
        assert_eq!(file_key("ci.example.com"), "h-ci.example.com");
        assert_eq!(file_key(".."), "h-..");
    }

    #[test]
    fn long_hook_names_get_bounded_distinct_file_names() {
        let long = "构建".repeat(100);
        let other = format!("{}x", "构建".repeat(100));
        let emoji = "🚀".repeat(200);
        for name in [&long, &other, &emoji] {
            let key = file_key(name);
            assert!(key.len() <= MAX_KEY, "{key}");
            assert!(
                key.starts_with("h-_e6_9e_84") || key.starts_with("h-_f0_9f_9a_80"),
                "{key}"
            );
        }
        assert_ne!(file_key(&long), file_key(&other));
        let ascii = "a".repeat(200);
        assert_ne!(file_key(&ascii), file_key(&"a".repeat(201)));
    }

    #[test]
    fn backoff_doubles_from_a_minute_to_an_hour() {
        let secs = |n| Backoff::pause(n).as_secs_f64();
        assert!((48.0..=72.0).contains(&secs(1)), "{}", secs(1));
        assert!((96.0..=144.0).contains(&secs(2)), "{}", secs(2));
        assert!((2880.0..=4320.0).contains(&secs(30)), "{}", secs(30));
    }
}
