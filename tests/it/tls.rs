//! HTTPS receivers: a self-signed certificate is refused by default (and the event kept),
//! trusted through `ca_file`, or accepted unchecked with `tls_verify = false`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the openssl CLI must be installed");
    assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
}

const SAN: &str = "subjectAltName=IP:127.0.0.1,DNS:localhost";

/// A self-signed server certificate for 127.0.0.1 and localhost in `dir`:
/// (certificate, key). `ca` leaves openssl's default `CA:TRUE` in place.
pub(crate) fn self_signed(dir: &Path, ca: bool) -> (PathBuf, PathBuf) {
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=git-webhooks test receiver",
    ];
    args.extend(["-addext", SAN, "-days", "2", "-keyout", "key.pem", "-out", "cert.pem"]);
    if !ca {
        args.extend(["-addext", "basicConstraints=critical,CA:FALSE"]);
    }
    openssl(dir, &args);
    (dir.join("cert.pem"), dir.join("key.pem"))
}

/// An internal CA and a server certificate it signed, in `dir`: (CA, certificate, key).
fn signed_by_internal_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=git-webhooks internal test CA",
            "-days",
            "2",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=git-webhooks test receiver",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        format!("{SAN}\nbasicConstraints=critical,CA:FALSE\n"),
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-set_serial",
            "2",
            "-days",
            "2",
            "-extfile",
            "server.ext",
            "-out",
            "server.pem",
        ],
    );
    (dir.join("ca.pem"), dir.join("server.pem"), dir.join("server.key"))
}

const SERVER: &str = r#"
import http.server, ssl, sys

cert, key, record = sys.argv[1:4]

class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(record, "ab") as f:
            f.write(body + b"\n")
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
server.socket = context.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

/// python3's http.server behind TLS on 127.0.0.1, answering 200 and appending each
/// body as a line to a file. Killed when dropped.
struct HttpsReceiver {
    child: Child,
    port: u16,
    record: PathBuf,
}

