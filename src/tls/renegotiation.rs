//! Step: client-initiated renegotiation (TLS 1.2), asked as `openssl s_client` asks when `R` is
//! typed: a full handshake, then a second ClientHello sent inside the encrypted connection. A
//! server that answers with a ServerHello lets any client make it redo the expensive half of a
//! handshake at will (CVE-2011-1473); one that refuses sends `no_renegotiation` or closes.
//!
//! rustls does not renegotiate, so only the first handshake is rustls's. Its keys come from
//! rustls's secret extraction; the verify_data the second hello must carry (RFC 5746) is read
//! back from the client's Finished, which rustls wrote through a [`Tap`] and which those keys
//! decrypt. The record layer after that is the small AES-GCM one below. Only the ECDHE AES-GCM
//! suites can be handed over this way: a server without one (or TLS 1.3 only) is not asked, and
//! its fact stays absent (not observed).
//!
//! Cost: one connection, and only on endpoints that accept TLS 1.2 with such a suite. A server
//! that ignores the second hello is waited for a few of that connection's round trips (see
//! [`silence`]), not the whole timeout.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_128_GCM, AES_256_GCM};
use rustls::pki_types::ServerName;
use rustls::ConnectionTrafficSecrets;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio_rustls::TlsConnector;

use super::codec::{self, content, handshake, HelloSpec, Reader};
use super::deframer::MAX_RECORD;
use super::handshake::recording_config_with;
use super::transport::{Connector, Stream};
use crate::facts::{
    AlertDescription, ClientRenegotiation, ProtocolVersion, RenegotiationAnswer, VersionSuites,
};

/// TLS 1.2 ECDHE suites with AES-GCM: those whose keys rustls hands over and the record layer
/// below speaks.
const GCM_SUITES: [u16; 4] = [0xc02b, 0xc02f, 0xc02c, 0xc030];
/// Bytes of the client's side kept by the [`Tap`]: its flight up to Finished is far smaller.
const MAX_TAPPED: usize = 16 * 1024;
/// The shortest wait for an answer to the second hello before calling it ignored.
const SILENCE_FLOOR: Duration = Duration::from_millis(300);
/// How many times the first connection's set-up time (TCP and the TLS handshake, three round
/// trips and the server's work) a server gets to answer the second hello, which costs it one
/// round trip and the same work.
const SILENCE_FACTOR: u32 = 4;

/// How long silence after the second hello must last to be called "ignored": a multiple of
/// what this connection's set-up took, at least [`SILENCE_FLOOR`], at most the user's timeout.
/// A server that never answers then costs a few round trips, not the whole timeout.
fn silence(setup: Duration, timeout: Duration) -> Duration {
    (setup * SILENCE_FACTOR).max(SILENCE_FLOOR).min(timeout)
}

/// Records read after the second hello before giving up on an answer.
const MAX_RECORDS: usize = 16;
/// The handshake type of Finished.
const FINISHED: u8 = 20;

/// Whether the endpoint can be asked: it accepts one of [`GCM_SUITES`] under TLS 1.2.
pub(super) fn askable(suites: &[VersionSuites]) -> bool {
    suites
        .iter()
        .filter(|v| v.version == ProtocolVersion::Tls12)
        .flat_map(|v| v.suites.iter())
        .any(|s| GCM_SUITES.contains(&s.id.0))
}

/// Asks for a renegotiation on one TLS 1.2 connection. `secure` is whether the server offered
/// RFC 5746 renegotiation_info: the second hello carries the verify_data only then, as a
/// real client's would. `None` when the question could not be put (the handshake failed, the
/// keys could not be used): not observed, never a pass.
/// `connected` is told once the connection is open (or could not be): a question that must
/// not take a single-connection server's turn first may connect then, and a server takes
/// connections in the order they were opened.
pub(super) async fn client_renegotiation(
    connector: &Connector,
    server_name: ServerName<'static>,
    secure: Option<bool>,
    connected: tokio::sync::oneshot::Sender<()>,
) -> Option<ClientRenegotiation> {
    let deadline = connector.timeout();
    let started = Instant::now();
    let set_up =
        tokio::time::timeout(deadline, established(connector, server_name, connected)).await;
    let (mut stream, mut tx, mut rx, verify_data) = match set_up {
        Ok(Ok(e)) => e,
        Ok(Err(why)) => {
            tracing::debug!(addr = %connector.addr(), %why, "renegotiation not asked");
            return None;
        }
        Err(_) => {
            tracing::debug!(addr = %connector.addr(), "renegotiation: no TLS 1.2 handshake within the timeout");
            return None;
        }
    };
    let ri: &[u8] = if secure == Some(false) {
        &[]
    } else {
        &verify_data
    };
    let sni = stream.sni.clone();
    let spec = HelloSpec {
        renegotiation: Some(ri),
        ..HelloSpec::new(ProtocolVersion::Tls12, &GCM_SUITES, sni.as_deref())
    };
    let hello = codec::client_hello(&spec, rand_bytes());
    // The hello's record header is replaced by the encrypted record's.
    let record = tx.seal(content::HANDSHAKE, hello.get(5..)?)?;
    if stream.write_all(&record).await.is_err() {
        return None;
    }
    Some(answer(&mut stream, &mut rx, silence(started.elapsed(), deadline)).await)
}

