//! NATS JetStream hooks against a real `nats-server` on 127.0.0.1 with JetStream and
//! password authentication: publish and acknowledgement, outages and redelivery without
//! duplicates, refused credentials and permissions, and the bodies HTTP hooks get.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};

use crate::support::*;

const PUBLISHER_PASSWORD: &str = "pub-S3CRET-7f1";
const STREAM: &str = "GIT";

/// The users of a server without a token: `admin` (everything, for the tests), `git`
/// (publishes to `git.>`), `other` (publishes to `other.>` only).
const USERS: &str = r#"authorization {
  users = [
    { user: admin, password: "admin-pw" }
    { user: git, password: "pub-S3CRET-7f1",
      permissions: { publish: ["git.>"], subscribe: ["_INBOX.>"] } }
    { user: other, password: "other-pw",
      permissions: { publish: ["other.>"], subscribe: ["_INBOX.>"] } }
  ]
}
"#;

/// A nats-server with JetStream and the [`USERS`] (or one token), TLS when asked.
pub struct NatsServer {
    dir: tempfile::TempDir,
    pub port: u16,
    child: Option<Child>,
    /// Its certificate and key, when it speaks TLS only.
    tls: Option<(PathBuf, PathBuf)>,
    /// The one token every client gives, instead of the users.
    token: Option<&'static str>,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        NatsServer::start_with(None, None)
    }

    /// A server that speaks TLS only, with this certificate and key.
    pub fn start_tls(cert: PathBuf, key: PathBuf) -> NatsServer {
        NatsServer::start_with(Some((cert, key)), None)
    }

    /// A server whose clients authenticate with `token`.
    pub fn start_token(token: &'static str) -> NatsServer {
        NatsServer::start_with(None, Some(token))
    }

    fn start_with(tls: Option<(PathBuf, PathBuf)>, token: Option<&'static str>) -> NatsServer {
        let dir = tempfile::tempdir().unwrap();
        let mut server = NatsServer {
            port: free_port(),
            dir,
            child: None,
            tls,
            token,
        };
        server.run();
        server
    }

    fn config(&self) -> PathBuf {
        let store = self.dir.path().join("jetstream");
        let tls = match &self.tls {
            Some((cert, key)) => format!(
                "tls {{ cert_file: \"{}\", key_file: \"{}\" }}\n",
                cert.display(),
                key.display()
            ),
            None => String::new(),
        };
        let authorization = match self.token {
            Some(token) => format!("authorization {{ token: \"{token}\" }}\n"),
            None => USERS.to_string(),
        };
        let text = format!(
            r#"{tls}listen: "127.0.0.1:{port}"
jetstream {{ store_dir: "{store}", max_memory_store: 64MB, max_file_store: 256MB }}
{authorization}"#,
            port = self.port,
            store = store.display()
        );
        let path = self.dir.path().join("nats.conf");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Starts the server (again, on the same port and store) and waits until it listens.
    pub fn run(&mut self) {
        let child = Command::new("nats-server")
            .arg("-c")
            .arg(self.config())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server is installed (Debian package nats-server; test.sh installs it)");
        self.child = Some(child);
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(start.elapsed() < Duration::from_secs(20), "nats-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops the server: nothing listens on its port until [`NatsServer::run`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A hook URL for `user` (with its password) at this server.
    pub fn url(&self, user: &str, password: &str) -> String {
        format!("nats://{user}:{password}@127.0.0.1:{}", self.port)
    }

    /// Runs `work` with a JetStream context of the admin user.
    pub fn admin<T>(&self, work: impl AsyncFnOnce(jetstream::Context) -> T) -> T {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut options = match self.token {
                Some(token) => async_nats::ConnectOptions::with_token(token.into()),
                None => async_nats::ConnectOptions::with_user_and_password("admin".into(), "admin-pw".into()),
            };
            if let Some((cert, _)) = &self.tls {
                options = options.require_tls(true).add_root_certificates(cert.clone());
            }
            let client = options.connect(format!("127.0.0.1:{}", self.port)).await.unwrap();
            work(jetstream::new(client)).await
        })
    }

    /// Creates the stream `GIT` over `git.>`, keeping ids for two minutes.
    pub fn create_stream(&self) {
        self.admin(async |js| {
            js.create_stream(stream::Config {
                name: STREAM.into(),
                subjects: vec!["git.>".into()],
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await
            .unwrap();
        });
    }

    /// Every message of the stream, oldest first.
    pub fn messages(&self) -> Vec<Message> {
        self.admin(async |js| {
            let mut stream = js.get_stream(STREAM).await.unwrap();
            let count = stream.info().await.unwrap().state.messages;
            let mut messages = Vec::new();
            for sequence in 1..=count {
                let m = stream.get_raw_message(sequence).await.unwrap();
                let header = |name: &str| m.headers.get(name).map(|v| v.as_str().to_string());
                messages.push(Message {
                    subject: m.subject.to_string(),
                    id: header("Nats-Msg-Id"),
                    headers: m
                        .headers
                        .iter()
                        .map(|(n, v)| (n.to_string(), v[0].as_str().to_string()))
                        .collect(),
                    body: m.payload.to_vec(),
                });
            }
            messages
        })
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One message as the stream keeps it.
#[derive(Debug)]
pub struct Message {
    pub subject: String,
    pub id: Option<String>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Message {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

fn nats_hook(repo: &Repo, url: &str, extra: &str) {
    repo.config(&format!(
        "[repository]\nname = \"demo.app\"\nhomepage = \"https://git.example.com/demo/app\"\n\n[[hook]]\nname = \"bus\"\nurl = \"{url}\"\ntimeout = 2\n{extra}"
    ));
}

/// The text of every file under the repository's outbox.
fn outbox_text(repo: &Repo) -> String {
    files_under(&repo.bare.join("webhooks"))
        .iter()
        .map(|f| String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned())
        .collect()
}

fn pending(repo: &Repo) -> Vec<String> {
    let out = repo.run(&["redeliver", "--dry-run"], "");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn each_event_is_published_with_its_delivery_id_and_acknowledged() {
    let server = NatsServer::start();
    server.create_stream();
    let repo = Repo::new();
    nats_hook(&repo, &server.url("git", PUBLISHER_PASSWORD), "");
    repo.commits("change", 2);
    repo.git(&["tag", "-a", "-m", "release", "v1.0"]);
    let out = repo.push(&["origin", "main", "v1.0"]);
    let err = stderr(&out);
    assert!(err.contains("bus: delivered 2 events"), "{err}");

    let messages = server.messages();
    assert_eq!(messages.len(), 2, "{messages:?}");
    let subjects: Vec<&str> = messages.iter().map(|m| m.subject.as_str()).collect();
    assert_eq!(subjects, ["git.demo_app.push", "git.demo_app.tag_push"]);
    for (m, event) in messages.iter().zip(["Push Hook", "Tag Push Hook"]) {
        assert_eq!(m.header("X-AtomGit-Event"), Some(event));
        let id = m.id.as_deref().unwrap();
        assert_eq!(id.len(), 36);
        assert_eq!(m.header("X-AtomGit-Delivery"), Some(id));
        assert_eq!(m.header("Content-Type"), Some("application/json"));
        let body: serde_json::Value = serde_json::from_slice(&m.body).unwrap();
        assert_eq!(body["repository"]["name"], "demo.app");
    }
    assert!(pending(&repo).is_empty());
    // The log has each acknowledgement; nothing anywhere shows the password.
    let log = repo.run(&["log"], "");
    let shown = format!("{err}{}{}", stderr(&log), String::from_utf8_lossy(&log.stdout));
    let check = repo.run(&["check"], "");
    let shown = format!("{shown}{}{}", stderr(&check), String::from_utf8_lossy(&check.stdout));
    assert!(
        String::from_utf8_lossy(&check.stdout).contains("nats://127.0.0.1"),
        "{shown}"
    );
    for text in [shown, outbox_text(&repo)] {
        assert!(!text.contains(PUBLISHER_PASSWORD), "{text}");
    }
}

#[test]
fn a_tls_server_is_trusted_through_ca_file_and_refused_without_it() {
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = crate::tls::self_signed(certs.path(), false);
    let server = NatsServer::start_tls(cert.clone(), key);
    server.create_stream();
    let repo = Repo::new();
    let url = server.url("git", PUBLISHER_PASSWORD).replace("nats://", "tls://");
    nats_hook(&repo, &url, "");
    repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    assert!(
        stderr(&out).contains("kept"),
        "an unknown certificate: {}",
        stderr(&out)
    );
    assert!(server.messages().is_empty());

    nats_hook(&repo, &url, &format!("ca_file = \"{}\"\n", cert.display()));
    let out = repo.run(&["redeliver"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{}", stderr(&out));
    assert_eq!(messages[0].subject, "git.demo_app.push");
}

#[test]
fn a_token_authenticates_and_is_never_shown() {
    let token = "tok-S3CRET-nats";
    let server = NatsServer::start_token(token);
    server.create_stream();
    let repo = Repo::new();
    let url = format!("nats://127.0.0.1:{}", server.port);
    nats_hook(&repo, &url, &format!("token = \"{token}\"\n"));
    repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    assert!(stderr(&out).contains("bus: delivered 1 event"), "{}", stderr(&out));
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    assert!(
        messages[0].headers.iter().all(|(_, v)| !v.contains(token)),
        "the token is not a header"
    );
    nats_hook(&repo, &url, "token = \"wrong\"\n");
    repo.commit("two");
    let out = repo.push(&["origin", "main"]);
    assert!(stderr(&out).contains("set aside as failed"), "{}", stderr(&out));
    let shown = format!("{}{}", stderr(&out), outbox_text(&repo));
    assert!(!shown.contains(token), "{shown}");
}

#[test]
fn an_outage_keeps_events_and_redelivery_stores_each_id_once() {
    let mut server = NatsServer::start();
    server.create_stream();
    server.stop();
    let repo = Repo::new();
    nats_hook(&repo, &server.url("git", PUBLISHER_PASSWORD), "");
    repo.commit("while the cluster is down");
    let out = repo.push(&["origin", "main"]);
    assert!(
        stderr(&out).contains("kept for `git-webhooks redeliver`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(pending(&repo).len(), 1);
    let batches: Vec<PathBuf> = files_under(&repo.bare.join("webhooks/outbox"));
    assert_eq!(batches.len(), 1);
    let kept = std::fs::read(&batches[0]).unwrap();

    server.run();
    let again = repo.run(&["redeliver"], "");
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(pending(&repo).is_empty());
    let messages = server.messages();
    assert_eq!(messages.len(), 1);
    let id = messages[0].id.clone().unwrap();
    assert!(String::from_utf8_lossy(&kept).contains(&id));

    // A run that published and died before it could settle the outbox: the same
    // delivery goes out again, and JetStream keeps it once.
    std::fs::write(&batches[0], &kept).unwrap();
    let twice = repo.run(&["redeliver", "-v"], "");
    assert!(twice.status.success(), "{}", stderr(&twice));
    assert!(
        stderr(&twice).contains("already in stream GIT as message 1"),
        "{}",
        stderr(&twice)
    );
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0].id.as_deref(), Some(id.as_str()));
    assert!(pending(&repo).is_empty());
}

#[test]
fn without_a_stream_for_the_subject_events_wait_for_one() {
    let server = NatsServer::start();
    let repo = Repo::new();
    nats_hook(&repo, &server.url("git", PUBLISHER_PASSWORD), "");
    repo.commit("no stream yet");
    let out = repo.push(&["origin", "main"]);
    let err = stderr(&out);
    assert!(
        err.contains("no JetStream stream takes the subject \"git.demo_app.push\""),
        "{err}"
    );
    assert!(err.contains("kept for `git-webhooks redeliver`"), "{err}");
    assert_eq!(pending(&repo).len(), 1);

    server.create_stream();
    let again = repo.run(&["redeliver"], "");
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(server.messages().len(), 1);
    let failed = repo.run(&["redeliver", "--failed", "--dry-run"], "");
    assert!(failed.stdout.is_empty());
}

#[test]
fn refused_credentials_and_permissions_set_events_aside_as_failed() {
    let server = NatsServer::start();
    server.create_stream();
    let wrong = "wrong-S3CRET-pw";
    for (url, subject) in [
        (server.url("git", wrong), ""),
        (server.url("other", "other-pw"), ""),
        (server.url("git", PUBLISHER_PASSWORD), "subject = \"other.{event}\"\n"),
    ] {
        let repo = Repo::new();
        nats_hook(&repo, &url, subject);
        repo.commits("refused", 1);
        repo.git(&["tag", "v1"]);
        let started = Instant::now();
        let out = repo.push(&["origin", "main", "v1"]);
        let err = stderr(&out);
        assert!(err.contains("the NATS server refused"), "{err}");
        assert!(err.contains("2 events refused"), "{err}");
        assert!(err.contains("set aside as failed"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(8), "refusals are not retried");
        assert!(pending(&repo).is_empty());
        let failed = repo.run(&["redeliver", "--failed", "--dry-run"], "");
        assert_eq!(String::from_utf8_lossy(&failed.stdout).lines().count(), 2);
        assert!(!format!("{err}{}", outbox_text(&repo)).contains(wrong));
    }
    assert!(server.messages().is_empty());
}

/// The flavours `check` names for an unknown one.
fn flavours(repo: &Repo) -> Vec<String> {
    repo.config("[[hook]]\nurl = \"http://127.0.0.1:1/\"\nflavor = \"none-such\"\n");
    let text = stderr(&repo.run(&["check"], ""));
    let list = text.split("use one of").nth(1).expect("check lists the flavours");
    list.split('"').skip(1).step_by(2).map(str::to_string).collect()
}

#[test]
fn every_flavour_publishes_the_body_an_http_hook_gets() {
    let server = NatsServer::start();
    server.create_stream();
    let receiver = Receiver::start();
    let repo = Repo::new();
    let flavours = flavours(&repo);
    assert!(flavours.len() >= 2, "{flavours:?}");
    let mut config = String::from("[repository]\nhomepage = \"https://git.example.com/demo/project\"\n");
    for flavor in &flavours {
        config.push_str(&format!(
            "\n[[hook]]\nname = \"http-{flavor}\"\nurl = \"{}\"\nflavor = \"{flavor}\"\n\n[[hook]]\nname = \"nats-{flavor}\"\nurl = \"{}\"\nflavor = \"{flavor}\"\nsubject = \"git.{{flavor}}.{{event}}\"\n",
            receiver.url(&format!("/{flavor}")),
            server.url("git", PUBLISHER_PASSWORD),
        ));
    }
    repo.config(&config);
    repo.commits("body", 3);
    repo.push(&["origin", "main"]);
    let requests = receiver.wait_for(flavours.len());
    let messages = server.messages();
    assert_eq!(messages.len(), flavours.len());
    for flavor in &flavours {
        let request = requests.iter().find(|r| r.path == format!("/{flavor}")).unwrap();
        let message = messages
            .iter()
            .find(|m| m.subject == format!("git.{flavor}.push"))
            .unwrap();
        assert_eq!(message.body, request.body, "{flavor}");
        // The event headers of the flavour travel with the message, as over HTTP.
        let events: Vec<&(String, String)> = request
            .headers
            .iter()
            .filter(|(n, _)| n.to_lowercase().ends_with("-event"))
            .collect();
        assert!(!events.is_empty(), "{flavor}: {:?}", request.headers);
        for (name, value) in events {
            assert_eq!(message.header(name), Some(value.as_str()), "{flavor}: {name}");
        }
    }
}

#[test]
fn subjects_and_nats_urls_are_checked() {
    let repo = Repo::new();
    for (extra, url, expected) in [
        ("subject = \"git.>\"\n", "nats://127.0.0.1", "wildcard"),
        (
            "subject = \"git.{branch}\"\n",
            "nats://127.0.0.1",
            "unknown placeholder {branch}",
        ),
        (
            "creds_file = \"x.creds\"\n",
            "http://127.0.0.1/",
            "for nats:// hooks only",
        ),
        ("token = \"t\"\n", "nats://u:p@127.0.0.1", "authenticates one way"),
        ("", "nats://127.0.0.1/events", "has no path"),
    ] {
        nats_hook(&repo, url, extra);
        let out = repo.run(&["check"], "");
        assert!(!out.status.success(), "{extra} {url}");
        assert!(stderr(&out).contains(expected), "{}", stderr(&out));
    }
    nats_hook(
        &repo,
        "nats://u:p@127.0.0.1:4222,tls://127.0.0.2",
        "subject = \"hooks.{flavor}.{event}\"\n",
    );
    let out = repo.run(&["check"], "");
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Publish rate: one push of many tags, each event acknowledged before the next.
/// `cargo test --test it nats::publish_rate -- --ignored --nocapture`
#[test]
#[ignore]
fn publish_rate() {
    let server = NatsServer::start();
    server.create_stream();
    let repo = Repo::new();
    nats_hook(&repo, &server.url("git", PUBLISHER_PASSWORD), "");
    repo.config(&format!(
        "[delivery]\nbudget = 600\n{}",
        std::fs::read_to_string(repo.bare.join("webhooks.toml")).unwrap()
    ));
    let n = 2000;
    repo.commit("base");
    let lines = (0..n).map(|i| format!("git tag t{i}")).collect::<Vec<_>>().join(" && ");
    let status = repo.command("sh", &repo.work).arg("-c").arg(lines).status().unwrap();
    assert!(status.success());
    repo.push(&["origin", "main"]);
    let started = Instant::now();
    let out = repo.push(&["origin", "--tags"]);
    let took = started.elapsed();
    assert!(
        stderr(&out).contains(&format!("delivered {n} events")),
        "{}",
        stderr(&out)
    );
    let messages = server.messages();
    let bytes: usize = messages.iter().map(|m| m.body.len()).sum();
    println!(
        "published {n} tag events in {:.2} s: {:.0} events/s (whole push, events built and acknowledged one by one); mean body {} bytes",
        took.as_secs_f64(),
        n as f64 / took.as_secs_f64(),
        bytes / messages.len()
    );
}
