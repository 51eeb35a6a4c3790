//! The delivery log: one JSON line per attempt in `GIT_DIR/webhooks/deliveries.log`,
//! and the "recent deliveries" view of it.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::delivery::outbox::Trigger;
use crate::delivery::store::Store;

/// Past this size the log is moved to `deliveries.log.1` and started again.
const ROTATE_BYTES: u64 = 16 << 20;

/// One attempt to deliver, or (with `problem`) something a run noted for the
/// administrator instead of showing it to the pusher.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Record {
    pub time: String,
    pub hook: String,
    pub event: String,
    #[serde(rename = "ref")]
    pub refname: String,
    pub delivery: String,
    pub attempt: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub duration_ms: u64,
    pub trigger: Trigger,
    /// The receiver refused the delivery and it was set aside as failed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub set_aside: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// The log file of a repository.
pub fn path(webhooks_dir: &Path) -> PathBuf {
    webhooks_dir.join("deliveries.log")
}

/// The log of one repository, opened at its first record and kept open for the run.
pub struct Log {
    store: Store,
    file: Mutex<Option<fs::File>>,
}

impl Log {
    pub fn new(store: Store) -> Log {
        Log {
            store,
            file: Mutex::new(None),
        }
    }

    /// Appends one record (one `write` of one line, so concurrent writers do not
    /// interleave). A log past [`ROTATE_BYTES`] is moved aside first.
    pub fn append(&self, record: &Record) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(record).expect("records serialize");
        line.push(b'\n');
        let mut file = self.file.lock().unwrap_or_else(|e| e.into_inner());
        let full = |f: &fs::File| f.metadata().is_ok_and(|m| m.len() > ROTATE_BYTES);
        if file.as_ref().is_none_or(full) {
            let path = path(self.store.root());
            if fs::symlink_metadata(&path).is_ok_and(|m| m.len() > ROTATE_BYTES) {
                let _ = fs::rename(&path, path.with_extension("log.1"));
            }
            *file = Some(self.store.open(&path, true)?);
        }
        file.as_mut().expect("opened above").write_all(&line)
    }
}

/// The last `n` records, oldest first; lines that are not records are skipped. No log
/// yet is no records; a log that cannot be read is an error.
pub fn recent(store: &Store, n: usize) -> std::io::Result<Vec<Record>> {
    let bytes = match store.read(&path(store.root())) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let text = String::from_utf8_lossy(&bytes);
    let records: Vec<Record> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    Ok(records[records.len().saturating_sub(n)..].to_vec())
}

/// How much of the end of the log [`last_per_hook`] reads.
const TAIL_BYTES: u64 = 256 << 10;

/// Each hook's last attempt in the last 256 KiB of the log (read only, without loading
/// the whole log): what `status` shows as the last delivery.
pub fn last_per_hook(webhooks_dir: &Path) -> std::io::Result<BTreeMap<String, Record>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = match fs::File::open(path(webhooks_dir)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    let from = len.saturating_sub(TAIL_BYTES);
    file.seek(SeekFrom::Start(from))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    // A tail that starts mid-line skips that line.
    let lines = text.lines().skip(usize::from(from > 0));
    let mut last = BTreeMap::new();
    for record in lines.filter_map(|l| serde_json::from_str::<Record>(l).ok()) {
        if record.problem.is_none() && record.attempt > 0 {
            last.insert(record.hook.clone(), record);
        }
    }
    Ok(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::store::Sharing;

    #[test]
    fn a_full_log_is_moved_aside_before_the_next_line_also_while_it_is_open() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("webhooks"), Sharing::PRIVATE);
        let log = Log::new(store.clone());
        let line = |n: u32| Record {
            hook: "ci".into(),
            attempt: n,
            ..Record::default()
        };
        let (current, aside) = (path(store.root()), path(store.root()).with_extension("log.1"));
        log.append(&line(1)).unwrap();
        // The log grows past the limit while this run holds it open (other runs wrote).
        fs::OpenOptions::new()
            .write(true)
            .open(&current)
            .unwrap()
            .set_len(ROTATE_BYTES + 1)
            .unwrap();
        log.append(&line(2)).unwrap();
        assert_eq!(fs::metadata(&aside).unwrap().len(), ROTATE_BYTES + 1);
        log.append(&line(3)).unwrap();
        let attempts: Vec<u32> = recent(&store, 10).unwrap().iter().map(|r| r.attempt).collect();
        assert_eq!(attempts, [2, 3]);
        // A new run finds the full log at its first line.
        fs::OpenOptions::new()
            .write(true)
            .open(&current)
            .unwrap()
            .set_len(ROTATE_BYTES + 2)
            .unwrap();
        Log::new(store.clone()).append(&line(4)).unwrap();
        assert_eq!(fs::metadata(&aside).unwrap().len(), ROTATE_BYTES + 2);
        let attempts: Vec<u32> = recent(&store, 10).unwrap().iter().map(|r| r.attempt).collect();
        assert_eq!(attempts, [4]);
    }
}