type Established = (Tap, RecordKeys, RecordKeys, Vec<u8>);

/// A finished TLS 1.2 handshake over a [`Tap`], with both directions' keys and the client's
/// verify_data.
async fn established(
    connector: &Connector,
    server_name: ServerName<'static>,
    connected: tokio::sync::oneshot::Sender<()>,
) -> Result<Established, String> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    provider
        .cipher_suites
        .retain(|s| GCM_SUITES.contains(&u16::from(s.suite())));
    let (mut config, _) = recording_config_with(provider, &[&rustls::version::TLS12], &[])
        .map_err(|e| format!("rustls configuration: {e}"))?;
    config.enable_secret_extraction = true;
    let sni = match &server_name {
        ServerName::DnsName(d) => Some(d.as_ref().to_string()),
        _ => None,
    };
    let stream = connector.connect().await;
    let _ = connected.send(());
    let stream = stream.map_err(|e| e.message)?;
    let tap = Tap {
        inner: stream,
        written: Vec::new(),
        sni,
    };
    let tls = TlsConnector::from(std::sync::Arc::new(config))
        .connect(server_name, tap)
        .await
        .map_err(|e| format!("TLS 1.2 handshake: {e}"))?;
    let (mut tap, mut conn) = tls.into_inner();
    // A server that closed right after its Finished cannot be asked anything on this connection.
    if matches!(io::Read::read(&mut conn.reader(), &mut [0u8; 1]), Ok(0)) {
        return Err("the server closed the connection right after the handshake".into());
    }
    let secrets = conn
        .dangerous_extract_secrets()
        .map_err(|e| format!("keys: {e}"))?;
    let mut tx = RecordKeys::new(secrets.tx.0, secrets.tx.1).ok_or("unsupported keys")?;
    let rx = RecordKeys::new(secrets.rx.0, secrets.rx.1).ok_or("unsupported keys")?;
    let verify_data = client_verify_data(&tap.written, &mut tx).ok_or("no client Finished")?;
    tap.written = Vec::new();
    Ok((tap, tx, rx, verify_data))
}

/// The verify_data of the client's Finished: the first handshake record after its
/// ChangeCipherSpec, sealed under the client's keys with sequence number 0.
fn client_verify_data(written: &[u8], tx: &mut RecordKeys) -> Option<Vec<u8>> {
    let mut r = Reader::new(written);
    let mut after_ccs = false;
    while !r.is_empty() {
        let typ = r.u8()?;
        let _version = r.u16()?;
        let payload = r.nested(2)?.rest();
        match typ {
            content::CHANGE_CIPHER_SPEC => after_ccs = true,
            content::HANDSHAKE if after_ccs => {
                let plain = tx.open(0, typ, payload)?;
                let mut m = Reader::new(&plain);
                if m.u8()? != FINISHED {
                    return None;
                }
                return Some(m.nested(3)?.rest().to_vec());
            }
            _ => {}
        }
    }
    None
}

/// What the server did with the second hello, from the records it sent next.
async fn answer(stream: &mut Tap, rx: &mut RecordKeys, deadline: Duration) -> ClientRenegotiation {
    let verdict = |answer, alert, detail: String| ClientRenegotiation {
        answer,
        alert,
        detail,
    };
    let read = async {
        for _ in 0..MAX_RECORDS {
            let (typ, payload) = match read_record(stream).await {
                Ok(r) => r,
                Err(e) => {
                    return verdict(
                        RenegotiationAnswer::Refused,
                        None,
                        format!("the server closed the connection on the second ClientHello ({e})"),
                    )
                }
            };
            let seq = rx.seq;
            rx.seq += 1;
            let Some(plain) = rx.open(seq, typ, &payload) else {
                return verdict(
                    RenegotiationAnswer::Refused,
                    None,
                    format!("the server answered the second ClientHello with a record that does not decrypt (type {typ})"),
                );
            };
            match (typ, plain.as_slice()) {
                (content::ALERT, [level, description, ..]) => {
                    let alert = AlertDescription(*description);
                    let kind = if *level == 1 { "warning" } else { "fatal" };
                    return verdict(
                        RenegotiationAnswer::Refused,
                        Some(alert),
                        format!("the server answered the second ClientHello with a {kind} {alert} alert"),
                    );
                }
                (content::HANDSHAKE, [handshake::SERVER_HELLO, ..]) => {
                    return verdict(
                        RenegotiationAnswer::Accepted,
                        None,
                        "the server answered a second ClientHello on an established TLS 1.2 connection with a ServerHello: a client can make it renegotiate".into(),
                    )
                }
                _ => {} // application data, a HelloRequest: keep reading
            }
        }
        verdict(
            RenegotiationAnswer::Ignored,
            None,
            format!("the server sent {MAX_RECORDS} records after the second ClientHello without answering it"),
        )
    };
    match tokio::time::timeout(deadline, read).await {
        Ok(v) => v,
        Err(_) => verdict(
            RenegotiationAnswer::Ignored,
            None,
            format!("the server did not answer the second ClientHello within {} ms ({SILENCE_FACTOR}× this connection's set-up time; a verdict resting on a timeout, not a message)", deadline.as_millis()),
        ),
    }
}

