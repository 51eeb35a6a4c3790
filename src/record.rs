//! The delivery log: one JSON line per attempt in `GIT_DIR/webhooks/deliveries.log`,
//! and the "recent deliveries" view of it.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::outbox::Trigger;

/// Past this size the log is moved to `deliveries.log.1` and started again.
const ROTATE_BYTES: u64 = 16 << 20;

/// One attempt to deliver.
#[derive(Clone, Debug, Serialize, Deserialize)]
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
}

/// The log file of a repository.
pub fn path(webhooks_dir: &Path) -> PathBuf {
    webhooks_dir.join("deliveries.log")
}

/// Appends one record (one `write` of one line, so concurrent writers do not interleave).
pub fn append(webhooks_dir: &Path, record: &Record) -> std::io::Result<()> {
    fs::create_dir_all(webhooks_dir)?;
    let path = path(webhooks_dir);
    if fs::metadata(&path).is_ok_and(|m| m.len() > ROTATE_BYTES) {
        let _ = fs::rename(&path, path.with_extension("log.1"));
    }
    let mut line = serde_json::to_vec(record).expect("records serialize");
    line.push(b'\n');
    let mut file = OpenOptions::new().create(true).append(true).mode(0o600).open(&path)?;
    file.write_all(&line)
}

/// The last `n` records, oldest first; lines that are not records are skipped.
pub fn recent(webhooks_dir: &Path, n: usize) -> Vec<Record> {
    let text = fs::read_to_string(path(webhooks_dir)).unwrap_or_default();
    let records: Vec<Record> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    records[records.len().saturating_sub(n)..].to_vec()
}
