//! Minimal HTTP/1.1 over one kept-alive TLS connection: the request vetcrypt writes, and the
//! answer read back, bounded. Everything the server sends is hostile: the head is read up to
//! 16 KiB and parsed with httparse, the body is read and discarded up to a cap, chunk sizes are
//! checked, and nothing of it but the status code is kept.

use std::time::Instant;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Most bytes of response head read.
pub const MAX_HEAD: usize = 16 * 1024;
/// Most headers parsed in a response head.
const MAX_HEADERS: usize = 100;
/// Most bytes of one chunk-size line (`1a2b;ext=...\r\n`).
const MAX_CHUNK_LINE: usize = 1024;

/// What reading one answer showed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// When the first byte of the answer arrived.
    pub first_byte: Instant,
    /// Bytes read (head and body).
    pub bytes: u64,
    /// Whether the connection can carry another request (no `Connection: close`, and the
    /// body's end was known from its length or its chunks).
    pub reusable: bool,
}

/// Why an answer could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The connection closed before a complete answer.
    Closed {
        bytes: u64,
    },
    Io(String),
    /// Not an HTTP/1.x answer, or a malformed one.
    Malformed(String),
    /// The head or body went over its cap.
    TooLarge(String),
}

impl Failure {
    /// vetcrypt's words for it (counted per cause in the facts; no peer text in them).
    pub fn cause(&self) -> String {
        match self {
            Failure::Closed { .. } => "connection closed before a complete answer".into(),
            Failure::Io(e) => e.clone(),
            Failure::Malformed(why) => format!("malformed answer: {why}"),
            Failure::TooLarge(what) => format!("answer over the cap: {what}"),
        }
    }
}

/// The bytes of one request: method, path, Host, a User-Agent, the user's headers, a body of
/// `body_len` bytes (with its Content-Length when there is one, or when the method sends one).
pub fn request(
    method: &str,
    path: &str,
    host: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Vec<u8> {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: vetcrypt/{} (load)\r\n",
        env!("CARGO_PKG_VERSION")
    );
    let mut has_type = false;
    for (name, value) in headers {
        has_type |= name.eq_ignore_ascii_case("content-type");
        head.push_str(name);
        head.push_str(": ");
        head.push_str(value);
        head.push_str("\r\n");
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT" | "PATCH") {
        if !has_type && !body.is_empty() {
            head.push_str("Content-Type: application/octet-stream\r\n");
        }
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

/// Writes `req` and reads one answer, discarding the body (at most `max_body` bytes).
/// `head_request`: the answer has no body whatever its headers say.
pub async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    req: &[u8],
    head_request: bool,
    max_body: u64,
) -> Result<Answer, Failure> {
    stream.write_all(req).await.map_err(io)?;
    stream.flush().await.map_err(io)?;
    read_answer(stream, head_request, max_body).await
}

fn io(e: std::io::Error) -> Failure {
    let text = e.to_string();
    // rustls errors carry their own words (an alert, a bad record): keep them short.
    Failure::Io(match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "connection closed".into(),
        std::io::ErrorKind::ConnectionReset => "connection reset".into(),
        std::io::ErrorKind::BrokenPipe => "connection closed while sending".into(),
        _ => text.chars().take(120).collect(),
    })
}