/// One record, its payload bounded by the protocol's maximum.
async fn read_record(stream: &mut Tap) -> io::Result<(u8, Vec<u8>)> {
    let mut header = [0u8; 5];
    stream.inner.read_exact(&mut header).await?;
    let len = u16::from_be_bytes([header[3], header[4]]) as usize;
    if len > MAX_RECORD {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("a record of {len} bytes"),
        ));
    }
    let mut payload = vec![0u8; len];
    stream.inner.read_exact(&mut payload).await?;
    Ok((header[0], payload))
}

fn rand_bytes() -> [u8; 32] {
    let mut r = [0u8; 32];
    let _ = aws_lc_rs::rand::fill(&mut r);
    r
}

/// One direction's AES-GCM record keys (TLS 1.2: a 4-byte salt and an 8-byte explicit nonce
/// sent in each record), with its next sequence number.
struct RecordKeys {
    key: LessSafeKey,
    iv: [u8; 12],
    seq: u64,
}

impl RecordKeys {
    fn new(seq: u64, secrets: ConnectionTrafficSecrets) -> Option<Self> {
        let (alg, key, iv) = match secrets {
            ConnectionTrafficSecrets::Aes128Gcm { key, iv } => (&AES_128_GCM, key, iv),
            ConnectionTrafficSecrets::Aes256Gcm { key, iv } => (&AES_256_GCM, key, iv),
            _ => return None,
        };
        Some(RecordKeys {
            key: LessSafeKey::new(UnboundKey::new(alg, key.as_ref()).ok()?),
            iv: iv.as_ref().try_into().ok()?,
            seq,
        })
    }

    fn aad(seq: u64, typ: u8, len: usize) -> Aad<[u8; 13]> {
        let mut aad = [0u8; 13];
        aad[..8].copy_from_slice(&seq.to_be_bytes());
        aad[8] = typ;
        aad[9..11].copy_from_slice(&ProtocolVersion::Tls12.wire().to_be_bytes());
        aad[11..].copy_from_slice(&(len as u16).to_be_bytes());
        Aad::from(aad)
    }

    /// One record of `typ` carrying `plain`, under the next sequence number.
    fn seal(&mut self, typ: u8, plain: &[u8]) -> Option<Vec<u8>> {
        let mut nonce = self.iv;
        for (n, s) in nonce[4..].iter_mut().zip(self.seq.to_be_bytes()) {
            *n ^= s;
        }
        let mut body = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Self::aad(self.seq, typ, plain.len()),
                &mut body,
            )
            .ok()?;
        self.seq += 1;
        let len = u16::try_from(8 + body.len()).ok()?;
        let mut record = vec![typ];
        record.extend_from_slice(&ProtocolVersion::Tls12.wire().to_be_bytes());
        record.extend_from_slice(&len.to_be_bytes());
        record.extend_from_slice(&nonce[4..]);
        record.extend_from_slice(&body);
        Some(record)
    }

    /// The plaintext of a record's payload (explicit nonce, ciphertext, tag) sealed under `seq`.
    fn open(&self, seq: u64, typ: u8, payload: &[u8]) -> Option<Vec<u8>> {
        let explicit = payload.get(..8)?;
        let mut body = payload.get(8..)?.to_vec();
        let plain_len = body.len().checked_sub(16)?;
        let mut nonce = [0u8; 12];
        nonce[..4].copy_from_slice(&self.iv[..4]);
        nonce[4..].copy_from_slice(explicit);
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Self::aad(seq, typ, plain_len),
                &mut body,
            )
            .ok()?;
        Some(plain.to_vec())
    }
}

/// The endpoint's stream, keeping the first bytes the client writes (its handshake flight).
struct Tap {
    inner: Stream,
    written: Vec<u8>,
    /// The server name of the first hello, which the second one carries too.
    sni: Option<String>,
}

impl AsyncRead for Tap {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Tap {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let poll = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = poll {
            let room = MAX_TAPPED.saturating_sub(this.written.len());
            this.written.extend_from_slice(&buf[..n.min(room)]);
        }
        poll
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
