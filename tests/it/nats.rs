//! NATS JetStream hooks against a real `nats-server` on 127.0.0.1 with JetStream and
//! password, token or `.creds` (operator mode) authentication: publish and
//! acknowledgement, outages and redelivery without duplicates, refused credentials and
//! permissions, and the bodies HTTP hooks get.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use base64::Engine;
use nkeys::KeyPair;
use sha2::Digest;

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
    /// The operator whose accounts it trusts, instead of the users (operator mode).
    operator: Option<Operator>,
}

impl NatsServer {
    pub fn start() -> NatsServer {
        NatsServer::start_with(None, None, None)
    }

    /// A server that speaks TLS only, with this certificate and key.
    pub fn start_tls(cert: PathBuf, key: PathBuf) -> NatsServer {
        NatsServer::start_with(Some((cert, key)), None, None)
    }

    /// A server whose clients authenticate with `token`.
    pub fn start_token(token: &'static str) -> NatsServer {
        NatsServer::start_with(None, Some(token), None)
    }

    /// A server in operator mode: it trusts `operator`'s accounts, and their users
    /// authenticate with a signed JWT and their NKEY.
    pub fn start_operator(operator: Operator) -> NatsServer {
        NatsServer::start_with(None, None, Some(operator))
    }

    fn start_with(
        tls: Option<(PathBuf, PathBuf)>,
        token: Option<&'static str>,
        operator: Option<Operator>,
    ) -> NatsServer {
        let dir = tempfile::tempdir().unwrap();
        let mut server = NatsServer {
            port: free_port(),
            dir,
            child: None,
            tls,
            token,
            operator,
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
        let authorization = match (self.token, &self.operator) {
            (Some(token), _) => format!("authorization {{ token: \"{token}\" }}\n"),
            (None, Some(operator)) => operator.config(self.dir.path()),
            (None, None) => USERS.to_string(),
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
            let mut options = match (self.token, &self.operator) {
                (Some(token), _) => async_nats::ConnectOptions::with_token(token.into()),
                (None, Some(operator)) => async_nats::ConnectOptions::with_credentials(&operator.admin).unwrap(),
                (None, None) => async_nats::ConnectOptions::with_user_and_password("admin".into(), "admin-pw".into()),
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

/// A trust chain made the way `nsc` makes one (nats-io/jwt v2 claims): a self-signed
/// operator, its system account, and the account `GIT` with JetStream, whose users
/// authenticate with `.creds` files.
pub struct Operator {
    operator: KeyPair,
    system: KeyPair,
    account: KeyPair,
    /// The `.creds` of the account's user `admin`, for the tests' own connections.
    admin: String,
}

impl Operator {
    pub fn new() -> Operator {
        let account = KeyPair::new_account();
        let admin = user_creds(&account, "admin");
        Operator {
            operator: KeyPair::new_operator(),
            system: KeyPair::new_account(),
            account,
            admin,
        }
    }

    /// The `.creds` text of a new user `name` of the account `GIT`.
    pub fn creds(&self, name: &str) -> String {
        user_creds(&self.account, name)
    }

    /// The server's trust: the operator's JWT (in a file under `dir`), the system
    /// account, and both accounts' JWTs preloaded into a memory resolver.
    fn config(&self, dir: &std::path::Path) -> String {
        let operator = self.operator.public_key();
        let system = self.system.public_key();
        let account = self.account.public_key();
        let nats = serde_json::json!({"type": "operator", "version": 2, "system_account": system});
        let path = dir.join("operator.jwt");
        std::fs::write(&path, jwt(&self.operator, &operator, "OP", nats)).unwrap();
        let unlimited = serde_json::json!({
            "subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
            "wildcards": true, "conn": -1, "leaf": -1,
        });
        let mut jetstream = unlimited.clone();
        for key in ["mem_storage", "disk_storage", "streams", "consumer"] {
            jetstream[key] = (-1).into();
        }
        let account_jwt = |name: &str, limits: serde_json::Value| {
            let nats = serde_json::json!({
                "limits": limits,
                "default_permissions": {"pub": {}, "sub": {}},
                "type": "account",
                "version": 2,
            });
            let subject = if name == "SYS" { &system } else { &account };
            jwt(&self.operator, subject, name, nats)
        };
        format!(
            "operator: \"{}\"\nsystem_account: {system}\nresolver: MEMORY\nresolver_preload: {{\n  {system}: \"{}\"\n  {account}: \"{}\"\n}}\n",
            path.display(),
            account_jwt("SYS", unlimited),
            account_jwt("GIT", jetstream),
        )
    }
}

/// A JWT of `claims` about `subject`, signed by `issuer` (nats-io/jwt v2: an
/// `ed25519-nkey` header, `jti` the base32 SHA-512/256 of the standard claims).
fn jwt(issuer: &KeyPair, subject: &str, name: &str, nats: serde_json::Value) -> String {
    let iat = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let iss = issuer.public_key();
    // Go's encoding of the standard claims without `jti`, in their declared order.
    let standard = serde_json::json!({"iat": iat, "iss": iss, "name": name, "sub": subject});
    let jti = base32(&sha2::Sha512_256::digest(standard.to_string().as_bytes()));
    let claims = serde_json::json!({
        "jti": jti, "iat": iat, "iss": iss, "name": name, "sub": subject, "nats": nats,
    });
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let signed = format!(
        "{}.{}",
        b64.encode(r#"{"typ":"JWT","alg":"ed25519-nkey"}"#),
        b64.encode(claims.to_string())
    );
    let signature = issuer.sign(signed.as_bytes()).unwrap();
    format!("{signed}.{}", b64.encode(signature))
}

/// RFC 4648 base32, without padding.
fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut out, mut buffer, mut bits) = (String::new(), 0u32, 0);
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(ALPHABET[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The `.creds` file `nsc` writes for a new user `name` of `account`: its JWT and seed.
fn user_creds(account: &KeyPair, name: &str) -> String {
    let user = KeyPair::new_user();
    let nats = serde_json::json!({
        "pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1,
        "type": "user", "version": 2,
    });
    let jwt = jwt(account, &user.public_key(), name, nats);
    format!(
        "-----BEGIN NATS USER JWT-----\n{jwt}\n------END NATS USER JWT------\n\n\
         ************************* IMPORTANT *************************\n\
         NKEY Seed printed below can be used to sign and prove identity.\n\
         NKEYs are sensitive and should be treated as secrets.\n\n\
         -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n\n\
         *************************************************************\n",
        user.seed().unwrap()
    )
}

/// The JWT and the seed of a `.creds` text, the lines that are secret.
fn creds_secrets(creds: &str) -> Vec<String> {
    creds
        .lines()
        .filter(|l| l.starts_with("eyJ") || l.starts_with("SU"))
        .map(str::to_string)
        .collect()
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
fn a_creds_file_authenticates_in_operator_mode_and_is_never_shown() {
    let operator = Operator::new();
    let creds = operator.creds("git");
    let stranger = Operator::new().creds("git");
    let server = NatsServer::start_operator(operator);
    server.create_stream();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("nats://127.0.0.1:{}", server.port);
    // `name` under `dir`, holding `text` (or absent).
    let hook = |repo: &Repo, name: &str, text: Option<&str>| {
        let path = dir.path().join(name);
        if let Some(text) = text {
            std::fs::write(&path, text).unwrap();
        }
        nats_hook(repo, &url, &format!("creds_file = \"{}\"\n", path.display()));
    };

    let repo = Repo::new();
    hook(&repo, "git.creds", Some(&creds));
    repo.commit("one");
    let out = repo.push(&["origin", "main"]);
    let err = stderr(&out);
    assert!(err.contains("bus: delivered 1 event"), "{err}");
    let messages = server.messages();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert_eq!(messages[0].subject, "git.demo_app.push");
    let id = messages[0].id.as_deref().unwrap();
    assert_eq!(messages[0].header("X-AtomGit-Delivery"), Some(id));
    assert!(pending(&repo).is_empty());
    let log = repo.run(&["log"], "");
    assert!(String::from_utf8_lossy(&log.stdout).contains(id), "{}", stderr(&log));
    let mut shown = format!(
        "{err}{}{}{}",
        stderr(&log),
        String::from_utf8_lossy(&log.stdout),
        outbox_text(&repo)
    );

    // A user of an account the server does not trust is refused: set aside as failed.
    let repo = Repo::new();
    hook(&repo, "stranger.creds", Some(&stranger));
    repo.commit("two");
    let out = repo.push(&["origin", "main"]);
    let err = stderr(&out);
    assert!(err.contains("authentication failed"), "{err}");
    assert!(err.contains("set aside as failed"), "{err}");
    assert!(pending(&repo).is_empty());
    let failed = repo.run(&["redeliver", "--failed", "--dry-run"], "");
    assert_eq!(
        String::from_utf8_lossy(&failed.stdout).lines().count(),
        1,
        "{}",
        stderr(&failed)
    );
    let log = repo.run(&["log"], "");
    shown += &format!(
        "{err}{}{}{}",
        stderr(&log),
        String::from_utf8_lossy(&log.stdout),
        outbox_text(&repo)
    );

    // A creds file that cannot be read keeps the event, as an unreadable secret does.
    let repo = Repo::new();
    hook(&repo, "missing.creds", None);
    repo.commit("three");
    let out = repo.push(&["origin", "main"]);
    let err = stderr(&out);
    assert!(err.contains("a secret of this hook cannot be read"), "{err}");
    assert!(err.contains("1 event kept for `git-webhooks redeliver`"), "{err}");
    assert_eq!(pending(&repo).len(), 1, "{err}");
    let check = repo.run(&["check"], "");
    assert!(!check.status.success());
    assert!(
        stderr(&check).contains("cannot read the credentials file"),
        "{}",
        stderr(&check)
    );
    shown += &format!("{err}{}{}", stderr(&check), outbox_text(&repo));

    assert_eq!(server.messages().len(), 1);
    let secrets = [creds_secrets(&creds), creds_secrets(&stranger)].concat();
    assert_eq!(secrets.len(), 4, "a JWT and a seed in each");
    for secret in &secrets {
        assert!(!shown.contains(secret.as_str()), "{shown}");
        assert!(messages[0].headers.iter().all(|(_, v)| !v.contains(secret.as_str())));
    }
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
