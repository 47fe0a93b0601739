//! The framing and buffer regions of an Arrow IPC stream, checked before arrow-ipc reads it.
//!
//! arrow-ipc 60 trusts a record batch's buffer offsets and lengths: one outside the message
//! body makes it panic (`Buffer::slice_with_length`), which fuzzing found at once. This walks
//! the stream the way its `StreamReader` does (optional continuation marker, metadata length,
//! flatbuffer `Message`, body) and refuses, as [`DecodeError::InvalidArrow`], a message whose
//! body runs past the stream, a buffer outside its message's body, a negative length or
//! count, or a negative fixed size in the schema (`FixedSizeBinary`, `FixedSizeList`, which
//! arrow-data unwraps). Arrow checks the rest itself, mostly: it still panics on a buffer whose
//! length is not a whole number of its elements and on a union's type ids shorter than its
//! node, which cannot be told without re-implementing its reader; the decoder catches those
//! (see [`super::arrow`]).

use arrow_ipc::{Field, Message, RecordBatch, root_as_message};

use super::DecodeError;

/// How an IPC stream message starts (the continuation marker, since Arrow 0.15).
pub(super) const CONTINUATION: [u8; 4] = [0xff; 4];

/// Checks every message of the stream; see the module docs.
pub(super) fn check(stream: &[u8]) -> Result<(), DecodeError> {
    let invalid = DecodeError::InvalidArrow;
    let mut rest = stream;
    loop {
        // End of input before a message: the end of the stream, as for arrow-ipc.
        let Some((word, tail)) = rest.split_first_chunk::<4>() else {
            return Ok(());
        };
        let (length, tail) = if *word == CONTINUATION {
            tail.split_first_chunk::<4>().ok_or(invalid)?
        } else {
            (word, tail)
        };
        let meta_len = i32::from_le_bytes(*length);
        if meta_len == 0 {
            return Ok(());
        }
        let meta_len = usize::try_from(meta_len).map_err(|_| invalid)?;
        let (metadata, tail) = tail.split_at_checked(meta_len).ok_or(invalid)?;
        let message = root_as_message(metadata).map_err(|_| invalid)?;
        let body_len = usize::try_from(message.bodyLength()).map_err(|_| invalid)?;
        rest = tail.get(body_len..).ok_or(invalid)?;
        if let Some(schema) = message.header_as_schema() {
            for field in schema.fields().iter().flatten() {
                check_field(&field)?;
            }
        }
        if let Some(batch) = batch_of(&message) {
            check_batch(&batch, body_len)?;
        }
    }
}

/// The record batch a message carries, itself or as a dictionary's data.
fn batch_of<'a>(message: &Message<'a>) -> Option<RecordBatch<'a>> {
    message.header_as_record_batch().or_else(|| {
        message
            .header_as_dictionary_batch()
            .and_then(|dictionary| dictionary.data())
    })
}

/// A schema field and its children: no negative fixed size (arrow-data unwraps it as a
/// `usize`). The flatbuffer verifier has bounded the nesting.
fn check_field(field: &Field<'_>) -> Result<(), DecodeError> {
    if field
        .type_as_fixed_size_binary()
        .is_some_and(|t| t.byteWidth() < 0)
        || field
            .type_as_fixed_size_list()
            .is_some_and(|t| t.listSize() < 0)
    {
        return Err(DecodeError::InvalidArrow);
    }
    for child in field.children().iter().flatten() {
        check_field(&child)?;
    }
    Ok(())
}

