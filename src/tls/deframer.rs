//! Records in, whole handshake messages out, with hard bounds: a hostile peer can send a
//! 16 MiB record, an endless stream of records or plain garbage, and get a clear error.
//!
//! The deframer itself is synchronous and does no I/O, so it can be fuzzed and unit-tested;
//! `next_event` drives it from a socket.

use tokio::io::{AsyncRead, AsyncReadExt};

use super::codec::content;

/// Largest record a TLS 1.2 peer may send (2^14 plaintext + 2048 expansion).
pub const MAX_RECORD: usize = 16384 + 2048;
/// Largest handshake message accepted: the protocol's own maximum (a 24-bit length,
/// 2^24 − 1 bytes), so a Certificate message carrying certificates of any size TLS allows is
/// read whole.
pub const MAX_HANDSHAKE: usize = (1 << 24) - 1;
/// Most bytes read from one connection before giving up on it: the largest handshake message
/// plus 1 MiB for the rest of the flight. This is the memory bound of one connection: a whole
/// message is held once while it is joined and once more while its certificates are copied out,
/// so a connection holds at most about twice this (34 MiB) at its peak.
pub const MAX_TOTAL: usize = MAX_HANDSHAKE + 4 + 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A whole handshake message, header included.
    Handshake {
        typ: u8,
        message: Vec<u8>,
    },
    Alert {
        level: u8,
        description: u8,
    },
    /// A record of another content type (change_cipher_spec, application_data, heartbeat).
    Other {
        typ: u8,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadError {
    /// The peer closed the connection. `partial` says whether it left a message unfinished.
    Eof {
        partial: bool,
        any_data: bool,
    },
    /// The first bytes are not a TLS record; `banner` is what they look like.
    NotTls {
        banner: String,
    },
    Protocol(String),
    /// The connection failed; `kind` says how (a reset is how some servers refuse).
    Io {
        kind: std::io::ErrorKind,
        message: String,
    },
}

#[derive(Default)]
pub struct Deframer {
    buf: Vec<u8>,
    hs: Vec<u8>,
    total: usize,
    seen_record: bool,
}

impl Deframer {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, data: &[u8]) -> Result<(), ReadError> {
        self.total += data.len();
        if self.total > MAX_TOTAL {
            return Err(ReadError::Protocol(format!(
                "peer sent more than {} KiB without finishing the exchange",
                MAX_TOTAL / 1024
            )));
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    pub fn has_data(&self) -> bool {
        self.total > 0
    }

    fn partial(&self) -> bool {
        !self.buf.is_empty() || !self.hs.is_empty()
    }

    /// The next event, if enough bytes have arrived for one.
    pub fn next_event(&mut self) -> Result<Option<Event>, ReadError> {
        loop {
            if let Some(msg) = self.take_handshake()? {
                return Ok(Some(msg));
            }
            if !self.seen_record && !self.buf.is_empty() && !looks_like_record(&self.buf) {
                return Err(ReadError::NotTls {
                    banner: banner(&self.buf),
                });
            }
            if self.buf.len() < 5 {
                return Ok(None);
            }
            let typ = self.buf[0];
            let len = u16::from_be_bytes([self.buf[3], self.buf[4]]) as usize;
            if !(content::CHANGE_CIPHER_SPEC..=content::HEARTBEAT).contains(&typ)
                || self.buf[1] != 3
            {
                return Err(ReadError::Protocol(format!(
                    "malformed record header {:02x?}",
                    &self.buf[..5]
                )));
            }
            if len > MAX_RECORD {
                return Err(ReadError::Protocol(format!(
                    "record of {len} bytes exceeds the TLS limit of {MAX_RECORD}"
                )));
            }
            if self.buf.len() < 5 + len {
                return Ok(None);
            }
            self.seen_record = true;
            // Copied as a slice, not byte by byte: a 16 MiB message is a thousand records.
            let payload: Vec<u8> = self.buf[5..5 + len].to_vec();
            self.buf.drain(..5 + len);
            match typ {
                content::HANDSHAKE => {
                    if payload.is_empty() {
                        return Err(ReadError::Protocol("empty handshake record".into()));
                    }
                    self.hs.extend_from_slice(&payload);
                }
                content::ALERT => {
                    if payload.len() != 2 {
                        return Err(ReadError::Protocol(format!(
                            "alert record of {} bytes",
                            payload.len()
                        )));
                    }
                    return Ok(Some(Event::Alert {
                        level: payload[0],
                        description: payload[1],
                    }));
                }
                other => return Ok(Some(Event::Other { typ: other })),
            }
        }
    }

    fn take_handshake(&mut self) -> Result<Option<Event>, ReadError> {
        if self.hs.len() < 4 {
            return Ok(None);
        }
        let len = u32::from_be_bytes([0, self.hs[1], self.hs[2], self.hs[3]]) as usize;
        if len > MAX_HANDSHAKE {
            return Err(ReadError::Protocol(format!(
                "handshake message of {len} bytes exceeds the limit of {MAX_HANDSHAKE}"
            )));
        }
        if self.hs.len() < 4 + len {
            return Ok(None);
        }
        // The common case, one message left: hand the buffer over rather than copy it.
        let message: Vec<u8> = if self.hs.len() == 4 + len {
            std::mem::take(&mut self.hs)
        } else {
            self.hs.drain(..4 + len).collect()
        };
        Ok(Some(Event::Handshake {
            typ: message[0],
            message,
        }))
    }
}

/// Whether the first bytes can start a TLS record (or are too few to tell).
fn looks_like_record(b: &[u8]) -> bool {
    let type_ok = (content::CHANGE_CIPHER_SPEC..=content::HEARTBEAT).contains(&b[0]);
    let major_ok = b.len() < 2 || b[1] == 3;
    type_ok && major_ok
}

/// A short printable rendering of what a non-TLS peer sent ("SSH-2.0-OpenSSH_9.2p1").
pub fn banner(b: &[u8]) -> String {
    let head = &b[..b.len().min(64)];
    let text: String = head
        .iter()
        .take_while(|c| **c != b'\r' && **c != b'\n')
        .map(|&c| {
            if (0x20..0x7f).contains(&c) {
                c as char
            } else {
                '.'
            }
        })
        .collect();
    if head
        .iter()
        .take(16)
        .all(|c| (0x20..0x7f).contains(c) || *c == b'\r' || *c == b'\n')
    {
        text
    } else {
        format!("binary data {:02x?}", &head[..head.len().min(8)])
    }
}

/// Reads from `stream` until the deframer yields an event.
pub async fn next_event<S: AsyncRead + Unpin>(
    stream: &mut S,
    d: &mut Deframer,
) -> Result<Event, ReadError> {
    // On the heap: this future sits under several levels of steps run side by side.
    let mut chunk = vec![0u8; 8192];
    loop {
        if let Some(ev) = d.next_event()? {
            return Ok(ev);
        }
        let n = stream.read(&mut chunk).await.map_err(|e| ReadError::Io {
            kind: e.kind(),
            message: e.to_string(),
        })?;
        if n == 0 {
            return Err(ReadError::Eof {
                partial: d.partial(),
                any_data: d.has_data(),
            });
        }
        d.push(&chunk[..n])?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(typ: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![typ, 3, 3];
        v.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn joins_a_message_split_across_records() {
        let msg = [2u8, 0, 0, 6, 1, 2, 3, 4, 5, 6];
        let mut d = Deframer::new();
        d.push(&record(22, &msg[..3])).unwrap();
        assert_eq!(d.next_event().unwrap(), None);
        d.push(&record(22, &msg[3..])).unwrap();
        assert_eq!(
            d.next_event().unwrap(),
            Some(Event::Handshake {
                typ: 2,
                message: msg.to_vec()
            })
        );
    }

    #[test]
    fn alerts_and_other_records() {
        let mut d = Deframer::new();
        d.push(&record(21, &[2, 40])).unwrap();
        d.push(&record(23, &[0; 3])).unwrap();
        assert_eq!(
            d.next_event().unwrap(),
            Some(Event::Alert {
                level: 2,
                description: 40
            })
        );
        assert_eq!(d.next_event().unwrap(), Some(Event::Other { typ: 23 }));
    }

    #[test]
    fn refuses_hostile_input() {
        let mut d = Deframer::new();
        d.push(b"SSH-2.0-OpenSSH_9.2p1 Debian\r\n").unwrap();
        assert_eq!(
            d.next_event().unwrap_err(),
            ReadError::NotTls {
                banner: "SSH-2.0-OpenSSH_9.2p1 Debian".into()
            }
        );

        let mut d = Deframer::new();
        d.push(&[22, 3, 3, 0xff, 0xff]).unwrap();
        assert!(matches!(d.next_event(), Err(ReadError::Protocol(m)) if m.contains("exceeds")));

        let mut d = Deframer::new();
        let big = record(23, &[0; 16000]);
        let mut err = None;
        for _ in 0..(MAX_TOTAL / 16000 + 2) {
            if let Err(e) = d.push(&big) {
                err = Some(e);
                break;
            }
            while let Ok(Some(_)) = d.next_event() {}
        }
        assert!(
            matches!(err, Some(ReadError::Protocol(_))),
            "endless stream must stop"
        );
    }

    /// A Certificate message of the largest size TLS allows (2^24 − 1 bytes) is read whole,
    /// across a thousand records, and the reading stops at the stated bound.
    #[test]
    fn reads_the_largest_message_tls_allows() {
        let len = MAX_HANDSHAKE;
        let mut msg = vec![11u8, 0xff, 0xff, 0xff];
        msg.resize(4 + len, 0x5a);
        let mut d = Deframer::new();
        let mut got = None;
        for part in msg.chunks(16384) {
            d.push(&record(22, part)).unwrap();
            if let Some(ev) = d.next_event().unwrap() {
                got = Some(ev);
            }
        }
        let Some(Event::Handshake { typ, message }) = got else {
            panic!("no message")
        };
        assert_eq!((typ, message.len()), (11, 4 + len));
        assert!(d.total <= MAX_TOTAL);
    }

    #[test]
    fn never_panics_on_arbitrary_bytes() {
        let mut seed = 0x2545F4914F6CDD1Du64;
        for _ in 0..2000 {
            let mut d = Deframer::new();
            let mut bytes = vec![22, 3, 3];
            for _ in 0..(seed % 64) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                bytes.push(seed as u8);
            }
            let _ = d.push(&bytes);
            while let Ok(Some(_)) = d.next_event() {}
        }
    }
}
