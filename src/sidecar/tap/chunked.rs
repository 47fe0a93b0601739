//! The chunked transfer coding (RFC 9112 §7.1), decoded incrementally: the tap forwards a chunked
//! body byte for byte and needs only to know where it ends (and, to observe it, its data).
//!
//! The decoder is strict where leniency lets two parsers disagree on where a message ends
//! (request smuggling): every line ends in CRLF, a chunk size is at most 16 hex digits followed
//! only by whitespace before `;` or the line's end (`5 x` is refused), extensions and trailer
//! lines hold no control characters, and the data of a chunk is followed by CRLF exactly.
//! Chunk extensions and trailer fields are skipped.

/// Where in the coding the decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// In the hex digits of a chunk size (`digits` read so far).
    Size { size: u64, digits: u8 },
    /// After the size: whitespace, which must lead to `;` (RFC 9112 §7.1.1's BWS) or CR.
    SizeSpace { size: u64 },
    /// In chunk extensions (after `;`), up to CR: visible characters and whitespace only.
    Extension { size: u64 },
    /// The LF of a size line.
    SizeLf { size: u64 },
    /// In a chunk's data, `left` bytes to go.
    Data { left: u64 },
    /// The CR after a chunk's data.
    DataCr,
    /// The LF after a chunk's data.
    DataLf,
    /// At the start of a trailer line, or of the final CRLF.
    TrailerStart,
    /// In a trailer field line's name, up to `:` (a trailer line is a field line, RFC 9112
    /// §7.1.2: a request placed where the trailers are is refused, not passed on as one).
    TrailerName,
    /// In a trailer field line's value, up to CR.
    Trailer,
    /// The LF of a trailer line.
    TrailerLf,
    /// The LF of the final CRLF.
    EndLf,
    /// The body has ended.
    Done,
}

/// A chunked body that does not follow the coding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ChunkError {
    #[error("a chunk size line is not hex digits followed by CRLF")]
    SizeLine,
    #[error("a chunk size has more than 16 hex digits")]
    SizeTooLong,
    #[error("a chunk's data is not followed by CRLF")]
    DataEnd,
    #[error("a trailer line does not end in CRLF")]
    TrailerLine,
}

/// An incremental decoder of one chunked body.
#[derive(Debug, Clone)]
pub struct Chunked {
    state: State,
}

impl Default for Chunked {
    fn default() -> Self {
        Chunked {
            state: State::Size { size: 0, digits: 0 },
        }
    }
}

impl Chunked {
    /// Reads `input`, the next bytes of the coded body, handing every run of chunk data to
    /// `data`. Returns how many bytes of `input` belong to the body: all of them, or fewer when
    /// the body ends inside `input` (what follows is the next message).
    pub fn feed(&mut self, input: &[u8], mut data: impl FnMut(&[u8])) -> Result<usize, ChunkError> {
        let mut at = 0;
        while at < input.len() {
            let byte = input[at];
            self.state = match self.state {
                State::Size { size, digits } => match hex(byte) {
                    Some(_) if digits == 16 => return Err(ChunkError::SizeTooLong),
                    Some(value) => State::Size {
                        size: size << 4 | u64::from(value),
                        digits: digits + 1,
                    },
                    None if digits == 0 => return Err(ChunkError::SizeLine),
                    None => match byte {
                        b'\r' => State::SizeLf { size },
                        b';' => State::Extension { size },
                        b' ' | b'\t' => State::SizeSpace { size },
                        _ => return Err(ChunkError::SizeLine),
                    },
                },
                State::SizeSpace { size } => match byte {
                    b' ' | b'\t' => State::SizeSpace { size },
                    b';' => State::Extension { size },
                    b'\r' => State::SizeLf { size },
                    _ => return Err(ChunkError::SizeLine),
                },
                State::Extension { size } => match byte {
                    b'\r' => State::SizeLf { size },
                    b'\t' | b' '..=b'~' | 0x80.. => State::Extension { size },
                    _ => return Err(ChunkError::SizeLine),
                },
                State::SizeLf { size } => match byte {
                    b'\n' if size == 0 => State::TrailerStart,
                    b'\n' => State::Data { left: size },
                    _ => return Err(ChunkError::SizeLine),
                },
                State::Data { left } => {
                    let available = (input.len() - at) as u64;
                    let take = left.min(available) as usize;
                    data(&input[at..at + take]);
                    at += take;
                    self.state = if take as u64 == left {
                        State::DataCr
                    } else {
                        State::Data {
                            left: left - take as u64,
                        }
                    };
                    continue;
                }
                State::DataCr => match byte {
                    b'\r' => State::DataLf,
                    _ => return Err(ChunkError::DataEnd),
                },
                State::DataLf => match byte {
                    b'\n' => State::Size { size: 0, digits: 0 },
                    _ => return Err(ChunkError::DataEnd),
                },
                State::TrailerStart => match byte {
                    b'\r' => State::EndLf,
                    _ if tchar(byte) => State::TrailerName,
                    _ => return Err(ChunkError::TrailerLine),
                },
                State::TrailerName => match byte {
                    b':' => State::Trailer,
                    _ if tchar(byte) => State::TrailerName,
                    _ => return Err(ChunkError::TrailerLine),
                },
                State::Trailer => match byte {
                    b'\r' => State::TrailerLf,
                    b'\t' | b' '..=b'~' | 0x80.. => State::Trailer,
                    _ => return Err(ChunkError::TrailerLine),
                },
                State::TrailerLf => match byte {
                    b'\n' => State::TrailerStart,
                    _ => return Err(ChunkError::TrailerLine),
                },
                State::EndLf => match byte {
                    b'\n' => {
                        self.state = State::Done;
                        return Ok(at + 1);
                    }
                    _ => return Err(ChunkError::TrailerLine),
                },
                State::Done => return Ok(at),
            };
            at += 1;
        }
        Ok(at)
    }

