//! Step: does one address hide several servers? A layer-4 load balancer spreads connections
//! over backends, and when they are configured differently every other step merges their
//! answers into one wrong picture. The modern handshake is asked again on consecutive
//! connections, after every raw hello, and each answer compared with the first: a different
//! version, suite, group, leaf certificate or refusal is a different server.

use super::client_auth::ClientIdentity;
use super::handshake::{modern_handshake_telling, ModernError, ModernOutcome};
use super::prober::Prober;
use crate::cert::x509;
use crate::facts::{BackendCheck, ServerIdentity};

/// Handshakes asked again after the first. On consecutive connections (nothing else
/// connects between them), so a round robin over two backends sends them to different
/// servers whatever the first met.
pub const REPEATS: usize = 2;

/// The answers of the first modern handshake and of [`REPEATS`] more, compared. `None` when
/// none of them could be compared (timeouts, failed connections). The repeats connect once
/// `after` is told (or dropped): when the last connection before them is open. They go side
/// by side (one after another in sequential mode): they connect in the same instant, so no
/// other connection comes between them, and they cost one round of the network, not two.
/// `open` is told once both connections are open, or could not be.
pub async fn check(
    probe: &Prober<'_>,
    first: &ModernOutcome,
    client: Option<&ClientIdentity>,
    after: tokio::sync::oneshot::Receiver<()>,
    open: tokio::sync::oneshot::Sender<()>,
) -> Option<BackendCheck> {
    let _ = after.await;
    let mut answers: Vec<ServerIdentity> = identity(first).into_iter().collect();
    let (tells, opened): (Vec<_>, Vec<_>) = (0..REPEATS)
        .map(|_| tokio::sync::oneshot::channel::<()>())
        .unzip();
    let repeats = tells
        .into_iter()
        .map(|tell| {
            modern_handshake_telling(
                probe.connector,
                probe.target.server_name(),
                client,
                Some(tell),
            )
        })
        .collect();
    let tell_open = async {
        for o in opened {
            let _ = o.await;
        }
        let _ = open.send(());
    };
    let (again, ()) = tokio::join!(probe.all(repeats), tell_open);
    for a in again {
        answers.extend(identity(&a));
    }
    let handshakes = u32::try_from(answers.len()).unwrap_or(u32::MAX);
    let mut servers: Vec<ServerIdentity> = Vec::new();
    for a in answers {
        match servers.iter_mut().find(|s| same(s, &a)) {
            Some(s) => s.seen += 1,
            None => servers.push(a),
        }
    }
    (handshakes > 0).then_some(BackendCheck {
        handshakes,
        servers,
        contradictions: Vec::new(),
    })
}

fn same(a: &ServerIdentity, b: &ServerIdentity) -> bool {
    (
        &a.version,
        &a.suite,
        &a.kx_group,
        &a.leaf_sha256,
        &a.refused,
    ) == (
        &b.version,
        &b.suite,
        &b.kx_group,
        &b.leaf_sha256,
        &b.refused,
    )
}

/// What a handshake says of the server that answered it; `None` when it says nothing (no
/// connection, no answer in time, a broken exchange).
fn identity(outcome: &ModernOutcome) -> Option<ServerIdentity> {
    let leaf_sha256 = outcome
        .chain
        .as_ref()
        .and_then(|c| c.first())
        .map(|leaf| x509::sha256_hex(leaf));
    match &outcome.result {
        Ok(n) => Some(ServerIdentity {
            version: Some(n.version),
            suite: Some(n.cipher_suite.name.clone()),
            kx_group: n.kx_group,
            leaf_sha256,
            refused: None,
            seen: 1,
        }),
        Err(ModernError::Alert(a)) => Some(ServerIdentity {
            version: None,
            suite: None,
            kx_group: None,
            leaf_sha256,
            refused: Some(*a),
            seen: 1,
        }),
        Err(_) => None,
    }
}