/// Reads one answer: head, then the body by Content-Length, chunks, or until close.
/// 1xx interim answers are skipped.
pub async fn read_answer<S: AsyncRead + Unpin>(
    stream: &mut S,
    head_request: bool,
    max_body: u64,
) -> Result<Answer, Failure> {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut first_byte = None;
    let mut total = 0u64;
    loop {
        // The head.
        let head_len = loop {
            if let Some(end) = find_head_end(&buf) {
                break end;
            }
            if buf.len() >= MAX_HEAD {
                return Err(Failure::TooLarge(format!("a head over {MAX_HEAD} bytes")));
            }
            let room = MAX_HEAD - buf.len();
            let n = read_more(stream, &mut buf, room).await?;
            if n == 0 {
                return Err(Failure::Closed { bytes: total });
            }
            first_byte.get_or_insert_with(Instant::now);
            total += n as u64;
        };
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut resp = httparse::Response::new(&mut headers);
        match resp.parse(&buf[..head_len]) {
            Ok(httparse::Status::Complete(_)) => {}
            Ok(httparse::Status::Partial) => {
                return Err(Failure::Malformed("an incomplete head".into()))
            }
            Err(e) => return Err(Failure::Malformed(format!("{e}"))),
        }
        let status = resp.code.unwrap_or(0);
        let http10 = resp.version == Some(0);
        let mut length: Option<u64> = None;
        let mut chunked = false;
        let mut close = http10;
        for h in resp.headers.iter() {
            let value = String::from_utf8_lossy(h.value);
            if h.name.eq_ignore_ascii_case("content-length") {
                let n: u64 = value
                    .trim()
                    .parse()
                    .map_err(|_| Failure::Malformed("a Content-Length that is no number".into()))?;
                if length.is_some_and(|l| l != n) {
                    return Err(Failure::Malformed("two different Content-Lengths".into()));
                }
                length = Some(n);
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value
                    .split(',')
                    .next_back()
                    .is_some_and(|c| c.trim().eq_ignore_ascii_case("chunked"));
            } else if h.name.eq_ignore_ascii_case("connection") {
                let v = value.to_ascii_lowercase();
                if v.contains("close") {
                    close = true;
                } else if v.contains("keep-alive") && http10 {
                    close = false;
                }
            }
        }
        let rest = buf.split_off(head_len);
        buf = rest;
        if (100..200).contains(&status) && status != 101 {
            // An interim answer (100 Continue): the real one follows.
            continue;
        }
        let first_byte = first_byte.unwrap_or_else(Instant::now);
        let no_body = head_request || status == 204 || status == 304 || status == 101;
        let mut body = Body {
            stream,
            buf,
            max: max_body,
            read: 0,
            total,
        };
        let reusable = if no_body {
            !close
        } else if chunked {
            body.chunked().await?;
            !close
        } else if let Some(n) = length {
            body.exactly(n).await?;
            !close
        } else {
            body.until_close().await?;
            false
        };
        return Ok(Answer {
            status,
            first_byte,
            bytes: body.total,
            reusable,
        });
    }
}

/// Reads up to `room` more bytes into `buf`; the count read (0 at the end of the stream).
async fn read_more<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut Vec<u8>,
    room: usize,
) -> Result<usize, Failure> {
    let mut chunk = [0u8; 8192];
    let want = room.clamp(1, chunk.len());
    match stream.read(&mut chunk[..want]).await {
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(n)
        }
        // A peer that closes without close_notify after a complete answer is common; before
        // one, it is a closed connection.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
        Err(e) => Err(io(e)),
    }
}

fn find_head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|i| i + 4)
}

/// A body being read and discarded.
struct Body<'a, S> {
    stream: &'a mut S,
    /// Bytes read past the head not yet consumed.
    buf: Vec<u8>,
    max: u64,
    /// Body bytes consumed.
    read: u64,
    /// Every byte read off the connection.
    total: u64,
}

