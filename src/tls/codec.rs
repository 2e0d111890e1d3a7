//! The wire messages of raw probing: the ClientHello rustls will not send for us (legacy
//! versions and suites, TLS 1.3 with an empty key_share), and decoders for what comes back
//! (ServerHello, Certificate, ServerKeyExchange, CertificateRequest) over a bounds-checked `Reader` that never
//! panics. Records and message boundaries are `deframer.rs`'s job.

use crate::facts::ProtocolVersion;

pub mod content {
    pub const CHANGE_CIPHER_SPEC: u8 = 20;
    pub const ALERT: u8 = 21;
    pub const HANDSHAKE: u8 = 22;
    pub const APPLICATION_DATA: u8 = 23;
    pub const HEARTBEAT: u8 = 24;
}

pub mod handshake {
    pub const HELLO_REQUEST: u8 = 0;
    pub const CLIENT_HELLO: u8 = 1;
    pub const SERVER_HELLO: u8 = 2;
    pub const CERTIFICATE: u8 = 11;
    pub const SERVER_KEY_EXCHANGE: u8 = 12;
    pub const CERTIFICATE_REQUEST: u8 = 13;
    pub const SERVER_HELLO_DONE: u8 = 14;
    pub const CERTIFICATE_STATUS: u8 = 22;
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

/// Extension code points used by the probes.
pub mod ext {
    pub const SERVER_NAME: u16 = 0x0000;
    pub const STATUS_REQUEST: u16 = 0x0005;
    pub const SUPPORTED_GROUPS: u16 = 0x000a;
    pub const EC_POINT_FORMATS: u16 = 0x000b;
    pub const SIGNATURE_ALGORITHMS: u16 = 0x000d;
    pub const ALPN: u16 = 0x0010;
    pub const SCT: u16 = 0x0012;
    pub const EXTENDED_MASTER_SECRET: u16 = 0x0017;
    pub const SESSION_TICKET: u16 = 0x0023;
    pub const SUPPORTED_VERSIONS: u16 = 0x002b;
    pub const PSK_KEY_EXCHANGE_MODES: u16 = 0x002d;
    pub const KEY_SHARE: u16 = 0x0033;
    pub const RENEGOTIATION_INFO: u16 = 0xff01;
}

pub const TLS_FALLBACK_SCSV: u16 = 0x5600;

/// What one raw ClientHello offers.
#[derive(Debug, Clone)]
pub struct HelloSpec<'a> {
    /// The version offered. TLS 1.3 is offered alone, through supported_versions, with an
    /// empty key_share: the server answers with a HelloRetryRequest naming its group and suite,
    /// and no key material is needed.
    pub version: ProtocolVersion,
    pub suites: &'a [u16],
    /// Host name for the server_name extension; `None` for IP targets.
    pub sni: Option<&'a str>,
    /// Named groups offered; `None` for the broad default list.
    pub groups: Option<&'a [u16]>,
    /// Adds TLS_FALLBACK_SCSV (RFC 7507).
    pub fallback_scsv: bool,
    /// Offers DEFLATE compression as well as none.
    pub compression: bool,
    /// ALPN protocols offered (none: no extension).
    pub alpn: &'a [&'a str],
    /// A renegotiating hello (RFC 5746): the renegotiation_info extension carrying the
    /// client's verify_data from the connection's Finished (empty when the server did not
    /// offer secure renegotiation), and no SCSV.
    pub renegotiation: Option<&'a [u8]>,
    /// Ask for Signed Certificate Timestamps (RFC 6962 §3.3.1).
    pub sct: bool,
}

impl<'a> HelloSpec<'a> {
    pub fn new(version: ProtocolVersion, suites: &'a [u16], sni: Option<&'a str>) -> Self {
        HelloSpec {
            version,
            suites,
            sni,
            groups: None,
            fallback_scsv: false,
            compression: false,
            alpn: &[],
            renegotiation: None,
            sct: false,
        }
    }
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
    fn u16_list(&mut self, width: usize, items: &[u16]) {
        self.nested(width, |w| items.iter().for_each(|i| w.u16(*i)));
    }
}

