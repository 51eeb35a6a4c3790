//! The files git-webhooks writes under `GIT_DIR/webhooks/`: created with the
//! repository's sharing mode, never through a symbolic link, replaced atomically, and
//! with directories fsynced when they gain an entry.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Temporary files start with this; a crash may leave some behind.
const TMP_PREFIX: &str = ".tmp-";
/// A temporary file older than this was left by a process that died.
const STALE_TMP: Duration = Duration::from_secs(600);

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

/// The modes of what git-webhooks creates, from `core.sharedRepository` as git reads it:
/// private to the owner by default; group-writable (directories setgid, as git makes
/// its own) when the repository is shared with a group. Never readable by others: the
/// files hold deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sharing {
    file: u32,
    dir: u32,
}

impl Sharing {
    /// Owner only: `0600` files, `0700` directories.
    pub const PRIVATE: Sharing = Sharing {
        file: 0o600,
        dir: 0o700,
    };
    /// The group too: `0660` files, `2770` directories.
    pub const GROUP: Sharing = Sharing {
        file: 0o660,
        dir: 0o2770,
    };

    /// Reads a `core.sharedRepository` value (`None`: unset).
    pub fn from_git(value: Option<&str>) -> Sharing {
        let Some(value) = value.map(|v| v.trim().to_ascii_lowercase()) else {
            return Sharing::PRIVATE;
        };
        match value.as_str() {
            "" | "umask" | "false" | "no" | "off" | "0" => Sharing::PRIVATE,
            "group" | "true" | "yes" | "on" | "1" | "all" | "world" | "everybody" | "2" => Sharing::GROUP,
            octal => match u32::from_str_radix(octal, 8) {
                // `0640`, `0660`…: the owner always reads and writes, others never get in.
                Ok(mode) if mode & 0o060 != 0 => {
                    let file = (mode & 0o660) | 0o600;
                    Sharing {
                        file,
                        dir: 0o2000 | file | ((file & 0o444) >> 2),
                    }
                }
                _ => Sharing::PRIVATE,
            },
        }
    }

    /// True when other accounts of the group use the files too.
    pub fn is_shared(self) -> bool {
        self.file & 0o060 != 0
    }

    /// The mode of files.
    pub fn file_mode(self) -> u32 {
        self.file
    }
}

/// Says what a write error means for the user.
pub fn describe(error: &io::Error) -> String {
    match error.kind() {
        io::ErrorKind::StorageFull => format!("the disk is full ({error})"),
        io::ErrorKind::PermissionDenied => format!(
            "{error} (the files under webhooks/ belong to the account pushes run as; see \"Shared repositories\" in docs/setup.md)"
        ),
        _ => error.to_string(),
    }
}

/// The `webhooks/` directory of one repository and how its files are made.
#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
    sharing: Sharing,
}

impl Store {
    /// The store at `root` (`GIT_DIR/webhooks`).
    pub fn new(root: PathBuf, sharing: Sharing) -> Store {
        Store { root, sharing }
    }

