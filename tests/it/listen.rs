//! `listen` bounds what one client can make it hold: request and header lines, the
//! number of headers, and the body.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

/// `listen` on a free port, ready for connections.
fn listen(repo: &Repo, count: usize) -> (Child, u16) {
    let port = free_port();
    let child = repo
        .command(BIN, repo.dir.path())
        .args(["listen", "--port", &port.to_string(), "--count", &count.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    (child, port)
}

/// Sends `head`, then `filler` bytes of `byte` (up to `limit`) while reading the answer;
/// returns the answer's first line, or `None` when the connection was dropped without one.
fn endless(port: u16, head: &[u8], filler: &[u8], limit: usize) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut reader = stream.try_clone().unwrap();
    let answer = std::thread::spawn(move || {
        let mut buf = [0u8; 256];
        match reader.read(&mut buf) {
            Ok(n) if n > 0 => Ok(Some(
                String::from_utf8_lossy(&buf[..n])
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_string(),
            )),
            Ok(_) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut => Err(e),
            Err(_) => Ok(None),
        }
    });
    let _ = stream.write_all(head);
    let mut sent = 0;
    while sent < limit && stream.write_all(filler).is_ok() {
        sent += filler.len();
    }
    answer
        .join()
        .unwrap()
        .expect("the listener neither answered nor dropped the connection")
}

/// The listener's peak memory, from /proc.
fn peak_kib(child: &Child) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn endless_header_lines_and_endless_headers_are_refused_without_eating_memory() {
    let repo = Repo::new();
    let (child, port) = listen(&repo, 1);
    let before = peak_kib(&child);
    let chunk = vec![b'a'; 1 << 16];
    let cases: [(&[u8], Vec<u8>); 3] = [
        (b"POST / HTTP/1.1\r\nX-Endless: ", chunk.clone()),
        (b"POST /", chunk.clone()),
        (b"POST / HTTP/1.1\r\n", b"X-A: b\r\n".repeat(1 << 13)),
    ];
    for (head, filler) in cases {
        let answer = endless(port, head, &filler, 96 << 20);
        if let Some(line) = answer {
            assert!(
                line.starts_with("HTTP/1.1 431") || line.starts_with("HTTP/1.1 414"),
                "{line}"
            );
        }
    }
    let grown = peak_kib(&child).saturating_sub(before);
    assert!(grown < 16 << 10, "the listener grew by {grown} KiB");
    // It still serves well-formed requests.
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let body = br#"{"object_kind":"push"}"#;
    let head = format!(
        "POST /ok HTTP/1.1\r\nX-AtomGit-Event: Push Hook\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(body).unwrap();
    let mut answer = [0u8; 12];
    stream.read_exact(&mut answer).unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    let out = child.wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("POST /ok  Push Hook"));
}

#[test]
fn bodies_over_the_limit_are_refused() {
    let repo = Repo::new();
    let (mut child, port) = listen(&repo, 1);
    let answer = endless(
        port,
        format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", 1u64 << 40).as_bytes(),
        &[],
        0,
    );
    assert_eq!(answer.as_deref(), Some("HTTP/1.1 413 Payload Too Large"));
    let _ = child.kill();
    let _ = child.wait();
}
