//! The measured functions: one in-place seal and open per backend × cipher, shared by
//! `vetcrypt bench` and the criterion benches (`benches/ciphers.rs`), so both time the same code.

use crate::facts::{Backend, Cipher};

/// Tag bytes of every AEAD here.
pub const TAG_LEN: usize = 16;

/// One keyed cipher. Nonces come from a counter: 96-bit for the AEADs, 128-bit IV for CTR.
pub trait Sealer: Send {
    /// Encrypts `buf` in place, returning the tag (all zero for CTR, which has none).
    fn seal(&mut self, counter: u64, buf: &mut [u8]) -> [u8; TAG_LEN];
    /// Decrypts `buf` in place; false when the tag does not verify.
    fn open(&mut self, counter: u64, buf: &mut [u8], tag: &[u8; TAG_LEN]) -> bool;
}

/// Whether `backend` offers `cipher` (ring has no public AES-CTR).
pub fn supported(backend: Backend, cipher: Cipher) -> bool {
    backend != Backend::Ring || cipher.is_aead()
}

/// A keyed cipher, or None when the backend lacks it. Building it is the key set-up cost.
pub fn make(backend: Backend, cipher: Cipher, key: &[u8]) -> Option<Box<dyn Sealer>> {
    if key.len() != cipher.key_len() || !supported(backend, cipher) {
        return None;
    }
    Some(match backend {
        Backend::Ring => Box::new(ring_impl::Key::new(cipher, key)?),
        Backend::AwsLcRs => aws_lc_impl::make(cipher, key)?,
        Backend::RustCrypto => rustcrypto_impl::make(cipher, key)?,
    })
}

fn nonce96(counter: u64) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[4..].copy_from_slice(&counter.to_be_bytes());
    n
}

fn iv128(counter: u64) -> [u8; 16] {
    let mut n = [0u8; 16];
    n[..8].copy_from_slice(&counter.to_be_bytes());
    n
}

mod ring_impl {
    use super::*;
    use ring::aead::{Aad, LessSafeKey, Nonce, Tag, UnboundKey};

    pub struct Key(LessSafeKey);

    impl Key {
        pub fn new(cipher: Cipher, key: &[u8]) -> Option<Key> {
            let alg = match cipher {
                Cipher::Aes128Gcm => &ring::aead::AES_128_GCM,
                Cipher::Aes256Gcm => &ring::aead::AES_256_GCM,
                Cipher::ChaCha20Poly1305 => &ring::aead::CHACHA20_POLY1305,
                _ => return None,
            };
            Some(Key(LessSafeKey::new(UnboundKey::new(alg, key).ok()?)))
        }
    }

    impl Sealer for Key {
        fn seal(&mut self, counter: u64, buf: &mut [u8]) -> [u8; TAG_LEN] {
            let n = Nonce::assume_unique_for_key(nonce96(counter));
            let tag: Tag = self
                .0
                .seal_in_place_separate_tag(n, Aad::empty(), buf)
                .expect("message within the AEAD's limits");
            let mut out = [0u8; TAG_LEN];
            out.copy_from_slice(tag.as_ref());
            out
        }

        fn open(&mut self, counter: u64, buf: &mut [u8], tag: &[u8; TAG_LEN]) -> bool {
            let n = Nonce::assume_unique_for_key(nonce96(counter));
            let Ok(tag) = Tag::try_from(&tag[..]) else {
                return false;
            };
            self.0
                .open_in_place_separate_tag(n, Aad::empty(), tag, buf, 0..)
                .is_ok()
        }
    }
}

