//! Which commits an update brings: the ranges of the commit-selection rules, counted and
//! listed by the `git` that runs the hook (it reads commit-graph files; see
//! docs/performance.md).

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use git2::{ObjectType, Oid, Repository};

use crate::update::{Change, ObjectId, RefUpdate};

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

/// The repository as it was before the push: the commits that were already reachable.
pub struct History<'r> {
    repo: &'r Repository,
    git_dir: PathBuf,
    excluded: Vec<String>,
    excluded_set: HashSet<String>,
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
pub fn tips_before(repo: &Repository, updates: &[RefUpdate]) -> Result<Vec<String>, git2::Error> {
    let pushed: HashSet<&[u8]> = updates.iter().map(|u| u.name.as_slice()).collect();
    let mut tips = Vec::new();
    for reference in repo.references()? {
        let reference = reference?;
        if reference.symbolic_target_bytes().is_some() || pushed.contains(reference.name_bytes()) {
            continue;
        }
        if let Ok(commit) = reference.peel(ObjectType::Commit) {
            tips.push(commit.id().to_string());
        }
    }
    for old in updates.iter().filter_map(RefUpdate::old_id) {
        tips.extend(peel_to_commit(repo, old).map(|c| c.to_string()));
    }
    tips.sort_unstable();
    tips.dedup();
    Ok(tips)
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
        }
    }

    /// The commit tips that count as "before the push".
    pub fn excluded(&self) -> &[String] {
        &self.excluded
    }

    /// The commits of one branch update, per the selection rules; `max` caps the list.
    pub fn select(&self, update: &RefUpdate, max: usize) -> Result<Selection, GitError> {
        let peel = |id: &ObjectId| peel_to_commit(self.repo, id).map(|c| c.to_string());
        match &update.change {
            Change::Delete { .. } => Ok(Selection::default()),
            Change::Create { new } => match peel(new) {
                None => Ok(Selection::default()),
                Some(new) if self.excluded_set.contains(&new) => Ok(Selection::default()),
                Some(new) => {
                    let mut args = vec![new];
                    args.extend(self.excluded.iter().map(|t| format!("^{t}")));
                    let (_, total, newest) = self.count_and_list(&args, max, None)?;
                    Ok(Selection {
                        total,
                        newest,
                        forced: false,
                    })
                }
            },
            Change::Update { old, new } => match (peel(old), peel(new)) {
                (_, None) => Ok(Selection::default()),
                (None, Some(new)) => {
                    let create = RefUpdate {
                        name: update.name.clone(),
                        change: Change::Create {
                            new: ObjectId::parse(&new).expect("git2 ids are hex"),
                        },
                    };
                    self.select(&create, max)
                }
                (Some(old), Some(new)) => {
                    let args = vec![new.clone(), format!("^{old}")];
                    let symmetric = format!("{old}...{new}");
                    let (rewound, total, newest) = self.count_and_list(&args, max, Some(&symmetric))?;
                    Ok(Selection {
                        total,
                        newest,
                        forced: rewound > 0,
                    })
                }
            },
        }
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
        let mut child = Command::new("git")
            .arg("--git-dir")
            .arg(&self.git_dir)
            .args(args)
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| GitError(format!("cannot run git: {e}")))?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            let text = text.to_string();
            std::thread::spawn(move || pipe.write_all(text.as_bytes()));
        }
        Ok(child)
    }
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