impl HttpsReceiver {
    fn start(dir: &Path, cert: &Path, key: &Path) -> HttpsReceiver {
        let record = dir.join("https-bodies.jsonl");
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(SERVER)
            .arg(cert)
            .arg(key)
            .arg(&record)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = match line.trim().parse() {
            Ok(p) => p,
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the HTTPS receiver did not start: {line:?}");
            }
        };
        HttpsReceiver { child, port, record }
    }

    fn url(&self) -> String {
        format!("https://127.0.0.1:{}/hook", self.port)
    }

    /// The bodies received so far, waiting up to 5 s for `n` of them.
    fn bodies(&self, n: usize) -> Vec<serde_json::Value> {
        let start = Instant::now();
        loop {
            let text = std::fs::read_to_string(&self.record).unwrap_or_default();
            let bodies: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
            if bodies.len() >= n || start.elapsed() > Duration::from_secs(5) {
                return bodies;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for HttpsReceiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn setup() -> (Repo, HttpsReceiver, PathBuf) {
    let repo = Repo::new();
    let (cert, key) = self_signed(repo.dir.path(), false);
    let receiver = HttpsReceiver::start(repo.dir.path(), &cert, &key);
    (repo, receiver, cert)
}

fn pending(repo: &Repo) -> Vec<String> {
    let out = repo.run(&["redeliver", "--dry-run"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn a_self_signed_receiver_is_refused_by_default_and_the_event_kept() {
    let (repo, receiver, _) = setup();
    repo.config(&format!(
        "[delivery]\nbudget = 3\n\n[[hook]]\nname = \"tls\"\nurl = \"{}\"\n",
        receiver.url()
    ));
    repo.commit("one");
    let start = Instant::now();
    let out = repo.push(&["origin", "main"]);
    assert!(start.elapsed() < Duration::from_secs(6));
    let err = stderr(&out);
    assert!(err.contains("kept for `git-webhooks redeliver`"), "{err}");
    assert!(err.contains("ca_file"), "the error says how to trust it: {err}");
    assert!(!err.contains("TLS certificate verification is disabled"), "{err}");
    assert!(
        receiver.bodies(0).is_empty(),
        "nothing may reach an unverified receiver"
    );
    let kept = pending(&repo);
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(kept[0].contains("refs/heads/main"), "{kept:?}");
}

#[test]
fn a_ca_file_makes_the_receiver_trusted() {
    let (repo, receiver, cert) = setup();
    repo.config(&format!(
        "[[hook]]\nname = \"tls\"\nurl = \"{}\"\nca_file = \"{}\"\n",
        receiver.url(),
        cert.display()
    ));
    repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    let err = stderr(&out);
    assert!(err.contains("delivered 1 event (200)"), "{err}");
    assert!(!err.contains("TLS certificate verification is disabled"), "{err}");
    let bodies = receiver.bodies(1);
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["ref"], "refs/heads/main");
    assert!(pending(&repo).is_empty());
}

#[test]
fn a_ca_file_for_another_certificate_does_not_help() {
    let (repo, receiver, _) = setup();
    let other_dir = repo.dir.path().join("other");
    std::fs::create_dir(&other_dir).unwrap();
    let (other, _) = self_signed(&other_dir, false);
    repo.config(&format!(
        "[delivery]\nbudget = 3\n\n[[hook]]\nname = \"tls\"\nurl = \"{}\"\nca_file = \"{}\"\n",
        receiver.url(),
        other.display()
    ));
    repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    assert!(
        stderr(&out).contains("kept for `git-webhooks redeliver`"),
        "{}",
        stderr(&out)
    );
    assert!(receiver.bodies(0).is_empty());
}

#[test]
fn tls_verify_false_accepts_the_receiver_and_warns_on_every_push() {
    let (repo, receiver, _) = setup();
    repo.config(&format!(
        "[[hook]]\nname = \"tls\"\nurl = \"{}\"\ntls_verify = false\n",
        receiver.url()
    ));
    repo.commit("one");
    let first = repo.push(&["origin", "main"]);
    repo.commit("two");
    let second = repo.push(&["origin", "main"]);
    for out in [&first, &second] {
        let err = stderr(out);
        assert!(err.contains("TLS certificate verification is disabled"), "{err}");
        assert!(err.contains("delivered 1 event (200)"), "{err}");
    }
    assert_eq!(receiver.bodies(2).len(), 2);
    let check = repo.run(&["check"], "");
    let all = format!("{}{}", String::from_utf8_lossy(&check.stdout), stderr(&check));
    assert!(all.contains("tls_verify"), "{all}");
}

#[test]
fn a_kept_event_is_redelivered_once_the_certificate_is_trusted() {
    let (repo, receiver, cert) = setup();
    let url = receiver.url();
    repo.config(&format!(
        "[delivery]\nbudget = 3\n\n[[hook]]\nname = \"tls\"\nurl = \"{url}\"\n"
    ));
    let head = repo.commit("one");
    repo.push(&["origin", "main"]);
    assert_eq!(pending(&repo).len(), 1);
    repo.config(&format!(
        "[[hook]]\nname = \"tls\"\nurl = \"{url}\"\nca_file = \"{}\"\n",
        cert.display()
    ));
    let out = repo.run(&["redeliver"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let bodies = receiver.bodies(1);
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["after"], head.as_str());
    assert!(pending(&repo).is_empty());
}

#[test]
fn a_ca_file_with_an_internal_ca_trusts_the_certificates_it_signed() {
    let repo = Repo::new();
    let (ca, cert, key) = signed_by_internal_ca(repo.dir.path());
    let receiver = HttpsReceiver::start(repo.dir.path(), &cert, &key);
    // A relative ca_file starts from the config file's directory.
    std::fs::copy(&ca, repo.bare.join("internal-ca.pem")).unwrap();
    repo.config(&format!(
        "[[hook]]\nname = \"tls\"\nurl = \"{}\"\nca_file = \"internal-ca.pem\"\n",
        receiver.url()
    ));
    repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    assert!(stderr(&out).contains("delivered 1 event (200)"), "{}", stderr(&out));
    assert_eq!(receiver.bodies(1).len(), 1);
}

#[test]
fn a_self_signed_ca_certificate_is_refused_even_from_ca_file_with_a_hint() {
    // openssl's default self-signed certificate carries CA:TRUE, which rustls does not
    // accept as a server certificate. The event is kept and the error says why.
    let repo = Repo::new();
    let (cert, key) = self_signed(repo.dir.path(), true);
    let receiver = HttpsReceiver::start(repo.dir.path(), &cert, &key);
    repo.config(&format!(
        "[delivery]\nbudget = 3\n\n[[hook]]\nname = \"tls\"\nurl = \"{}\"\nca_file = \"{}\"\n",
        receiver.url(),
        cert.display()
    ));
    repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    let err = stderr(&out);
    assert!(err.contains("kept for `git-webhooks redeliver`"), "{err}");
    assert!(err.contains("CA:FALSE"), "{err}");
    assert_eq!(pending(&repo).len(), 1);
    assert!(receiver.bodies(0).is_empty());
}
