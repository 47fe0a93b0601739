//! Getting feature values in.
//!
//! - [`decode`]: the payload decoders the tap and the ingest API share — JSON records, KServe
//!   V1 and V2 (Open Inference Protocol), CloudEvents, Arrow IPC.

pub mod decode;
