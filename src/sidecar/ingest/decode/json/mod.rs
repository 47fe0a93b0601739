//! JSON, in two layers:
//! - [`tape`]: the substrate: simd-json's parse, the cursor that walks it, a leaf as a value.
//!   It knows no shape; [`super::v2`] and [`super::cloudevents`] walk it too.
//! - [`payload`]: the payload shapes (records, KServe V1, TF-serving), handing V2 tensor lists
//!   to [`super::v2`].
//!
//! Neither knows about CloudEvents: telling a sniffed event from a payload is the
//! dispatcher's ([`super`]), so the layers only ever call downwards.

pub(super) mod payload;
pub(super) mod tape;
