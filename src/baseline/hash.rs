//! The content hash that is a baseline's version (and a current data set's): SHA-256 over a
//! canonical byte stream — little-endian integers, IEEE-754 bits, length-prefixed names — as
//! `sha256:` and the first 16 hex digits. Equal data give equal versions on every machine.

use sha2::{Digest, Sha256};

use super::compile::{Baseline, BaselineFeature, FeatureData};
use crate::data::{Column, Values};
use crate::stats::ks::SortedSample;
use crate::stats::par;

impl Baseline {
    /// The hash of every value a test reads, in a fixed byte layout (little-endian integers
    /// and IEEE-754 bits, length-prefixed names), as `sha256:` and the first 16 hex digits.
    /// Features are hashed on up to `threads` threads, then their digests in order.
    pub fn content_hash(&self, threads: usize) -> String {
        self.combine_hash(&par::map_ordered(
            &self.features,
            threads,
            BaselineFeature::digest,
        ))
    }

    /// The content hash of a baseline, from each feature's digest.
    pub(super) fn combine_hash(&self, digests: &[[u8; 32]]) -> String {
        let mut hash = Hasher::new(b"drifttap-baseline/1");
        hash.u64(self.rows as u64);
        hash.u64(self.features.len() as u64);
        for digest in digests {
            hash.bytes(digest);
        }
        if let Some(mmd) = &self.mmd {
            hash.u64(mmd.features.len() as u64);
            for name in &mmd.features {
                hash.str(name);
            }
            hash.f64s(&mmd.mean);
            hash.f64s(&mmd.std);
            hash.f64s(&mmd.values);
            hash.f64s(&[mmd.sigma]);
            hash.u64(mmd.seed);
        }
        hash.finish()
    }
}

impl BaselineFeature {
    /// SHA-256 of one feature's canonical bytes.
    pub(super) fn digest(&self) -> [u8; 32] {
        let mut hash = Hasher::new(b"drifttap-feature/1");
        hash.str(&self.name);
        hash.str(self.values.name());
        hash.u64(self.missing as u64);
        match &self.data {
            FeatureData::Numeric { sorted, .. } => {
                hash.u64(0);
                hash.f64s(sorted.as_ref().map_or(&[][..], SortedSample::values));
            }
            FeatureData::Categorical { counts } => {
                hash.u64(1);
                hash.u64(counts.len() as u64);
                for (name, count) in counts {
                    hash.str(name);
                    hash.u64(*count);
                }
            }
        }
        hash.digest()
    }
}

/// The content hash of the columns of a data set (the version of a current data set).
pub fn frame_hash(columns: &[&Column], rows: usize) -> String {
    let mut hash = Hasher::new(b"drifttap-table/1");
    hash.u64(rows as u64);
    for column in columns {
        hash.str(&column.name);
        match &column.values {
            Values::Numeric(values) => {
                hash.u64(0);
                hash.f64s(values);
            }
            Values::Categorical { names, codes } => {
                hash.u64(1);
                hash.u64(codes.len() as u64);
                for code in codes {
                    match names.get(*code as usize) {
                        Some(name) => hash.str(name),
                        None => hash.u64(u64::MAX),
                    }
                }
            }
        }
    }
    hash.finish()
}

/// SHA-256 over a canonical byte stream.
struct Hasher {
    sha: Sha256,
    buffer: Vec<u8>,
}

impl Hasher {
    /// Bytes buffered before they go to SHA-256 (fewer, larger updates).
    const BUFFER: usize = 64 * 1024;

    fn new(domain: &[u8]) -> Self {
        let mut sha = Sha256::new();
        sha.update(domain);
        Hasher {
            sha,
            buffer: Vec::with_capacity(Self::BUFFER),
        }
    }

    fn bytes(&mut self, bytes: &[u8]) {
        if self.buffer.len() + bytes.len() > Self::BUFFER {
            self.sha.update(&self.buffer);
            self.buffer.clear();
        }
        if bytes.len() > Self::BUFFER {
            self.sha.update(bytes);
        } else {
            self.buffer.extend_from_slice(bytes);
        }
    }

    fn u64(&mut self, value: u64) {
        self.bytes(&value.to_le_bytes());
    }

    fn str(&mut self, value: &str) {
        self.u64(value.len() as u64);
        self.bytes(value.as_bytes());
    }

    fn f64s(&mut self, values: &[f64]) {
        self.u64(values.len() as u64);
        for chunk in values.chunks(1024) {
            let mut bytes = [0u8; 8 * 1024];
            for (out, v) in bytes.chunks_exact_mut(8).zip(chunk) {
                out.copy_from_slice(&v.to_bits().to_le_bytes());
            }
            self.bytes(&bytes[..8 * chunk.len()]);
        }
    }

    fn digest(mut self) -> [u8; 32] {
        self.sha.update(&self.buffer);
        self.sha.finalize().into()
    }

    fn finish(self) -> String {
        let digest = self.digest();
        let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}
