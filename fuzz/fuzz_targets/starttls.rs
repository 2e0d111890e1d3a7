//! Any bytes a server sends before TLS, in every protocol vetcrypt speaks: the preamble readers
//! (reply codes, IMAP tags, BER, XMPP features, PostgreSQL and MySQL packets) never panic, stay
//! within their bounds, and agree to start TLS only when nothing is left unread.
#![no_main]

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use vetcrypt::subject::Protocol;
use vetcrypt::tls::starttls::{self, Preamble, MAX_READ};

/// A server that says `script`, in chunks of `chunk` bytes, then closes; what it is told is
/// dropped.
struct Script {
    data: Vec<u8>,
    at: usize,
    chunk: usize,
}

impl AsyncRead for Script {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let n = self
            .chunk
            .min(self.data.len() - self.at)
            .min(buf.remaining());
        let at = self.at;
        buf.put_slice(&self.data[at..at + n]);
        self.at += n;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Script {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(b.len()))
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fuzz_target!(|data: &[u8]| {
    let [pick, chunk, rest @ ..] = data else {
        return;
    };
    let protocol = Protocol::STARTTLS[*pick as usize % Protocol::STARTTLS.len()];
    let p = Preamble {
        protocol,
        domain: "svc.test".into(),
    };
    let script = || Script {
        data: rest.to_vec(),
        at: 0,
        chunk: 1 + (*chunk as usize % 64) * 97,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        let timeout = Duration::from_secs(5);
        let mut s = script();
        let upgraded = starttls::upgrade(&mut s, &p, timeout).await;
        if upgraded.is_ok() {
            // Agreed, and nothing was left unread before TLS.
            assert!(s.at <= rest.len());
        }
        let mut s = script();
        let facts = match starttls::observe_one(&mut s, &p, timeout).await {
            Ok(f) => f,
            Err((e, f)) => {
                assert!(!e.message.is_empty());
                f
            }
        };
        assert!(facts.capabilities.len() <= 64);
        assert!(facts.capabilities.iter().all(|c| c.raw().len() <= 512));
        if let Some(g) = &facts.greeting {
            assert!(g.raw().len() <= 4 * MAX_READ);
        }
        if protocol == Protocol::Postgres {
            let mut s = script();
            let _ = starttls::postgres_plaintext(&mut s, timeout).await;
        }
    });
});
