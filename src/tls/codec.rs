//! Wire encoding of the one message rustls will not send for us: a ClientHello offering
//! legacy versions and suites. Only what the probes need; decoding is in `deframer.rs`.

use crate::facts::ProtocolVersion;

pub mod content {
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    pub const ALERT: u8 = 21;
    pub const HANDSHAKE: u8 = 22;
    pub const APPLICATION_DATA: u8 = 23;
    pub const HEARTBEAT: u8 = 24;
}

pub mod handshake {
    pub const CLIENT_HELLO: u8 = 1;
    pub const SERVER_HELLO: u8 = 2;
}

const EMPTY_RENEGOTIATION_INFO_SCSV: u16 = 0x00ff;

/// Named groups offered in legacy hellos: every curve a legacy server might insist on, then
/// the finite-field groups.
const GROUPS: &[u16] = &[
    29, 23, 24, 25, 30, // x25519, secp256r1, secp384r1, secp521r1, x448
    26, 27, 28, // brainpool
    22, 21, 20, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2,
    1, // older curves
    256, 257, 258, 259, 260, // ffdhe
];

/// Signature algorithms offered in TLS 1.2 hellos, SHA-1 and DSA included: a probe must not be
/// refused for lack of an algorithm a legacy server needs.
const SIGNATURE_ALGORITHMS: &[u16] = &[
    0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0807, 0x0808, 0x0809, 0x080a, 0x080b, 0x0401,
    0x0501, 0x0601, 0x0303, 0x0301, 0x0302, 0x0402, 0x0502, 0x0602, 0x0203, 0x0201, 0x0202,
];

/// What one raw ClientHello offers.
#[derive(Debug, Clone)]
pub struct HelloSpec<'a> {
    pub version: ProtocolVersion,
    pub suites: &'a [u16],
    /// Host name for the server_name extension; `None` for IP targets.
    pub sni: Option<&'a str>,
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.0.extend_from_slice(b);
    }
    /// Writes `f`'s output behind a big-endian length of `width` bytes (1, 2 or 3).
    fn nested(&mut self, width: usize, f: impl FnOnce(&mut Writer)) {
        let at = self.0.len();
        self.0.extend(std::iter::repeat_n(0, width));
        f(self);
        let len = (self.0.len() - at - width) as u32;
        let be = len.to_be_bytes();
        self.0[at..at + width].copy_from_slice(&be[4 - width..]);
    }
    fn extension(&mut self, kind: u16, f: impl FnOnce(&mut Writer)) {
        self.u16(kind);
        self.nested(2, f);
    }
}

/// Encodes one ClientHello in a single handshake record.
pub fn client_hello(spec: &HelloSpec<'_>, random: [u8; 32]) -> Vec<u8> {
    let v = spec.version;
    let mut w = Writer(Vec::with_capacity(96 + spec.suites.len() * 2));
    w.u8(content::HANDSHAKE);
    // Record-layer version: SSLv3 for an SSLv3 hello, TLS 1.0 otherwise (what real clients send).
    w.u16(v.wire().min(ProtocolVersion::Tls10.wire()));
    w.nested(2, |w| {
        w.u8(handshake::CLIENT_HELLO);
        w.nested(3, |w| {
            w.u16(v.wire().min(ProtocolVersion::Tls12.wire()));
            w.bytes(&random);
            w.u8(0); // empty session id
            w.nested(2, |w| {
                for s in spec.suites {
                    w.u16(*s);
                }
                w.u16(EMPTY_RENEGOTIATION_INFO_SCSV);
            });
            w.nested(1, |w| w.u8(0)); // null compression only
            if v == ProtocolVersion::Ssl3 {
                return; // SSLv3 servers may choke on extensions
            }
            w.nested(2, |w| {
                if let Some(name) = spec.sni {
                    w.extension(0x0000, |w| {
                        w.nested(2, |w| {
                            w.u8(0); // host_name
                            w.nested(2, |w| w.bytes(name.as_bytes()));
                        })
                    });
                }
                w.extension(0x000a, |w| {
                    w.nested(2, |w| GROUPS.iter().for_each(|g| w.u16(*g)))
                });
                w.extension(0x000b, |w| w.nested(1, |w| w.u8(0))); // uncompressed points
                if v >= ProtocolVersion::Tls12 {
                    w.extension(0x000d, |w| {
                        w.nested(2, |w| SIGNATURE_ALGORITHMS.iter().for_each(|a| w.u16(*a)))
                    });
                }
            });
        });
    });
    w.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_parses_back_with_tls_parser() {
        let suites = [0xc02f, 0x009c];
        let spec = HelloSpec {
            version: ProtocolVersion::Tls12,
            suites: &suites,
            sni: Some("a.example"),
        };
        let bytes = client_hello(&spec, [7; 32]);
        let (rest, rec) = tls_parser::parse_tls_plaintext(&bytes).expect("parses");
        assert!(rest.is_empty());
        let tls_parser::TlsMessage::Handshake(tls_parser::TlsMessageHandshake::ClientHello(ch)) =
            &rec.msg[0]
        else {
            panic!("not a ClientHello: {:?}", rec.msg)
        };
        assert_eq!(ch.version, tls_parser::TlsVersion::Tls12);
        let ids: Vec<u16> = ch.ciphers.iter().map(|c| c.0).collect();
        assert_eq!(ids, vec![0xc02f, 0x009c, 0x00ff]);
        let (_, exts) = tls_parser::parse_tls_client_hello_extensions(ch.ext.unwrap()).unwrap();
        assert!(exts
            .iter()
            .any(|e| matches!(e, tls_parser::TlsExtension::SNI(v) if v[0].1 == b"a.example")));
        assert!(exts
            .iter()
            .any(|e| matches!(e, tls_parser::TlsExtension::SignatureAlgorithms(_))));
    }

    #[test]
    fn sslv3_hello_has_no_extensions() {
        let bytes = client_hello(
            &HelloSpec {
                version: ProtocolVersion::Ssl3,
                suites: &[0x000a],
                sni: Some("a.example"),
            },
            [0; 32],
        );
        assert_eq!(&bytes[1..3], &[3, 0]);
        let (_, rec) = tls_parser::parse_tls_plaintext(&bytes).expect("parses");
        let tls_parser::TlsMessage::Handshake(tls_parser::TlsMessageHandshake::ClientHello(ch)) =
            &rec.msg[0]
        else {
            panic!()
        };
        assert!(ch.ext.is_none());
    }
}