    /// The `webhooks/` directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Makes `dir` (at or below the root) and the missing directories above it, each
    /// with the sharing mode and fsynced into its parent; refuses symbolic links.
    pub fn ensure_dir(&self, dir: &Path) -> io::Result<()> {
        match fs::symlink_metadata(dir) {
            Ok(m) if m.file_type().is_symlink() => Err(symlink_error(dir)),
            Ok(m) if m.is_dir() => Ok(()),
            Ok(_) => Err(io::Error::other(format!("{} is not a directory", dir.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let parent = dir.parent().expect("store directories have parents");
                if dir != self.root {
                    self.ensure_dir(parent)?;
                }
                match fs::DirBuilder::new().mode(self.sharing.dir & 0o777).create(dir) {
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return self.ensure_dir(dir),
                    other => other?,
                }
                fs::set_permissions(dir, fs::Permissions::from_mode(self.sharing.dir))?;
                File::open(parent)?.sync_all()
            }
            Err(e) => Err(e),
        }
    }

    /// Opens a file for appending or locking, creating it with the sharing mode; never
    /// through a symbolic link.
    pub fn open(&self, path: &Path, append: bool) -> io::Result<File> {
        self.ensure_dir(path.parent().expect("store files live in a directory"))?;
        let mut options = OpenOptions::new();
        options
            .create(true)
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(self.sharing.file);
        if append {
            options.append(true);
        } else {
            options.write(true);
        }
        let file = options.open(path).map_err(|e| nofollow_error(e, path))?;
        self.fix_mode(&file)?;
        Ok(file)
    }

    /// Writes `bytes` to `path` atomically: a new temporary file, fsynced when `durable`,
    /// renamed over `path` (a symbolic link there is replaced, never followed).
    pub fn write(&self, path: &Path, bytes: &[u8], durable: bool) -> io::Result<()> {
        self.replace(path, bytes, durable)?;
        if durable {
            sync_dir(path)?;
        }
        Ok(())
    }

    /// Writes `bytes` to `path` atomically as [`Store::write`] does, and returns before
    /// they reach the disk, so that the caller can go on meanwhile: other processes see
    /// the file at once, and it survives this process being killed; [`Unsynced::sync`]
    /// makes it survive a power loss too.
    pub fn write_unsynced(&self, path: &Path, bytes: &[u8]) -> io::Result<Unsynced> {
        let file = self.replace(path, bytes, false)?;
        Ok(Unsynced {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Writes a new temporary file, fsynced when `sync`, and renames it over `path`.
    fn replace(&self, path: &Path, bytes: &[u8], sync: bool) -> io::Result<File> {
        let dir = path.parent().expect("store files live in a directory");
        self.ensure_dir(dir)?;
        let tmp = dir.join(format!(
            "{TMP_PREFIX}{}-{}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::SeqCst)
        ));
        let written = (|| {
            let mut file = OpenOptions::new()
                .write(true)
                .create_new(true)
                .custom_flags(libc::O_NOFOLLOW)
                .mode(self.sharing.file)
                .open(&tmp)?;
            self.fix_mode(&file)?;
            file.write_all(bytes)?;
            if sync {
                file.sync_all()?;
            }
            fs::rename(&tmp, path)?;
            Ok(file)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written
    }

    /// Reads a file without following a symbolic link.
    pub fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        let mut file = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW)
            .open(path)
            .map_err(|e| nofollow_error(e, path))?;
        let mut bytes = Vec::new();
        io::Read::read_to_end(&mut file, &mut bytes)?;
        Ok(bytes)
    }

    /// The entries of `dir` whose names end in `suffix`, sorted; temporary files that a
    /// dead process left are removed on the way.
    pub fn list(&self, dir: &Path, suffix: &str) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(dir) else {
            return Vec::new();
        };
        let mut files = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(TMP_PREFIX) {
                let stale = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| SystemTime::now().duration_since(t).unwrap_or_default() > STALE_TMP);
                if stale {
                    let _ = fs::remove_file(entry.path());
                }
            } else if name.ends_with(suffix) && !name.starts_with('.') {
                files.push(entry.path());
            }
        }
        files.sort();
        files
    }

    /// Gives a file we created the exact sharing mode, whatever the umask.
    fn fix_mode(&self, file: &File) -> io::Result<()> {
        if self.sharing != Sharing::PRIVATE {
            let mode = file.metadata()?.permissions().mode() & 0o7777;
            if mode != self.sharing.file {
                // Only the file's owner may change it; another member's file keeps its mode.
                let _ = file.set_permissions(fs::Permissions::from_mode(self.sharing.file));
            }
        }
        Ok(())
    }
}

/// A file in place whose bytes and name may not be on the disk yet.
#[must_use = "an unsynced file may not survive a power loss"]
pub struct Unsynced {
    file: File,
    path: PathBuf,
}

impl Unsynced {
    /// Puts the file's bytes and its name on the disk.
    pub fn sync(self) -> io::Result<()> {
        self.file.sync_all()?;
        sync_dir(&self.path)
    }
}

/// Puts the directory entry of `path` on the disk.
fn sync_dir(path: &Path) -> io::Result<()> {
    File::open(path.parent().expect("store files live in a directory"))?.sync_all()
}

fn symlink_error(path: &Path) -> io::Error {
    io::Error::other(format!(
        "{} is a symbolic link; git-webhooks never writes through links (remove it)",
        path.display()
    ))
}

/// `O_NOFOLLOW` on a link fails with `ELOOP`: say that it was a link.
fn nofollow_error(error: io::Error, path: &Path) -> io::Error {
    if error.raw_os_error() == Some(libc::ELOOP) {
        symlink_error(path)
    } else {
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharing_follows_core_shared_repository_without_world_access() {
        assert_eq!(Sharing::from_git(None), Sharing::PRIVATE);
        assert_eq!(Sharing::from_git(Some("umask")), Sharing::PRIVATE);
        assert_eq!(Sharing::from_git(Some("group")), Sharing::GROUP);
        assert_eq!(Sharing::from_git(Some("true")), Sharing::GROUP);
        assert_eq!(Sharing::from_git(Some("all")), Sharing::GROUP);
        assert_eq!(Sharing::from_git(Some("world")), Sharing::GROUP);
        let octal = Sharing::from_git(Some("0664"));
        assert_eq!((octal.file, octal.dir), (0o660, 0o2770));
        let read_only_group = Sharing::from_git(Some("0640"));
        assert_eq!((read_only_group.file, read_only_group.dir), (0o640, 0o2750));
        assert_eq!(Sharing::from_git(Some("0600")), Sharing::PRIVATE);
        assert_eq!(Sharing::from_git(Some("bogus")), Sharing::PRIVATE);
    }

    #[test]
    fn writes_replace_links_and_opens_refuse_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::new(dir.path().join("webhooks"), Sharing::PRIVATE);
        let decoy = dir.path().join("decoy");
        fs::write(&decoy, "keep").unwrap();
        store.ensure_dir(store.root()).unwrap();
        let link = store.root().join("deliveries.log");
        std::os::unix::fs::symlink(&decoy, &link).unwrap();
        let err = store.open(&link, true).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        store.write(&link, b"new", true).unwrap();
        assert_eq!(fs::read_to_string(&decoy).unwrap(), "keep");
        assert_eq!(fs::read_to_string(&link).unwrap(), "new");
        let linked_dir = store.root().join("outbox");
        std::os::unix::fs::symlink(dir.path(), &linked_dir).unwrap();
        assert!(store.write(&linked_dir.join("x.json"), b"{}", true).is_err());
        assert!(!dir.path().join("x.json").exists());
    }
}
