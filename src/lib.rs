//! vetcrypt: verify encryption claims.
//!
//! One pipeline, one direction: **plan → probes → facts → policy → findings → reports**.
//! - [`subject`] and [`facts`]: the bottom layer — what is looked at, and what was observed.
//! - [`plan`]: what to look at (targets, plan files).
//! - [`tls`], [`cert`], [`kms`], [`bench`]: probes; they observe and never judge, returning [`facts`].
//! - [`policy`]: pure rules over facts, giving findings.
//! - [`report`]: renderers (terminal, JSON, SARIF, JUnit).
//! - [`lab`]: local TLS endpoints for the demo and the tests.

#![deny(unsafe_code)]

pub mod app;
pub mod bench;
pub mod cert;
pub mod claims;
pub mod cli;
pub mod error;
pub mod facts;
pub mod kms;
pub mod lab;
pub mod load;
pub mod plan;
pub mod policy;
pub mod report;
pub mod subject;
pub mod tls;
