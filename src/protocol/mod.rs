//! The wire contracts between the sidecar and the retrainer.
//!
//! - [`webhook`]: the drift notification (v1), its HMAC signature and the episode key.
//! - [`secret`]: the shared secret, read from a file the same way on both sides.

pub mod secret;
pub mod webhook;