    /// Whether the body has ended.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }
}

/// A character of a token (RFC 9110 §5.6.2): a field name's.
fn tchar(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&byte)
}

fn hex(byte: u8) -> Option<u8> {
    match byte {
        b'0'..=b'9' => Some(byte - b'0'),
        b'a'..=b'f' => Some(byte - b'a' + 10),
        b'A'..=b'F' => Some(byte - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Decodes `input` in one piece: (data, bytes that belong to the body, ended).
    fn decode(input: &[u8]) -> Result<(Vec<u8>, usize, bool), ChunkError> {
        let mut decoder = Chunked::default();
        let mut data = Vec::new();
        let used = decoder.feed(input, |run| data.extend_from_slice(run))?;
        Ok((data, used, decoder.is_done()))
    }

    #[test]
    fn a_body_with_extensions_and_trailers_ends_where_the_final_crlf_does() {
        let body = b"5;name=value\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\nx-sum: 1\r\n\r\nNEXT";
        let (data, used, done) = decode(body).expect("valid");
        assert_eq!(data, b"helloabcdefghijklmnopqrstuvwxyz");
        assert!(done);
        assert_eq!(&body[used..], b"NEXT");
    }

    #[test]
    fn an_unfinished_body_takes_everything_and_waits() {
        let (data, used, done) = decode(b"4\r\nab").expect("valid so far");
        assert_eq!((data.as_slice(), used, done), (&b"ab"[..], 5, false));
    }

    #[test]
    fn codings_two_parsers_could_read_differently_are_errors() {
        for (body, error) in [
            (&b"x\r\n"[..], ChunkError::SizeLine),
            (b"\r\n", ChunkError::SizeLine),
            (b"5\nhello\r\n0\r\n\r\n", ChunkError::SizeLine),
            (b"5;ext\nhello", ChunkError::SizeLine),
            (b"5\r\nhelloX\r\n", ChunkError::DataEnd),
            (b"5\r\nhello\n0\r\n\r\n", ChunkError::DataEnd),
            (b"0\r\n\n", ChunkError::TrailerLine),
            (b"0\r\nx: y\n\r\n", ChunkError::TrailerLine),
            (b"00000000000000001\r\n", ChunkError::SizeTooLong),
            // Whitespace after a size leads only to `;` or the line's end.
            (b"5 x\r\nhello\r\n0\r\n\r\n", ChunkError::SizeLine),
            (b"5 5\r\nhello\r\n0\r\n\r\n", ChunkError::SizeLine),
            (b"5;a\0b\r\nhello", ChunkError::SizeLine),
            (b"5;a\rb\r\nhello", ChunkError::SizeLine),
            (b"0\r\nx: \x01\r\n\r\n", ChunkError::TrailerLine),
            (b"0\r\n\x00\r\n\r\n", ChunkError::TrailerLine),
            // A request where the trailers are is not a field line.
            (
                b"0\r\nGET /smuggled HTTP/1.1\r\nHost: m\r\n\r\n",
                ChunkError::TrailerLine,
            ),
            (b"0\r\nx-sum 1\r\n\r\n", ChunkError::TrailerLine),
            (b"0\r\n: 1\r\n\r\n", ChunkError::TrailerLine),
        ] {
            assert_eq!(
                decode(body),
                Err(error),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
        // Sixteen digits are still a size (and leading zeros are digits like any other).
        let (data, _, done) = decode(b"0000000000000001\r\nz\r\n0\r\n\r\n").expect("valid");
        assert_eq!((data.as_slice(), done), (&b"z"[..], true));
        for coded in [
            &b"1 \r\nz\r\n0\r\n\r\n"[..],
            b"1\t ;a=\"b c\"\r\nz\r\n0 \r\n\r\n",
        ] {
            let (data, _, done) = decode(coded).expect("bad whitespace before ; is allowed");
            assert_eq!((data.as_slice(), done), (&b"z"[..], true));
        }
    }

    /// A chunked coding of `chunks`, with optional extensions and trailers.
    fn encode(chunks: &[Vec<u8>], extension: bool, trailer: bool) -> Vec<u8> {
        let mut out = Vec::new();
        for chunk in chunks.iter().filter(|c| !c.is_empty()) {
            out.extend_from_slice(format!("{:X}", chunk.len()).as_bytes());
            if extension {
                out.extend_from_slice(b" ; a=b");
            }
            out.extend_from_slice(b"\r\n");
            out.extend_from_slice(chunk);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n");
        if trailer {
            out.extend_from_slice(b"digest: x\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    proptest! {
        /// However the coded body is split into reads, the data and the end come out the same.
        #[test]
        fn any_split_of_the_input_decodes_alike(
            chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 0..8),
            extension: bool,
            trailer: bool,
            cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
        ) {
            let mut coded = encode(&chunks, extension, trailer);
            let body_len = coded.len();
            coded.extend_from_slice(b"GET / HTTP/1.1\r\n");
            let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(coded.len())).collect();
            cuts.push(coded.len());
            cuts.sort_unstable();
            let mut decoder = Chunked::default();
            let mut data = Vec::new();
            let (mut from, mut used) = (0, 0);
            for cut in cuts {
                if decoder.is_done() {
                    break;
                }
                used += decoder
                    .feed(&coded[from..cut], |run| data.extend_from_slice(run))
                    .expect("valid");
                from = cut;
            }
            prop_assert!(decoder.is_done());
            prop_assert_eq!(used, body_len);
            prop_assert_eq!(data, chunks.concat());
        }
    }
}
