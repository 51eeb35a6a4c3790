//! A small receiver to look with: accepts webhook POSTs on a port and prints each
//! request's event header and pretty body (the seed's echo script, built in).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Sender};

use crate::output::Output;

/// Bodies larger than this are refused (webhook bodies are a few kilobytes).
const MAX_BODY: usize = 64 << 20;

/// One request as received.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Received {
    /// The first header with this name (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The event header and the body, pretty-printed when it is JSON.
    pub fn show(&self) -> String {
        let event = self
            .header("X-AtomGit-Event")
            .or_else(|| self.header("X-Gitlab-Event"))
            .unwrap_or("(no event header)");
        let body = serde_json::from_slice::<serde_json::Value>(&self.body)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| String::from_utf8_lossy(&self.body).into_owned());
        format!("{} {}  {event}\n{body}\n", self.method, self.path)
    }
}

/// `git-webhooks listen`: prints requests until `count` have arrived (or forever).
pub fn run(bind: &str, port: u16, count: Option<usize>, status: u16, out: &Output) -> u8 {
    let listener = match TcpListener::bind((bind, port)) {
        Ok(l) => l,
        Err(e) => {
            out.error(&format!("cannot listen on {bind}:{port}: {e} (try another --port)"));
            return 1;
        }
    };
    let addr = listener.local_addr().map(|a| a.to_string()).unwrap_or_default();
    out.info(&format!(
        "listening on http://{addr}/ ; put this URL in a [[hook]] of webhooks.toml (Ctrl-C to stop)"
    ));
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || accept(listener, status, tx));
    for (seen, request) in rx.into_iter().enumerate() {
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "{}", request.show());
        let _ = stdout.flush();
        if count.is_some_and(|c| seen + 1 >= c) {
            break;
        }
    }
    0
}

/// Accepts connections forever, one thread each, sending every request to `tx`.
pub fn accept(listener: TcpListener, status: u16, tx: Sender<Received>) {
    for stream in listener.incoming().flatten() {
        let tx = tx.clone();
        std::thread::spawn(move || serve_connection(stream, status, &tx));
    }
}

fn serve_connection(stream: TcpStream, status: u16, tx: &Sender<Received>) {
    let Ok(write_half) = stream.try_clone() else { return };
    let mut writer = write_half;
    let mut reader = BufReader::new(stream);
    while let Some((request, close)) = read_request(&mut reader) {
        let reason = if (200..300).contains(&status) { "OK" } else { "Status" };
        let answer = format!("HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\n\r\n");
        if writer.write_all(answer.as_bytes()).is_err() || tx.send(request).is_err() || close {
            return;
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(Received, bool)> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((n, v)) = h.split_once(':') {
            headers.push((n.trim().to_string(), v.trim().to_string()));
        }
    }
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _): &&(String, String)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    let length: usize = get("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
    let close = get("connection").is_some_and(|c| c.eq_ignore_ascii_case("close"));
    if length > MAX_BODY {
        let _ = reader
            .get_mut()
            .write_all(b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return None;
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((
        Received {
            method,
            path,
            headers,
            body,
        },
        close,
    ))
}