mod aws_lc_impl {
    use super::*;
    use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey};
    use aws_lc_rs::cipher::{
        DecryptingKey, DecryptionContext, EncryptingKey, EncryptionContext, UnboundCipherKey,
    };
    use aws_lc_rs::iv::FixedLength;

    struct Aead(LessSafeKey);

    /// CTR keeps both directions keyed, as a user would.
    struct Ctr {
        enc: EncryptingKey,
        dec: DecryptingKey,
    }

    pub fn make(cipher: Cipher, key: &[u8]) -> Option<Box<dyn Sealer>> {
        let aead = match cipher {
            Cipher::Aes128Gcm => &aws_lc_rs::aead::AES_128_GCM,
            Cipher::Aes256Gcm => &aws_lc_rs::aead::AES_256_GCM,
            Cipher::ChaCha20Poly1305 => &aws_lc_rs::aead::CHACHA20_POLY1305,
            Cipher::Aes128Ctr | Cipher::Aes256Ctr => {
                let alg = if cipher == Cipher::Aes128Ctr {
                    &aws_lc_rs::cipher::AES_128
                } else {
                    &aws_lc_rs::cipher::AES_256
                };
                return Some(Box::new(Ctr {
                    enc: EncryptingKey::ctr(UnboundCipherKey::new(alg, key).ok()?).ok()?,
                    dec: DecryptingKey::ctr(UnboundCipherKey::new(alg, key).ok()?).ok()?,
                }));
            }
        };
        Some(Box::new(Aead(LessSafeKey::new(
            UnboundKey::new(aead, key).ok()?,
        ))))
    }

    impl Sealer for Aead {
        fn seal(&mut self, counter: u64, buf: &mut [u8]) -> [u8; TAG_LEN] {
            let n = Nonce::assume_unique_for_key(nonce96(counter));
            let tag = self
                .0
                .seal_in_place_separate_tag(n, Aad::empty(), buf)
                .expect("message within the AEAD's limits");
            let mut out = [0u8; TAG_LEN];
            out.copy_from_slice(tag.as_ref());
            out
        }

        fn open(&mut self, counter: u64, buf: &mut [u8], tag: &[u8; TAG_LEN]) -> bool {
            let n = Nonce::assume_unique_for_key(nonce96(counter));
            self.0
                .open_in_place_separate_tag(n, Aad::empty(), tag, buf)
                .is_ok()
        }
    }

    impl Sealer for Ctr {
        fn seal(&mut self, counter: u64, buf: &mut [u8]) -> [u8; TAG_LEN] {
            let ctx = EncryptionContext::Iv128(FixedLength::from(iv128(counter)));
            self.enc
                .less_safe_encrypt(buf, ctx)
                .expect("CTR takes any length");
            [0u8; TAG_LEN]
        }

        fn open(&mut self, counter: u64, buf: &mut [u8], _tag: &[u8; TAG_LEN]) -> bool {
            let ctx = DecryptionContext::Iv128(FixedLength::from(iv128(counter)));
            self.dec.decrypt(buf, ctx).is_ok()
        }
    }
}

mod rustcrypto_impl {
    use super::*;
    use aes_gcm::aead::{AeadInOut, KeyInit};
    use aes_gcm::{Aes128Gcm, Aes256Gcm};
    use chacha20poly1305::ChaCha20Poly1305;
    use ctr::cipher::{KeyIvInit, StreamCipher};

    struct Aead<A>(A);

    struct Ctr<C> {
        key: Vec<u8>,
        _c: std::marker::PhantomData<C>,
    }

    pub fn make(cipher: Cipher, key: &[u8]) -> Option<Box<dyn Sealer>> {
        Some(match cipher {
            Cipher::Aes128Gcm => Box::new(Aead(Aes128Gcm::new_from_slice(key).ok()?)),
            Cipher::Aes256Gcm => Box::new(Aead(Aes256Gcm::new_from_slice(key).ok()?)),
            Cipher::ChaCha20Poly1305 => Box::new(Aead(ChaCha20Poly1305::new_from_slice(key).ok()?)),
            // RustCrypto's CTR binds key and IV together: the key schedule runs per message,
            // as it does in a user's code with this API.
            Cipher::Aes128Ctr => Box::new(Ctr::<ctr::Ctr128BE<aes::Aes128>> {
                key: key.to_vec(),
                _c: std::marker::PhantomData,
            }),
            Cipher::Aes256Ctr => Box::new(Ctr::<ctr::Ctr128BE<aes::Aes256>> {
                key: key.to_vec(),
                _c: std::marker::PhantomData,
            }),
        })
    }

