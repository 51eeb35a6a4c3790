//! The repository's default branch: HEAD's, or the one a forge would take.

use git2::Repository;

/// The branch HEAD names, whether or not it exists.
fn head_branch(repo: &Repository) -> Option<String> {
    let head = repo.find_reference("HEAD").ok()?;
    let target = String::from_utf8_lossy(head.symbolic_target_bytes()?).into_owned();
    target.strip_prefix("refs/heads/").map(str::to_string)
}

/// The default branch: HEAD's branch when it exists; otherwise the branch a forge would
/// take (`main`, else `master`, else the first branch by name); HEAD's name (or `main`)
/// while the repository has no branch at all. HEAD itself is never changed.
pub fn default_branch(repo: &Repository) -> String {
    let head = head_branch(repo);
    let exists = |b: &str| repo.find_reference(&format!("refs/heads/{b}")).is_ok();
    if let Some(h) = head.as_deref().filter(|h| exists(h)) {
        return h.to_string();
    }
    if let Some(b) = ["main", "master"].into_iter().find(|b| exists(b)) {
        return b.to_string();
    }
    let mut branches: Vec<String> = repo
        .branches(Some(git2::BranchType::Local))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|(b, _)| b.name().ok().flatten().map(str::to_string))
        .collect();
    branches.sort();
    branches.into_iter().next().or(head).unwrap_or_else(|| "main".into())
}

/// What is wrong with HEAD when it names a branch that does not exist while others do.
pub fn head_problem(repo: &Repository) -> Option<String> {
    let head = head_branch(repo)?;
    let chosen = default_branch(repo);
    (chosen != head).then(|| {
        format!(
            "HEAD names the branch '{head}', which does not exist; events use '{chosen}' as the default branch. \
             To make it the repository's default: git --git-dir={} symbolic-ref HEAD refs/heads/{chosen}",
            repo.path().display()
        )
    })
}