/// Encodes one ClientHello in a single handshake record.
pub fn client_hello(spec: &HelloSpec<'_>, random: [u8; 32]) -> Vec<u8> {
    let v = spec.version;
    let tls13 = v == ProtocolVersion::Tls13;
    let mut w = Writer(Vec::with_capacity(160 + spec.suites.len() * 2));
    w.u8(content::HANDSHAKE);
    // Record-layer version: SSLv3 for an SSLv3 hello, TLS 1.0 otherwise (what real clients send).
    w.u16(v.wire().min(ProtocolVersion::Tls10.wire()));
    w.nested(2, |w| {
        w.u8(handshake::CLIENT_HELLO);
        w.nested(3, |w| {
            w.u16(v.wire().min(ProtocolVersion::Tls12.wire()));
            w.bytes(&random);
            if tls13 {
                // A legacy session id, as middlebox-compatible clients send.
                w.nested(1, |w| w.bytes(&random));
            } else {
                w.u8(0);
            }
            w.nested(2, |w| {
                spec.suites.iter().for_each(|s| w.u16(*s));
                if !tls13 && spec.renegotiation.is_none() {
                    w.u16(EMPTY_RENEGOTIATION_INFO_SCSV);
                }
                if spec.fallback_scsv {
                    w.u16(TLS_FALLBACK_SCSV);
                }
            });
            w.nested(1, |w| {
                if spec.compression {
                    w.u8(1);
                }
                w.u8(0);
            });
            if v == ProtocolVersion::Ssl3 {
                return; // SSLv3 servers may choke on extensions
            }
            w.nested(2, |w| {
                if let Some(name) = spec.sni {
                    w.extension(ext::SERVER_NAME, |w| {
                        w.nested(2, |w| {
                            w.u8(0); // host_name
                            w.nested(2, |w| w.bytes(name.as_bytes()));
                        })
                    });
                }
                w.extension(ext::SUPPORTED_GROUPS, |w| {
                    w.u16_list(2, spec.groups.unwrap_or(GROUPS))
                });
                w.extension(ext::EC_POINT_FORMATS, |w| w.nested(1, |w| w.u8(0)));
                if v >= ProtocolVersion::Tls12 {
                    w.extension(ext::SIGNATURE_ALGORITHMS, |w| {
                        w.u16_list(2, SIGNATURE_ALGORITHMS)
                    });
                }
                w.extension(ext::STATUS_REQUEST, |w| w.bytes(&[1, 0, 0, 0, 0]));
                if spec.sct {
                    w.extension(ext::SCT, |_| {});
                }
                if let Some(verify_data) = spec.renegotiation {
                    w.extension(ext::RENEGOTIATION_INFO, |w| {
                        w.nested(1, |w| w.bytes(verify_data))
                    });
                }
                w.extension(ext::EXTENDED_MASTER_SECRET, |_| {});
                w.extension(ext::SESSION_TICKET, |_| {});
                if !spec.alpn.is_empty() {
                    w.extension(ext::ALPN, |w| {
                        w.nested(2, |w| {
                            for p in spec.alpn {
                                w.nested(1, |w| w.bytes(p.as_bytes()));
                            }
                        })
                    });
                }
                if tls13 {
                    w.extension(ext::SUPPORTED_VERSIONS, |w| {
                        w.nested(1, |w| w.u16(ProtocolVersion::Tls13.wire()))
                    });
                    w.extension(ext::PSK_KEY_EXCHANGE_MODES, |w| w.nested(1, |w| w.u8(1)));
                    w.extension(ext::KEY_SHARE, |w| w.nested(2, |_| {})); // no share: ask for a retry
                }
            });
        });
    });
    w.0
}

/// A reader over untrusted bytes: every read is bounds-checked and returns `None` past the end.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }
    pub fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.pos.checked_add(n)?;
        let out = self.buf.get(self.pos..end)?;
        self.pos = end;
        Some(out)
    }
    pub fn u8(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }
    pub fn u16(&mut self) -> Option<u16> {
        self.take(2).map(|b| u16::from_be_bytes([b[0], b[1]]))
    }
    pub fn u24(&mut self) -> Option<usize> {
        self.take(3)
            .map(|b| u32::from_be_bytes([0, b[0], b[1], b[2]]) as usize)
    }
    /// A sub-reader over a field with a length prefix of `width` bytes.
    pub fn nested(&mut self, width: usize) -> Option<Reader<'a>> {
        let len = match width {
            1 => self.u8()? as usize,
            2 => self.u16()? as usize,
            _ => self.u24()?,
        };
        self.take(len).map(Reader::new)
    }
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.buf[self.pos.min(self.buf.len())..];
        self.pos = self.buf.len();
        out
    }
    pub fn is_empty(&self) -> bool {
        self.pos >= self.buf.len()
    }
}

