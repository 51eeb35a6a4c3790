//! A small receiver to look with: accepts webhook POSTs on a port and prints each
//! request's event header and pretty body (the seed's echo script, built in).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Sender};

use crate::commands::output::Output;

/// Bodies larger than this are refused (webhook bodies are a few kilobytes; GitHub caps
/// its own at 25 MB).
const MAX_BODY: usize = 25 << 20;
/// The longest request line or header line, line end included.
const MAX_LINE: usize = 8 << 10;
/// The most header lines a request may have.
const MAX_HEADERS: usize = 100;
/// A connection that sends nothing for this long is dropped.
const IDLE: std::time::Duration = std::time::Duration::from_secs(60);

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
        let event = crate::payload::EVENT_HEADERS
            .iter()
            .find_map(|name| self.header(name))
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
    let _ = stream.set_read_timeout(Some(IDLE));
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

/// Refuses the request with `answer` and ends the connection.
fn refuse(reader: &mut BufReader<TcpStream>, answer: &str) -> Option<(Received, bool)> {
    let text = format!("HTTP/1.1 {answer}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    let _ = reader.get_mut().write_all(text.as_bytes());
    let _ = reader.get_mut().shutdown(std::net::Shutdown::Both);
    None
}

/// One line of at most [`MAX_LINE`] bytes, without its line end; `Err` when it is
/// longer, `Ok(None)` at the end of the stream or on a read error.
fn read_line(reader: &mut BufReader<TcpStream>) -> Result<Option<String>, ()> {
    let mut line = Vec::new();
    match reader.by_ref().take(MAX_LINE as u64).read_until(b'\n', &mut line) {
        Ok(0) | Err(_) => return Ok(None),
        Ok(_) => {}
    }
    if !line.ends_with(b"\n") {
        // Cut off by the limit (or by the end of the stream mid-line).
        return if line.len() >= MAX_LINE { Err(()) } else { Ok(None) };
    }
    Ok(Some(String::from_utf8_lossy(&line).trim_end().to_string()))
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(Received, bool)> {
    const TOO_LARGE: &str = "431 Request Header Fields Too Large";
    let Ok(line) = read_line(reader) else {
        return refuse(reader, "414 URI Too Long");
    };
    let line = line?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next()?.to_string(), parts.next()?.to_string());
    let mut headers = Vec::new();
    loop {
        let Ok(h) = read_line(reader) else {
            return refuse(reader, TOO_LARGE);
        };
        let h = h?;
        if h.is_empty() {
            break;
        }
        if headers.len() == MAX_HEADERS {
            return refuse(reader, TOO_LARGE);
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
        return refuse(reader, "413 Payload Too Large");
    }
    // Grown as bytes arrive, not reserved up front for what the client announces.
    let mut body = Vec::new();
    reader.by_ref().take(length as u64).read_to_end(&mut body).ok()?;
    if body.len() != length {
        return None;
    }
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
