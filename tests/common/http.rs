//! Plain HTTP/1.0 on loopback, written by hand: the simulator's knobs, a process's endpoints,
//! from any thread, without a runtime. Only for test servers on 127.0.0.1.

use std::io::{Read, Write};

use serde_json::Value;

/// An answer: the status, the whole head, and the body.
#[derive(Clone, Debug)]
pub struct Answer {
    pub status: u16,
    pub head: String,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}\r\n\r\n{}", self.head, self.body))
    }
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}\r\n\r\n{}", self.head, self.body)
    }
}

/// `METHOD PATH` with `body` to `base` (`http://127.0.0.1:PORT` or `127.0.0.1:PORT`); an IO
/// error when nothing answers.
pub fn request(base: &str, method: &str, path: &str, body: &str) -> std::io::Result<Answer> {
    let addr = base.trim_start_matches("http://").trim_end_matches('/');
    let mut s = std::net::TcpStream::connect(addr)?;
    write!(
        s,
        "{method} {path} HTTP/1.0\r\nHost: {addr}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Ok(Answer {
        status,
        head: head.to_string(),
        body: body.to_string(),
    })
}

pub fn get(base: &str, path: &str) -> Answer {
    request(base, "GET", path, "").unwrap_or_else(|e| panic!("GET {base}{path}: {e}"))
}

/// A GET's body as JSON.
pub fn get_json(base: &str, path: &str) -> Value {
    get(base, path).json()
}

pub fn post(base: &str, path: &str, body: &str) -> Answer {
    request(base, "POST", path, body).unwrap_or_else(|e| panic!("POST {base}{path}: {e}"))
}