impl<S: AsyncRead + Unpin> Body<'_, S> {
    fn over(&self) -> Failure {
        Failure::TooLarge(format!("a body over {} bytes", self.max))
    }

    /// Fills the buffer with more bytes; false at the end of the stream.
    async fn fill(&mut self) -> Result<bool, Failure> {
        let n = read_more(self.stream, &mut self.buf, 64 * 1024).await?;
        self.total += n as u64;
        Ok(n > 0)
    }

    /// Consumes `n` body bytes.
    async fn exactly(&mut self, mut n: u64) -> Result<(), Failure> {
        if self.read + n > self.max {
            return Err(self.over());
        }
        loop {
            let take = (self.buf.len() as u64).min(n) as usize;
            self.buf.drain(..take);
            n -= take as u64;
            self.read += take as u64;
            if n == 0 {
                return Ok(());
            }
            if !self.fill().await? {
                return Err(Failure::Closed { bytes: self.total });
            }
        }
    }

    /// Consumes everything to the end of the stream.
    async fn until_close(&mut self) -> Result<(), Failure> {
        loop {
            self.read += self.buf.len() as u64;
            self.buf.clear();
            if self.read > self.max {
                return Err(self.over());
            }
            if !self.fill().await? {
                return Ok(());
            }
        }
    }

    /// One line ending in CRLF, at most [`MAX_CHUNK_LINE`] bytes.
    async fn line(&mut self) -> Result<Vec<u8>, Failure> {
        loop {
            if let Some(i) = self.buf.windows(2).position(|w| w == b"\r\n") {
                let line: Vec<u8> = self.buf.drain(..i + 2).take(i).collect();
                return Ok(line);
            }
            if self.buf.len() > MAX_CHUNK_LINE {
                return Err(Failure::Malformed("a chunk line over 1 KiB".into()));
            }
            if !self.fill().await? {
                return Err(Failure::Closed { bytes: self.total });
            }
        }
    }

    /// Consumes a chunked body and its trailers.
    async fn chunked(&mut self) -> Result<(), Failure> {
        loop {
            let line = self.line().await?;
            let text = String::from_utf8_lossy(&line);
            let size = text.split(';').next().unwrap_or("").trim();
            let size = u64::from_str_radix(size, 16)
                .map_err(|_| Failure::Malformed("a chunk size that is no hex number".into()))?;
            if size == 0 {
                // Trailers, up to the empty line.
                for _ in 0..MAX_HEADERS {
                    if self.line().await?.is_empty() {
                        return Ok(());
                    }
                }
                return Err(Failure::Malformed("too many trailers".into()));
            }
            self.exactly(size).await?;
            if !self.line().await?.is_empty() {
                return Err(Failure::Malformed("a chunk not followed by CRLF".into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read(bytes: &[u8], max: u64) -> Result<Answer, Failure> {
        let mut s: &[u8] = bytes;
        read_answer(&mut s, false, max).await
    }

    #[tokio::test]
    async fn answers_are_read_by_length_chunks_or_close() {
        let a = read(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", 100)
            .await
            .unwrap();
        assert_eq!((a.status, a.reusable), (200, true));
        let a = read(
            b"HTTP/1.1 503 Busy\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n3;x=y\r\nabc\r\n0\r\nT: 1\r\n\r\n",
            100,
        )
        .await
        .unwrap();
        assert_eq!((a.status, a.reusable), (503, true));
        let a = read(b"HTTP/1.1 200 OK\r\n\r\nuntil the end", 100)
            .await
            .unwrap();
        assert_eq!((a.status, a.reusable), (200, false));
        let a = read(
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            100,
        )
        .await
        .unwrap();
        assert_eq!((a.status, a.reusable), (201, false));
    }

    #[tokio::test]
    async fn hostile_answers_are_bounded() {
        let big = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
        assert!(matches!(read(big, 100).await, Err(Failure::TooLarge(_))));
        let endless: Vec<u8> = std::iter::repeat_n(b'a', MAX_HEAD + 10).collect();
        assert!(matches!(
            read(&endless, 100).await,
            Err(Failure::TooLarge(_))
        ));
        let chunk_line: Vec<u8> = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            .iter()
            .copied()
            .chain(std::iter::repeat_n(b'1', 4000))
            .collect();
        assert!(matches!(
            read(&chunk_line, 1 << 20).await,
            Err(Failure::Malformed(_))
        ));
        assert!(matches!(
            read(b"SSH-2.0-OpenSSH\r\n\r\n", 100).await,
            Err(Failure::Malformed(_))
        ));
        assert!(matches!(
            read(b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc", 100).await,
            Err(Failure::Closed { .. })
        ));
        assert!(matches!(
            read(
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                100
            )
            .await,
            Err(Failure::Malformed(_))
        ));
    }

    #[test]
    fn requests_carry_the_body_length() {
        let r = request(
            "POST",
            "/v1/messages",
            "api.example",
            &[("Authorization".into(), "Bearer t".into())],
            b"abc",
        );
        let text = String::from_utf8(r).unwrap();
        assert!(text.starts_with("POST /v1/messages HTTP/1.1\r\nHost: api.example\r\n"));
        assert!(text.contains("Content-Length: 3\r\n") && text.ends_with("\r\n\r\nabc"));
        let g = String::from_utf8(request("GET", "/", "h", &[], b"")).unwrap();
        assert!(!g.contains("Content-Length"));
    }
}
