//! The paths a commit changed against its first parent (a root commit against the empty
//! tree), from a tree diff in libgit2: names only, never file contents.

use git2::{Delta, DiffFindOptions, DiffOptions, Oid, Repository};

/// What happened to one path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileChange {
    Added(String),
    Modified(String),
    Removed(String),
    /// Moved without a change of content (`from`, `to`): only exact renames are found,
    /// since finding similar files would read their contents.
    Renamed(String, String),
}

/// A commit's changed paths, at most a cap of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    /// The changes, in git's path order, at most the cap.
    pub files: Vec<FileChange>,
    /// How many paths changed in all.
    pub total: usize,
}

impl Changes {
    /// True when `files` holds fewer changes than there were.
    pub fn truncated(&self) -> bool {
        self.files.len() < self.total
    }
}

/// The changes of the commit `id` against its first parent, at most `max` of them.
pub fn of_commit(repo: &Repository, id: Oid, max: usize) -> Result<Changes, git2::Error> {
    let commit = repo.find_commit(id)?;
    let new = commit.tree()?;
    let old = match commit.parent(0) {
        Ok(parent) => Some(parent.tree()?),
        Err(_) => None,
    };
    let mut options = DiffOptions::new();
    options.skip_binary_check(true);
    let mut diff = repo.diff_tree_to_tree(old.as_ref(), Some(&new), Some(&mut options))?;
    let mut find = DiffFindOptions::new();
    find.renames(true).exact_match_only(true);
    diff.find_similar(Some(&mut find))?;
    let path = |file: git2::DiffFile| {
        file.path()
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    let mut changes = Changes::default();
    for delta in diff.deltas() {
        changes.total += 1;
        if changes.files.len() >= max {
            continue;
        }
        let change = match delta.status() {
            Delta::Added | Delta::Copied => FileChange::Added(path(delta.new_file())),
            Delta::Deleted => FileChange::Removed(path(delta.old_file())),
            Delta::Renamed => FileChange::Renamed(path(delta.old_file()), path(delta.new_file())),
            _ => FileChange::Modified(path(delta.new_file())),
        };
        changes.files.push(change);
    }
    Ok(changes)
}
