//! SSLv2, reported apart from the TLS versions: its hello has its own record format (a 2-byte
//! header with the top bit set) and 3-byte cipher kinds. A server that still answers with an
//! SSLv2 SERVER-HELLO accepts a protocol broken since 1996 (and DROWN, CVE-2016-0800).

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::codec::Reader;
use super::transport::Connector;

/// The seven SSLv2 cipher kinds.
pub const CIPHER_KINDS: [(u32, &str); 7] = [
    (0x010080, "SSL_CK_RC4_128_WITH_MD5"),
    (0x020080, "SSL_CK_RC4_128_EXPORT40_WITH_MD5"),
    (0x030080, "SSL_CK_RC2_128_CBC_WITH_MD5"),
    (0x040080, "SSL_CK_RC2_128_CBC_EXPORT40_WITH_MD5"),
    (0x050080, "SSL_CK_IDEA_128_CBC_WITH_MD5"),
    (0x060040, "SSL_CK_DES_64_CBC_WITH_MD5"),
    (0x0700c0, "SSL_CK_DES_192_EDE3_CBC_WITH_MD5"),
];

const MSG_CLIENT_HELLO: u8 = 1;
const MSG_SERVER_HELLO: u8 = 4;

pub fn cipher_name(kind: u32) -> String {
    CIPHER_KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or_else(|| format!("SSL_CK_0x{kind:06x}"), |(_, n)| n.to_string())
}

/// An SSLv2 CLIENT-HELLO offering every cipher kind.
pub fn client_hello(challenge: [u8; 16]) -> Vec<u8> {
    let mut body = vec![MSG_CLIENT_HELLO, 0x00, 0x02];
    body.extend_from_slice(&((CIPHER_KINDS.len() * 3) as u16).to_be_bytes());
    body.extend_from_slice(&0u16.to_be_bytes()); // no session id
    body.extend_from_slice(&16u16.to_be_bytes());
    for (kind, _) in CIPHER_KINDS {
        body.extend_from_slice(&kind.to_be_bytes()[1..]);
    }
    body.extend_from_slice(&challenge);
    let mut record = vec![0x80 | (body.len() >> 8) as u8, body.len() as u8];
    record.extend_from_slice(&body);
    record
}

/// The cipher kinds of an SSLv2 SERVER-HELLO record, header included.
pub fn decode_server_hello(record: &[u8]) -> Option<Vec<u32>> {
    let mut r = Reader::new(record);
    let h = r.u8()?;
    if h & 0x80 == 0 {
        return None;
    }
    let len = (usize::from(h & 0x7f) << 8) | usize::from(r.u8()?);
    let mut body = Reader::new(r.take(len)?);
    if body.u8()? != MSG_SERVER_HELLO {
        return None;
    }
    body.u8()?; // session id hit
    body.u8()?; // certificate type
    body.u16()?; // version
    let cert_len = usize::from(body.u16()?);
    let specs_len = usize::from(body.u16()?);
    body.u16()?; // connection id length
    body.take(cert_len)?;
    let specs = body.take(specs_len)?;
    Some(
        specs
            .chunks_exact(3)
            .map(|c| u32::from_be_bytes([0, c[0], c[1], c[2]]))
            .collect(),
    )
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum V2Outcome {
    Accepted(Vec<u32>),
    Rejected(String),
    Unknown(String),
}

/// Sends the SSLv2 hello and reads the first answer (at most 32 KiB).
pub async fn probe(connector: &Connector) -> V2Outcome {
    let mut s = match connector.connect().await {
        Ok(s) => s,
        Err(e) if e.kind == std::io::ErrorKind::TimedOut => {
            return V2Outcome::Unknown("no answer within the timeout".into())
        }
        Err(e) => return V2Outcome::Unknown(format!("connection failed: {e}")),
    };
    let exchange = async {
        let mut challenge = [0u8; 16];
        let _ = aws_lc_rs::rand::fill(&mut challenge);
        if let Err(e) = s.write_all(&client_hello(challenge)).await {
            return V2Outcome::Unknown(format!("sending the hello failed: {e}"));
        }
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            if buf.len() >= 2 {
                if buf[0] & 0x80 == 0 {
                    let what = if buf[0] == 21 {
                        "a TLS alert"
                    } else {
                        "a non-SSLv2 answer"
                    };
                    return V2Outcome::Rejected(format!("the server answered with {what}"));
                }
                let need = 2 + ((usize::from(buf[0] & 0x7f) << 8) | usize::from(buf[1]));
                if buf.len() >= need {
                    return match decode_server_hello(&buf[..need]) {
                        Some(kinds) => V2Outcome::Accepted(kinds),
                        None => {
                            V2Outcome::Rejected("the SSLv2 answer is not a SERVER-HELLO".into())
                        }
                    };
                }
            }
            match s.read(&mut chunk).await {
                Ok(0) => return V2Outcome::Rejected("connection closed without an answer".into()),
                Err(e) => return V2Outcome::Rejected(format!("connection ended: {e}")),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            if buf.len() > 32 * 1024 {
                return V2Outcome::Unknown("oversized SSLv2 answer".into());
            }
        }
    };
    // Like any hello's answer: a few measured round trips, not the whole timeout.
    let wait = connector.answer_timeout();
    tokio::time::timeout(wait, exchange)
        .await
        .unwrap_or_else(|_| V2Outcome::Unknown(format!("no answer within {} ms", wait.as_millis())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_and_server_hello_round_trip() {
        let hello = client_hello([9; 16]);
        assert_eq!(hello[0] & 0x80, 0x80);
        assert_eq!(usize::from(hello[1]) + 2, hello.len());
        assert_eq!(&hello[2..5], &[1, 0, 2]);
        let mut body = vec![MSG_SERVER_HELLO, 0, 1, 0, 2, 0, 3, 0, 6, 0, 16];
        body.extend_from_slice(&[0xaa; 3]);
        body.extend_from_slice(&[0x01, 0x00, 0x80, 0x07, 0x00, 0xc0]);
        body.extend_from_slice(&[0; 16]);
        let mut rec = vec![0x80, body.len() as u8];
        rec.extend_from_slice(&body);
        assert_eq!(decode_server_hello(&rec), Some(vec![0x010080, 0x0700c0]));
        assert_eq!(decode_server_hello(&rec[..10]), None);
        assert_eq!(cipher_name(0x0700c0), "SSL_CK_DES_192_EDE3_CBC_WITH_MD5");
    }
}
