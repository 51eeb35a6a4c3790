//! The repository's post-receive hook files, and which of them run git-webhooks: a
//! repository whose hooks run it twice sends every event twice, under two ids.

use std::path::{Path, PathBuf};

use git2::Repository;

/// Marks the wrapper that install.sh writes when it chains an existing hook.
const WRAPPER_MARKER: &str = "# git-webhooks-wrapper:";
/// Where install.sh keeps the hook it chained.
const CHAINED: &str = "post-receive.before-git-webhooks";

/// The directory git runs hooks from: `core.hooksPath` (relative to the repository), or
/// `hooks/` inside it.
pub fn hooks_dir(repo: &Repository) -> PathBuf {
    let configured = repo.config().ok().and_then(|c| c.get_path("core.hooksPath").ok());
    match configured {
        Some(p) if p.is_absolute() => p,
        Some(p) => repo.path().join(p),
        None => repo.path().join("hooks"),
    }
}

/// The hook files that run git-webhooks on a push: `post-receive` itself, and the files
/// it chains (install.sh's wrapper runs `post-receive.before-git-webhooks`; gitolite's
/// hook runs its `post-receive.h*` files).
pub fn runs_of_git_webhooks(repo: &Repository) -> Vec<PathBuf> {
    let dir = hooks_dir(repo);
    let main = dir.join("post-receive");
    let Ok(main_text) = read_small(&main) else {
        return Vec::new();
    };
    let mut chained: Vec<PathBuf> = Vec::new();
    if main_text.contains(WRAPPER_MARKER) {
        chained.push(dir.join(CHAINED));
    }
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let mut gitolite: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("post-receive.h"))
            })
            .collect();
        gitolite.sort();
        chained.extend(gitolite);
    }
    std::iter::once(main).chain(chained).filter(|p| runs_us(p)).collect()
}

/// True when running `path` runs git-webhooks: a link to the binary, or a script that
/// names it (install.sh's own marker and chained-hook name aside).
fn runs_us(path: &Path) -> bool {
    let Ok(target) = std::fs::canonicalize(path) else {
        return false;
    };
    let me = std::env::current_exe().and_then(std::fs::canonicalize).ok();
    if target.file_name().is_some_and(|n| n == "git-webhooks") || Some(&target) == me.as_ref() {
        return true;
    }
    read_small(&target).is_ok_and(|text| {
        text.lines().map(str::trim).filter(|l| !l.starts_with('#')).any(|line| {
            line.replace(CHAINED, "")
                .replace("git-webhooks-wrapper", "")
                .contains("git-webhooks")
        })
    })
}

/// A hook script's text; binaries and large files are not scripts.
fn read_small(path: &Path) -> std::io::Result<String> {
    let bytes = std::fs::read(path)?;
    if bytes.len() > 256 << 10 || bytes.contains(&0) {
        return Ok(String::new());
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
