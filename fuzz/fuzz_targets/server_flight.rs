//! Whatever a hostile server sends after a ClientHello: records into the deframer, whole
//! handshake messages into the ServerHello, Certificate and ServerKeyExchange decoders, and
//! certificates into the x509 reader. None of it may panic or grow without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vetcrypt::tls::codec::{decode_certificates, decode_server_key_exchange, ServerHello};
use vetcrypt::tls::deframer::{Deframer, Event};

fuzz_target!(|data: &[u8]| {
    // The first byte chooses how the stream is cut into reads, as a network would.
    let (cut, stream) = match data.split_first() {
        Some((c, rest)) => (usize::from(*c).max(1), rest),
        None => return,
    };
    let mut d = Deframer::new();
    for chunk in stream.chunks(cut) {
        if d.push(chunk).is_err() {
            return;
        }
        loop {
            match d.next_event() {
                Ok(Some(Event::Handshake { message, .. })) => {
                    if let Some(sh) = ServerHello::decode(&message) {
                        let _ = (sh.key_share_group(), sh.alpn());
                    }
                    if let Some(certs) = decode_certificates(&message) {
                        for (i, c) in certs.iter().enumerate() {
                            let _ =
                                vetcrypt::cert::x509::parse(i, c, time::OffsetDateTime::UNIX_EPOCH);
                        }
                    }
                    let _ = decode_server_key_exchange(&message, true);
                    let _ = decode_server_key_exchange(&message, false);
                }
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => break,
            }
        }
    }
});
