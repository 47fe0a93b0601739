//! Getting feature values in.
//!
//! - [`queue`]: the bounded queue of observed bodies between the servers and the feed.
//! - [`decode`]: the payload decoders the tap and the ingest API share — JSON records, KServe
//!   V1 and V2 (Open Inference Protocol), CloudEvents, Arrow IPC.
//! - [`server`]: the ingest API and the CloudEvents endpoint for KServe's payload logger.
//! - [`feed`]: the thread that decodes queued payloads into the window.
//! - [`sampling`]: how much of the model's traffic the feed decodes.

pub mod decode;
pub mod feed;
pub mod queue;
pub mod sampling;
pub mod server;