fn check_batch(batch: &RecordBatch<'_>, body_len: usize) -> Result<(), DecodeError> {
    let invalid = DecodeError::InvalidArrow;
    let non_negative = |v: i64| usize::try_from(v).map_err(|_| invalid);
    non_negative(batch.length())?;
    for buffer in batch.buffers().iter().flatten() {
        let end = non_negative(buffer.offset())?.checked_add(non_negative(buffer.length())?);
        if end.is_none_or(|end| end > body_len) {
            return Err(invalid);
        }
    }
    for node in batch.nodes().iter().flatten() {
        if non_negative(node.null_count())? > non_negative(node.length())? {
            return Err(invalid);
        }
    }
    for count in batch.variadicBufferCounts().iter().flatten() {
        non_negative(count)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::types::Int8Type;
    use arrow_array::{ArrayRef, Int8Array};
    use arrow_ipc::writer::StreamWriter;

    use super::*;

    fn stream() -> Vec<u8> {
        let column: ArrayRef = Arc::new(Int8Array::from(vec![1, 2, 3]));
        let batch = arrow_array::RecordBatch::try_from_iter([("age", column)]).expect("a batch");
        let mut out = Vec::new();
        let mut writer = StreamWriter::try_new(&mut out, &batch.schema()).expect("a writer");
        writer.write(&batch).expect("a batch");
        writer.finish().expect("the end");
        drop(writer);
        out
    }

    #[test]
    fn well_formed_streams_and_their_ends_pass() {
        let good = stream();
        assert_eq!(check(&good), Ok(()));
        assert_eq!(check(&[]), Ok(()));
        assert_eq!(check(&[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 9]), Ok(()));
    }

    /// Where, in `stream`, the buffers of its first record batch (or dictionary batch) are
    /// described: the offset of each 16-byte `Buffer { offset, length }`.
    fn buffer_positions(stream: &[u8], dictionary: bool) -> Vec<usize> {
        let mut at = 0;
        loop {
            let meta_len = i32::from_le_bytes(stream[at + 4..at + 8].try_into().expect("4 bytes"));
            let meta = &stream[at + 8..at + 8 + meta_len as usize];
            let message = root_as_message(meta).expect("a message");
            let batch = if dictionary {
                message.header_as_dictionary_batch().and_then(|d| d.data())
            } else {
                message.header_as_record_batch()
            };
            if let Some(batch) = batch {
                let buffers = batch.buffers().expect("buffers").bytes();
                let first = buffers.as_ptr().addr() - stream.as_ptr().addr();
                return (0..buffers.len() / 16).map(|i| first + 16 * i).collect();
            }
            at += 8 + meta_len as usize + message.bodyLength() as usize;
        }
    }

    fn set_buffer(stream: &mut [u8], at: usize, offset: i64, length: i64) {
        stream[at..at + 8].copy_from_slice(&offset.to_le_bytes());
        stream[at + 8..at + 16].copy_from_slice(&length.to_le_bytes());
    }

    #[test]
    fn buffer_offsets_outside_the_body_are_invalid_arrow_not_an_arrow_ipc_panic() {
        // Fuzzing found arrow-ipc panicking on a buffer offset of -65536.
        let good = stream();
        let at = buffer_positions(&good, false)[0];
        for (offset, length) in [(-65536i64, 1i64), (0, -1), (i64::MAX, 1), (0, 1 << 40)] {
            let mut bad = good.clone();
            set_buffer(&mut bad, at, offset, length);
            assert_eq!(
                check(&bad),
                Err(DecodeError::InvalidArrow),
                "{offset} {length}"
            );
            let schema = super::super::tests::schema();
            assert_eq!(
                super::super::arrow::decode(&schema, &bad),
                Err(DecodeError::InvalidArrow)
            );
        }
    }

    #[test]
    fn an_arrow_ipc_panic_on_a_ragged_offsets_buffer_is_invalid_arrow() {
        // Fuzzing found arrow-ipc panicking (`typed_data`: "prefix.is_empty() &&
        // suffix.is_empty()") on a dictionary's offsets buffer whose length is not a whole
        // number of offsets; its regions are all inside the body, so only the decoder's
        // `catch_unwind` stands between it and the decoder thread.
        let mut values = arrow_array::builder::StringDictionaryBuilder::<Int8Type>::new();
        values.append_value("RENT");
        values.append_value("OWN");
        let column: ArrayRef = Arc::new(values.finish());
        let batch = arrow_array::RecordBatch::try_from_iter([("home", column)]).expect("a batch");
        let mut good = Vec::new();
        let mut writer = StreamWriter::try_new(&mut good, &batch.schema()).expect("a writer");
        writer.write(&batch).expect("a batch");
        writer.finish().expect("the end");
        drop(writer);
        let offsets = buffer_positions(&good, true)[1];
        let offset = i64::from_le_bytes(good[offsets..offsets + 8].try_into().expect("8 bytes"));
        let mut bad = good.clone();
        // Three offsets take 12 bytes; 13 is enough bytes but not a whole number of them.
        set_buffer(&mut bad, offsets, offset, 13);
        assert_eq!(check(&bad), Ok(()), "every region is inside the body");
        let schema = super::super::tests::schema();
        assert!(super::super::arrow::decode(&schema, &good).is_ok());
        assert_eq!(
            super::super::arrow::decode(&schema, &bad),
            Err(DecodeError::InvalidArrow)
        );
    }

    #[test]
    fn a_negative_fixed_size_binary_width_is_invalid_arrow_not_an_arrow_data_panic() {
        // Fuzzing found arrow-data unwrapping a negative `FixedSizeBinary` byte width.
        let column: ArrayRef = Arc::new(
            arrow_array::FixedSizeBinaryArray::try_from_iter([[1u8, 2, 3, 4]].into_iter())
                .expect("one value"),
        );
        let batch = arrow_array::RecordBatch::try_from_iter([("id", column)]).expect("a batch");
        let mut good = Vec::new();
        let mut writer = StreamWriter::try_new(&mut good, &batch.schema()).expect("a writer");
        writer.write(&batch).expect("a batch");
        writer.finish().expect("the end");
        drop(writer);
        // The schema is the first message: continuation, length, then its flatbuffer.
        let meta_len = i32::from_le_bytes(good[4..8].try_into().expect("4 bytes")) as usize;
        let message = root_as_message(&good[8..8 + meta_len]).expect("a message");
        let field = message
            .header_as_schema()
            .and_then(|s| s.fields())
            .expect("fields")
            .get(0);
        let width = field
            .type_as_fixed_size_binary()
            .expect("FixedSizeBinary")
            ._tab;
        let at = 8
            + width.loc()
            + usize::from(width.vtable().get(arrow_ipc::FixedSizeBinary::VT_BYTEWIDTH));
        assert_eq!(good[at..at + 4], 4i32.to_le_bytes());
        let mut bad = good.clone();
        bad[at..at + 4].copy_from_slice(&(-4i32).to_le_bytes());
        assert_eq!(check(&good), Ok(()));
        assert_eq!(check(&bad), Err(DecodeError::InvalidArrow));
    }

    #[test]
    fn truncated_framing_is_invalid() {
        let good = stream();
        for bad in [
            &[0xff, 0xff, 0xff, 0xff, 1][..],
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            &good[..20],
        ] {
            assert_eq!(check(bad), Err(DecodeError::InvalidArrow), "{bad:?}");
        }
    }
}
