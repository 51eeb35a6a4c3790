//! `git-webhooks demo`: a temporary bare repository with this binary as its hook, a
//! receiver on loopback, and real pushes, with what the receiver got printed.

use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use crate::commands::listen::{self, Received};
use crate::commands::output::Output;

/// Runs the demo; 0 when every push delivered its events.
pub fn run(out: &Output) -> u8 {
    let dir = std::env::temp_dir().join(format!("git-webhooks-demo-{}", std::process::id()));
    let code = match demo(&dir) {
        Ok(()) => 0,
        Err(e) => {
            out.error(&format!("demo failed: {e}"));
            1
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    code
}

fn git(dir: &Path, home: &Path, args: &[&str]) -> Result<(), String> {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("HOME", home)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Demo Developer")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "Demo Developer")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .env("GIT_WEBHOOKS_USER", "demo")
        // The demo's events go to its own receiver only, never to the server's hooks.
        .env("GIT_WEBHOOKS_CONFIG", home.join("no-system-config.toml"))
        .status()
        .map_err(|e| format!("cannot run git: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("git {} failed", args.join(" ")))
    }
}

fn demo(dir: &Path) -> Result<(), String> {
    let io = |e: std::io::Error| e.to_string();
    std::fs::create_dir_all(dir).map_err(io)?;
    let bare = dir.join("demo.git");
    let work = dir.join("work");
    git(dir, dir, &["init", "-q", "--bare", "-b", "main", "demo.git"])?;
    git(dir, dir, &["init", "-q", "-b", "main", "work"])?;

    let listener = TcpListener::bind("127.0.0.1:0").map_err(io)?;
    let port = listener.local_addr().map_err(io)?.port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || listen::accept(listener, 200, tx));

    let config = format!(
        "[repository]\nname = \"demo\"\nhomepage = \"https://git.example.com/demo/demo\"\n\n\
         [users.demo]\nemail = \"demo@example.com\"\nid = 1\n\n\
         [[hook]]\nname = \"demo-listener\"\nurl = \"http://127.0.0.1:{port}/hook\"\n"
    );
    std::fs::write(bare.join("webhooks.toml"), config).map_err(io)?;
    let exe = std::env::current_exe().map_err(io)?;
    std::os::unix::fs::symlink(&exe, bare.join("hooks/post-receive")).map_err(io)?;
    println!(
        "bare repository {} with hooks/post-receive -> {}",
        bare.display(),
        exe.display()
    );
    println!("receiver listening on http://127.0.0.1:{port}/hook\n");

    let bare_url = bare.to_string_lossy().into_owned();
    git(&work, dir, &["remote", "add", "origin", &bare_url])?;
    let steps: [(&str, &[&[&str]], usize); 3] = [
        (
            "push two commits to main",
            &[
                &["commit", "-q", "--allow-empty", "-m", "Add readme"],
                &["commit", "-q", "--allow-empty", "-m", "Fix readme"],
                &["push", "-q", "origin", "main"],
            ],
            1,
        ),
        (
            "push a new branch with one new commit",
            &[
                &["checkout", "-q", "-b", "feature"],
                &["commit", "-q", "--allow-empty", "-m", "Start feature"],
                &["push", "-q", "origin", "feature"],
            ],
            1,
        ),
        (
            "push an annotated tag",
            &[
                &["tag", "-a", "v1.0", "-m", "Release 1.0"],
                &["push", "-q", "origin", "v1.0"],
            ],
            1,
        ),
    ];
    for (title, commands, expected) in steps {
        println!("$ {title}");
        for args in commands {
            git(&work, dir, args)?;
        }
        for _ in 0..expected {
            let request: Received = rx
                .recv_timeout(Duration::from_secs(20))
                .map_err(|_| "the receiver got nothing".to_string())?;
            println!("{}", request.show());
        }
    }
    println!("Every push above was delivered by the post-receive hook before `git push` returned.");
    Ok(())
}