    impl<A: AeadInOut + Send> Sealer for Aead<A> {
        fn seal(&mut self, counter: u64, buf: &mut [u8]) -> [u8; TAG_LEN] {
            let n = nonce96(counter);
            let nonce = aes_gcm::aead::Nonce::<A>::try_from(&n[..]).expect("96-bit nonce");
            let tag = self
                .0
                .encrypt_inout_detached(&nonce, &[], buf.into())
                .expect("message within the AEAD's limits");
            let mut out = [0u8; TAG_LEN];
            out.copy_from_slice(tag.as_slice());
            out
        }

        fn open(&mut self, counter: u64, buf: &mut [u8], tag: &[u8; TAG_LEN]) -> bool {
            let n = nonce96(counter);
            let nonce = aes_gcm::aead::Nonce::<A>::try_from(&n[..]).expect("96-bit nonce");
            let Ok(tag) = aes_gcm::aead::Tag::<A>::try_from(&tag[..]) else {
                return false;
            };
            self.0
                .decrypt_inout_detached(&nonce, &[], buf.into(), &tag)
                .is_ok()
        }
    }

    impl<C: KeyIvInit + StreamCipher + Send> Sealer for Ctr<C> {
        fn seal(&mut self, counter: u64, buf: &mut [u8]) -> [u8; TAG_LEN] {
            let mut c = C::new_from_slices(&self.key, &iv128(counter)).expect("key and IV sizes");
            c.apply_keystream(buf);
            [0u8; TAG_LEN]
        }

        fn open(&mut self, counter: u64, buf: &mut [u8], _tag: &[u8; TAG_LEN]) -> bool {
            self.seal(counter, buf);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every backend's every cipher round-trips, rejects a bad tag, and agrees with the others
    /// on the ciphertext (same key, nonce and message give the same bytes).
    #[test]
    fn every_cipher_round_trips_and_backends_agree() {
        for cipher in Cipher::ALL {
            let key: Vec<u8> = (0..cipher.key_len() as u8).collect();
            let mut reference: Option<(Vec<u8>, [u8; TAG_LEN])> = None;
            for backend in Backend::ALL {
                let Some(mut s) = make(backend, cipher, &key) else {
                    assert!(!supported(backend, cipher), "{backend:?} {cipher:?}");
                    continue;
                };
                for size in [0usize, 1, 15, 16, 17, 64, 1000] {
                    let plain: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
                    let mut buf = plain.clone();
                    let tag = s.seal(42, &mut buf);
                    if size > 0 {
                        assert_ne!(buf, plain, "{backend:?} {cipher:?} {size}");
                    }
                    if size == 1000 {
                        match &reference {
                            None => reference = Some((buf.clone(), tag)),
                            Some((ct, t)) => {
                                assert_eq!(&buf, ct, "{backend:?} {cipher:?} ciphertext");
                                assert_eq!(&tag, t, "{backend:?} {cipher:?} tag");
                            }
                        }
                    }
                    let mut opened = buf.clone();
                    assert!(s.open(42, &mut opened, &tag), "{backend:?} {cipher:?}");
                    assert_eq!(opened, plain, "{backend:?} {cipher:?} {size}");
                    if cipher.is_aead() {
                        let mut bad = tag;
                        bad[0] ^= 1;
                        let mut forged = buf.clone();
                        assert!(!s.open(42, &mut forged, &bad), "{backend:?} {cipher:?}");
                    }
                }
            }
            assert!(reference.is_some());
        }
    }

    #[test]
    fn wrong_key_lengths_are_refused() {
        assert!(make(Backend::AwsLcRs, Cipher::Aes256Gcm, &[0u8; 16]).is_none());
        assert!(make(Backend::Ring, Cipher::Aes128Ctr, &[0u8; 16]).is_none());
    }
}
