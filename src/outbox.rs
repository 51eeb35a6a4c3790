//! The outbox: deliveries not yet made, and pushes recorded while the config was
//! broken, kept as files under `GIT_DIR/webhooks/` until they are sent.
//!
//! Each file is written atomically (temporary file, fsync, rename) with mode 0600 and
//! holds the hook's name, never its URL or credentials. One lock file per hook makes
//! sure only one process sends a hook's deliveries at a time.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::event::EventKind;
use crate::timefmt;

/// What started a run; shown in the delivery log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
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
    /// A new delivery with a fresh id.
    pub fn new(hook: &str, event: EventKind, refname: &str, body: Vec<u8>, trigger: Trigger) -> Delivery {
        Delivery {
            id: uuid::Uuid::new_v4().to_string(),
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

/// A push kept while `webhooks.toml` was broken: enough to build its events later.
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
    /// How many of the file's deliveries were made already (see [`Outbox::mark_done`]).
    pub done: usize,
}

/// The `webhooks/` directory of one repository.
#[derive(Clone)]
pub struct Outbox {
    root: PathBuf,
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

/// A file name for a hook name. It must be one-to-one, so that two hooks never share
/// an outbox: letters, digits, `-` and `.` stay; every other byte becomes `_xx` (hex).
fn file_key(hook: &str) -> String {
    let mut key = String::from("h-");
    for byte in hook.bytes() {
        if byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.' {
            key.push(byte as char);
        } else {
            key.push_str(&format!("_{byte:02x}"));
        }
    }
    key
}

/// Writes `bytes` to `path` atomically with mode 0600.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().expect("outbox files live in a directory");
    fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(
        ".tmp-{}-{}",
        std::process::id(),
        SEQUENCE.fetch_add(1, Ordering::SeqCst)
    ));
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

impl Outbox {
    /// The outbox of the repository at `git_dir`.
    pub fn new(git_dir: &Path) -> Outbox {
        Outbox {
            root: git_dir.join("webhooks"),
        }
    }

    /// The directory holding everything the hook writes.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn hook_dir(&self, hook: &str) -> PathBuf {
        self.root.join("outbox").join(file_key(hook))
    }

    fn pushes_dir(&self) -> PathBuf {
        self.root.join("pushes")
    }

    /// Waits until `deadline` for the exclusive right to send `name`'s deliveries; the
    /// error says why it was not had.
    pub fn lock(&self, name: &str, deadline: Instant) -> Result<File, String> {
        let dir = self.root.join("locks");
        let path = dir.join(file_key(name));
        let cannot = |e: std::io::Error| {
            format!(
                "cannot open {}: {e} (every pusher must run hooks as the account that owns the repository)",
                path.display()
            )
        };
        fs::create_dir_all(&dir).map_err(cannot)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .map_err(cannot)?;
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

    /// Keeps deliveries of one hook for later, in order, as one batch file.
    pub fn put(&self, hook: &str, deliveries: &[Delivery]) -> std::io::Result<PathBuf> {
        let first = deliveries.first().map_or("empty", |d| d.id.as_str());
        let path = self.hook_dir(hook).join(ordered_name(first));
        write_private(&path, &serde_json::to_vec(deliveries).expect("deliveries serialize"))?;
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
            write_private(
                &batch.path,
                &serde_json::to_vec(remaining).expect("deliveries serialize"),
            )
        }
    }

    /// Notes that the first `done` deliveries of a batch were made, so that a run killed
    /// in the middle of a batch does not send them again. Not fsynced: after a power loss
    /// a few may be sent twice, with the same delivery ids.
    pub fn mark_done(&self, batch: &Batch, done: usize) {
        let progress = progress_path(&batch.path);
        let tmp = progress.with_extension("tmp");
        let written = OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .and_then(|mut f| f.write_all(done.to_string().as_bytes()));
        if written.is_ok() {
            let _ = fs::rename(&tmp, &progress);
        }
    }

    /// The kept batches of one hook, oldest first. Files that cannot be read are set aside
    /// (renamed `*.corrupt`) and reported in the second list.
    pub fn pending(&self, hook: &str) -> (Vec<Batch>, Vec<String>) {
        let mut problems = Vec::new();
        let mut batches = Vec::new();
        for path in json_files(&self.hook_dir(hook)) {
            let done: usize = fs::read_to_string(progress_path(&path))
                .ok()
                .and_then(|t| t.trim().parse().ok())
                .unwrap_or(0);
            match read_batch(&path) {
                Some(all) if done < all.len() => {
                    let deliveries = all.into_iter().skip(done).collect();
                    batches.push(Batch { path, deliveries, done });
                }
                // Every delivery was made; the run that made them stopped before removing it.
                Some(_) => {
                    let _ = fs::remove_file(&path);
                    let _ = fs::remove_file(progress_path(&path));
                }
                None => problems.push(set_aside(&path)),
            }
        }
        (batches, problems)
    }

    /// The hook names that have kept deliveries, as stored in their files.
    pub fn hooks_with_pending(&self) -> Vec<String> {
        let Ok(entries) = fs::read_dir(self.root.join("outbox")) else {
            return Vec::new();
        };
        let mut names: Vec<String> = entries
            .flatten()
            .filter_map(|e| {
                // The first readable file names the hook; corrupt ones are set aside later.
                json_files(&e.path())
                    .iter()
                    .find_map(|p| read_batch(p))
                    .map(|batch| batch[0].hook.clone())
            })
            .collect();
        names.sort();
        names
    }

    /// Records a push whose events cannot be built now.
    pub fn put_push(&self, push: &RecordedPush) -> std::io::Result<PathBuf> {
        let path = self.pushes_dir().join(ordered_name("push"));
        write_private(&path, &serde_json::to_vec(push).expect("pushes serialize"))?;
        Ok(path)
    }

    /// True when some push is recorded, without reading it.
    pub fn has_recorded_pushes(&self) -> bool {
        !json_files(&self.pushes_dir()).is_empty()
    }

    /// The recorded pushes, oldest first, with their files; unreadable ones are set aside.
    pub fn recorded_pushes(&self) -> (Vec<(PathBuf, RecordedPush)>, Vec<String>) {
        let mut problems = Vec::new();
        let mut pushes = Vec::new();
        for path in json_files(&self.pushes_dir()) {
            match read_json(&path) {
                Some(push) => pushes.push((path, push)),
                None => problems.push(set_aside(&path)),
            }
        }
        (pushes, problems)
    }
}

/// Where a batch's progress is noted: `NAME.json.done`.
fn progress_path(batch: &Path) -> PathBuf {
    let mut name = batch.as_os_str().to_owned();
    name.push(".done");
    PathBuf::from(name)
}

/// A batch file's deliveries; `None` when it is unreadable or empty.
fn read_batch(path: &Path) -> Option<Vec<Delivery>> {
    read_json::<Vec<Delivery>>(path).filter(|b| !b.is_empty())
}

/// A JSON file's contents; `None` when it cannot be read or parsed.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    serde_json::from_slice(&fs::read(path).ok()?).ok()
}

fn json_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension().is_some_and(|e| e == "json")
                && !p.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    files.sort();
    files
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
    use super::file_key;

    #[test]
    fn hook_names_map_to_distinct_file_names() {
        assert_ne!(file_key("构建"), file_key("部署"));
        assert_ne!(file_key("a_b"), file_key("a b"));
        assert_eq!(file_key("ci.example.com"), "h-ci.example.com");
        assert_eq!(file_key(".."), "h-..");
    }
}
