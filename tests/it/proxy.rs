//! Proxies from the environment, and the one that is refused: under CGI
//! (git-http-backend), `HTTP_PROXY` is the pusher's `Proxy:` request header.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};

use crate::support::*;

/// A CONNECT proxy on 127.0.0.1 that records the first line of every request and
/// tunnels CONNECTs to their target.
#[derive(Clone)]
struct Proxy {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Proxy {
    fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let proxy = Proxy {
            port: listener.local_addr().unwrap().port(),
            seen: Default::default(),
        };
        let p = proxy.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let p = p.clone();
                std::thread::spawn(move || p.serve(stream));
            }
        });
        proxy
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    fn serve(&self, stream: TcpStream) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut first = String::new();
        let _ = reader.read_line(&mut first);
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                break;
            }
        }
        self.seen.lock().unwrap().push(first.trim().to_string());
        let mut client = stream;
        let target = first.strip_prefix("CONNECT ").and_then(|r| r.split_whitespace().next());
        let Some(upstream) = target.and_then(|t| TcpStream::connect(t).ok()) else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
            return;
        };
        let _ = client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
        let (mut up_read, mut up_write) = (upstream.try_clone().unwrap(), upstream);
        let mut client_write = client.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = std::io::copy(&mut up_read, &mut client_write);
        });
        // Anything the reader buffered past the headers belongs to the tunnel.
        let _ = up_write.write_all(reader.buffer());
        let _ = std::io::copy(reader.get_mut(), &mut up_write);
    }
}

const PROXY_VARS: [&str; 8] = [
    "ALL_PROXY",
    "all_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "NO_PROXY",
    "no_proxy",
];

/// A repository with an `http://` hook to `receiver` (credentials, query and token) and
/// an `https://` hook to `tls_port`.
fn setup(receiver: &Receiver, tls_port: u16) -> Repo {
    let repo = Repo::new();
    repo.config(&format!(
        "[delivery]\nbudget = 3\n\n[[hook]]\nname = \"plain\"\nurl = \"http://user:pw-secret@127.0.0.1:{}/p?k=q-secret\"\ntoken = \"tok-secret\"\n\n[[hook]]\nname = \"tls\"\nurl = \"https://127.0.0.1:{tls_port}/t\"\ntimeout = 1\n",
        receiver.port
    ));
    repo
}

/// `git push` with these environment variables (and no other proxy variable).
fn push_with(repo: &Repo, message: &str, vars: &[(&str, &str)]) {
    repo.commit(message);
    let mut cmd: Command = repo.command("git", &repo.work);
    for name in PROXY_VARS {
        cmd.env_remove(name);
    }
    cmd.envs(vars.iter().copied()).args(["push", "-q", "origin", "main"]);
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn under_cgi_the_pushers_http_proxy_is_ignored() {
    let receiver = Receiver::start();
    let tls_port = free_port();
    let repo = setup(&receiver, tls_port);
    let pusher = Proxy::start();
    // Outside CGI, HTTP_PROXY is the administrator's and is used.
    push_with(&repo, "one", &[("HTTP_PROXY", &pusher.url())]);
    assert!(
        pusher
            .seen()
            .contains(&format!("CONNECT 127.0.0.1:{} HTTP/1.1", receiver.port)),
        "{:?}",
        pusher.seen()
    );
    let before = pusher.seen().len();
    push_with(
        &repo,
        "two",
        &[("REQUEST_METHOD", "POST"), ("HTTP_PROXY", &pusher.url())],
    );
    assert_eq!(receiver.wait_for(2).len(), 2, "the event went straight to the receiver");
    assert_eq!(
        pusher.seen()[before..],
        [] as [String; 0],
        "nothing reached the pusher's proxy"
    );
}

#[test]
fn under_cgi_http_proxy_in_lower_case_is_used() {
    let receiver = Receiver::start();
    let tls_port = free_port();
    let repo = setup(&receiver, tls_port);
    let (pusher, admin) = (Proxy::start(), Proxy::start());
    push_with(
        &repo,
        "one",
        &[
            ("REQUEST_METHOD", "POST"),
            ("HTTP_PROXY", &pusher.url()),
            ("http_proxy", &admin.url()),
        ],
    );
    let requests = receiver.wait_for(1);
    assert_eq!(requests.len(), 1);
    assert!(
        requests[0].text().contains("tok-secret"),
        "the token went through the tunnel"
    );
    let seen = admin.seen();
    assert!(
        seen.contains(&format!("CONNECT 127.0.0.1:{} HTTP/1.1", receiver.port)),
        "{seen:?}"
    );
    assert!(
        seen.contains(&format!("CONNECT 127.0.0.1:{tls_port} HTTP/1.1")),
        "{seen:?}"
    );
    assert!(pusher.seen().is_empty(), "{:?}", pusher.seen());
}