/// RFC 8446 §4.1.3: the ServerHello.random of a HelloRetryRequest.
const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
    0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// A decoded ServerHello (or HelloRetryRequest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// The version chosen: supported_versions when present, else legacy_version.
    pub version: u16,
    pub suite: u16,
    pub compression: u8,
    pub retry_request: bool,
    /// RFC 8446 §4.1.3: a TLS 1.3 server answering a TLS 1.2 hello ends its random with
    /// `DOWNGRD\x01` (or `\x00` below 1.2), which TLS 1.3 clients check.
    pub downgrade_sentinel: bool,
    pub extensions: Vec<(u16, Vec<u8>)>,
}

impl ServerHello {
    /// Decodes a whole ServerHello handshake message (header included).
    pub fn decode(message: &[u8]) -> Option<ServerHello> {
        let mut r = Reader::new(message);
        if r.u8()? != handshake::SERVER_HELLO {
            return None;
        }
        let mut body = r.nested(3)?;
        let legacy_version = body.u16()?;
        let random = body.take(32)?;
        body.nested(1)?; // session id
        let suite = body.u16()?;
        let compression = body.u8()?;
        let mut extensions = Vec::new();
        if !body.is_empty() {
            let mut exts = body.nested(2)?;
            while !exts.is_empty() {
                let typ = exts.u16()?;
                let data = exts.nested(2)?.rest();
                extensions.push((typ, data.to_vec()));
            }
        }
        let downgrade_sentinel = random[24..31] == *b"DOWNGRD" && random[31] <= 1;
        let mut sh = ServerHello {
            version: legacy_version,
            suite,
            compression,
            retry_request: random == HRR_RANDOM,
            downgrade_sentinel,
            extensions,
        };
        if let Some(v) = sh
            .extension(ext::SUPPORTED_VERSIONS)
            .and_then(|d| Reader::new(d).u16())
        {
            sh.version = v;
        }
        Some(sh)
    }

    pub fn extension(&self, typ: u16) -> Option<&[u8]> {
        self.extensions
            .iter()
            .find(|(t, _)| *t == typ)
            .map(|(_, d)| d.as_slice())
    }

    /// The group a TLS 1.3 ServerHello or HelloRetryRequest selects.
    pub fn key_share_group(&self) -> Option<u16> {
        Reader::new(self.extension(ext::KEY_SHARE)?).u16()
    }

    /// The protocol ALPN selected.
    pub fn alpn(&self) -> Option<String> {
        let mut r = Reader::new(self.extension(ext::ALPN)?);
        let mut list = r.nested(2)?;
        let p = list.nested(1)?.rest();
        Some(String::from_utf8_lossy(p).into_owned())
    }
}

/// The certificates of a Certificate message (TLS 1.2 and below).
pub fn decode_certificates(message: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut r = Reader::new(message);
    r.u8()?;
    let mut body = r.nested(3)?;
    let mut list = body.nested(3)?;
    let mut certs = Vec::new();
    while !list.is_empty() {
        certs.push(list.nested(3)?.rest().to_vec());
    }
    Some(certs)
}

/// Key-exchange parameters from a ServerKeyExchange (TLS 1.2 and below).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KxParams {
    /// ECDHE on a named curve.
    NamedGroup(u16),
    /// Finite-field DHE with a prime of this many bits.
    DhPrime(u32),
}

/// Reads the key-exchange parameters, given whether the suite is ECDHE or DHE.
pub fn decode_server_key_exchange(message: &[u8], ecdhe: bool) -> Option<KxParams> {
    let mut r = Reader::new(message);
    r.u8()?;
    let mut body = r.nested(3)?;
    if ecdhe {
        (body.u8()? == 3).then_some(())?; // named_curve
        return Some(KxParams::NamedGroup(body.u16()?));
    }
    let p = body.nested(2)?.rest();
    let p = &p[p.iter().take_while(|b| **b == 0).count()..];
    let bits = p.first().map_or(0, |top| {
        (p.len() as u32 - 1) * 8 + (8 - top.leading_zeros())
    });
    Some(KxParams::DhPrime(bits))
}

/// Most certificate authorities kept from one CertificateRequest: servers that name their
/// whole trust store send a few hundred; the rest are counted, not kept.
pub const MAX_AUTHORITIES: usize = 256;
/// Most signature schemes accepted in one CertificateRequest (about 30 exist): a longer list is
/// malformed.
pub const MAX_SIGNATURE_SCHEMES: usize = 512;

/// A TLS 1.2-and-earlier CertificateRequest (RFC 5246 §7.4.4, RFC 4346 §7.4.4): the server
/// asks the client for a certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CertificateRequest {
    /// ClientCertificateType values (1 rsa_sign, 2 dss_sign, 64 ecdsa_sign...). Always present
    /// in TLS 1.2 and below; empty for TLS 1.3, which has none.
    pub certificate_types: Vec<u8>,
    /// supported_signature_algorithms (TLS 1.2 only; empty below, where the field does not
    /// exist).
    pub signature_schemes: Vec<u16>,
    /// certificate_authorities: DER DistinguishedNames, at most [`MAX_AUTHORITIES`] of them,
    /// in the server's order. Empty: the server takes a certificate from any issuer.
    pub authorities: Vec<Vec<u8>>,
    /// Authorities the server named beyond [`MAX_AUTHORITIES`] (counted, not kept).
    pub authorities_left_out: usize,
}

/// Decodes a CertificateRequest handshake message (header included) sent at wire version
/// `version` (0x0303 for TLS 1.2: the signature algorithms are there only from TLS 1.2 on).
/// `None` for a malformed message: truncated, an odd-length or over-long scheme list, a
/// DistinguishedName overrunning its list.
pub fn decode_certificate_request(message: &[u8], version: u16) -> Option<CertificateRequest> {
    let mut r = Reader::new(message);
    if r.u8()? != handshake::CERTIFICATE_REQUEST {
        return None;
    }
    let mut body = r.nested(3)?;
    let certificate_types = body.nested(1)?.rest().to_vec();
    let mut signature_schemes = Vec::new();
    if version >= 0x0303 {
        let mut list = body.nested(2)?;
        let raw = list.rest();
        if raw.len() % 2 != 0 || raw.len() / 2 > MAX_SIGNATURE_SCHEMES {
            return None;
        }
        signature_schemes = raw
            .chunks_exact(2)
            .map(|p| u16::from_be_bytes([p[0], p[1]]))
            .collect();
    }
    let mut list = body.nested(2)?;
    let mut authorities = Vec::new();
    let mut authorities_left_out = 0;
    while !list.is_empty() {
        let dn = list.nested(2)?.rest();
        if authorities.len() < MAX_AUTHORITIES {
            authorities.push(dn.to_vec());
        } else {
            authorities_left_out += 1;
        }
    }
    Some(CertificateRequest {
        certificate_types,
        signature_schemes,
        authorities,
        authorities_left_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_parses_back_with_tls_parser() {
        let suites = [0xc02f, 0x009c];
        let spec = HelloSpec::new(ProtocolVersion::Tls12, &suites, Some("a.example"));
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
            &HelloSpec::new(ProtocolVersion::Ssl3, &[0x000a], Some("a.example")),
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

    /// Hex of a handshake message as `openssl s_client -msg` prints it.
    fn hex(s: &str) -> Vec<u8> {
        s.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect()
    }

    /// The subject DER of the CA both captures name: CN=vetcrypt test CA, O=vetcrypt.
    const CA_SUBJECT: &str = "30 2e 31 19 30 17 06 03 55 04 03 0c 10 76 65 74 63 72 79 70 74 20 \
        74 65 73 74 20 43 41 31 11 30 0f 06 03 55 04 0a 0c 08 76 65 74 63 72 79 70 74";

    /// Captured from `openssl s_server -Verify 1 -CAfile ca.pem` (OpenSSL 3.0) answering
    /// `openssl s_client -tls1_2 -msg`.
    fn openssl_tls12() -> Vec<u8> {
        hex(&format!(
            "0d 00 00 68 03 01 02 40 00 2e 04 03 05 03 06 03 08 07 08 08 08 09 08 0a 08 0b 08 04 \
             08 05 08 06 04 01 05 01 06 01 03 03 02 03 03 01 02 01 03 02 02 02 04 02 05 02 06 02 \
             00 32 00 30 {CA_SUBJECT}"
        ))
    }

    #[test]
    fn certificate_request_from_openssl_tls12() {
        let cr = decode_certificate_request(&openssl_tls12(), 0x0303).expect("decodes");
        assert_eq!(cr.certificate_types, vec![1, 2, 64]); // rsa_sign, dss_sign, ecdsa_sign
        assert_eq!(cr.signature_schemes.len(), 23);
        assert_eq!(cr.signature_schemes[..3], [0x0403, 0x0503, 0x0603]);
        assert!(cr.signature_schemes.contains(&0x0804)); // rsa_pss_rsae_sha256
        assert_eq!(cr.authorities, vec![hex(CA_SUBJECT)]);
        assert_eq!(cr.authorities_left_out, 0);
        // What x509-parser makes of the name: the CA's subject.
        use x509_parser::prelude::FromDer;
        let (_, name) = x509_parser::x509::X509Name::from_der(&cr.authorities[0]).unwrap();
        assert_eq!(name.to_string(), "CN=vetcrypt test CA, O=vetcrypt");
    }

    #[test]
    fn certificate_request_from_openssl_tls10_has_no_signature_algorithms() {
        // The same server answering `openssl s_client -tls1`.
        let msg = hex(&format!("0d 00 00 38 03 01 02 40 00 32 00 30 {CA_SUBJECT}"));
        let cr = decode_certificate_request(&msg, 0x0301).expect("decodes");
        assert_eq!(cr.certificate_types, vec![1, 2, 64]);
        assert!(cr.signature_schemes.is_empty());
        assert_eq!(cr.authorities, vec![hex(CA_SUBJECT)]);
        // Read as TLS 1.2, the authorities length would be taken for the schemes' length.
        assert_ne!(decode_certificate_request(&msg, 0x0303), Some(cr));
    }

    #[test]
    fn certificate_request_with_no_authorities() {
        let msg = [13, 0, 0, 8, 1, 1, 0, 2, 0x04, 0x03, 0, 0];
        let cr = decode_certificate_request(&msg, 0x0303).unwrap();
        assert_eq!(cr.certificate_types, vec![1]);
        assert_eq!(cr.signature_schemes, vec![0x0403]);
        assert!(cr.authorities.is_empty());
    }

    #[test]
    fn truncated_certificate_requests_are_refused() {
        let full = openssl_tls12();
        for n in 0..full.len() {
            assert_eq!(
                decode_certificate_request(&full[..n], 0x0303),
                None,
                "{n} bytes"
            );
        }
        // Another handshake type.
        let mut other = full.clone();
        other[0] = handshake::CERTIFICATE;
        assert_eq!(decode_certificate_request(&other, 0x0303), None);
        // A DistinguishedName longer than its list.
        let msg = [13, 0, 0, 8, 1, 1, 0, 0, 0, 3, 0, 9, 0];
        assert_eq!(decode_certificate_request(&msg, 0x0303), None);
        // An odd-length scheme list.
        let msg = [13, 0, 0, 8, 1, 1, 0, 3, 4, 3, 5, 0, 0];
        assert_eq!(decode_certificate_request(&msg, 0x0303), None);
    }

    /// A TLS 1.2 CertificateRequest with `schemes` signature schemes and `authorities`
    /// one-byte names.
    fn request_with(schemes: usize, authorities: usize) -> Vec<u8> {
        let mut w = Writer(Vec::new());
        w.u8(handshake::CERTIFICATE_REQUEST);
        w.nested(3, |w| {
            w.nested(1, |w| w.u8(64));
            w.nested(2, |w| (0..schemes).for_each(|_| w.u16(0x0403)));
            w.nested(2, |w| {
                (0..authorities).for_each(|i| w.nested(2, |w| w.u8(i as u8)))
            });
        });
        w.0
    }

    #[test]
    fn oversize_counts_are_bounded() {
        let cr = decode_certificate_request(&request_with(MAX_SIGNATURE_SCHEMES, 0), 0x0303);
        assert_eq!(cr.unwrap().signature_schemes.len(), MAX_SIGNATURE_SCHEMES);
        let over = request_with(MAX_SIGNATURE_SCHEMES + 1, 0);
        assert_eq!(decode_certificate_request(&over, 0x0303), None);
        // The most a 16-bit list holds: 21845 three-byte names, 256 of them kept.
        let many = request_with(1, 21845);
        let cr = decode_certificate_request(&many, 0x0303).unwrap();
        assert_eq!(cr.authorities.len(), MAX_AUTHORITIES);
        assert_eq!(cr.authorities_left_out, 21845 - MAX_AUTHORITIES);
        assert_eq!(cr.authorities[255], vec![255]);
    }
}
